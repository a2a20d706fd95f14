"""Load balancing over queues (skipping open breakers) and one fair consumer over many queues."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming.multi import FairLimiter, MultiQueueConsumer
from enterprise_sqs.errors import ConfigurationError


async def depth(sqs: EnterpriseSQS, queue: str) -> int:
    backend = sqs.get_sqs_client().inner  # past the breakers: some are forced open
    url = await backend.get_queue_url(queue)
    values = await backend.get_queue_attributes(url, ["ApproximateNumberOfMessages"])
    return int(values["ApproximateNumberOfMessages"])


async def make_queues(sqs: EnterpriseSQS, names: list[str]) -> list[str]:
    backend = sqs.get_sqs_client()
    return [await backend.create_queue(name) for name in names]


async def test_round_robin_spreads_evenly(sqs: EnterpriseSQS) -> None:
    names = ["rr-1", "rr-2", "rr-3"]
    await make_queues(sqs, names)
    publisher = sqs.create_balanced_publisher(names, strategy="round_robin")
    for i in range(30):
        assert (await publisher.publish({"i": i})).success
    assert [await depth(sqs, n) for n in names] == [10, 10, 10]


async def test_random_uses_every_queue(sqs: EnterpriseSQS) -> None:
    names = ["rnd-1", "rnd-2", "rnd-3"]
    await make_queues(sqs, names)
    publisher = sqs.create_balanced_publisher(names, strategy="random", rng=random.Random(7))
    await publisher.publish_many({"i": i} for i in range(60))
    depths = [await depth(sqs, n) for n in names]
    assert sum(depths) == 60 and min(depths) > 5


async def test_least_backlog_fills_the_emptiest_queue(sqs: EnterpriseSQS) -> None:
    names = ["lb-1", "lb-2", "lb-3"]
    urls = await make_queues(sqs, names)
    backend = sqs.get_sqs_client()
    for _ in range(20):
        await backend.send_message(urls[0], _entry())
    for _ in range(10):
        await backend.send_message(urls[1], _entry())
    publisher = sqs.create_balanced_publisher(names, strategy="least_backlog", refresh_interval=60)
    for i in range(30):
        assert (await publisher.publish({"i": i})).success
    # 60 messages in all: the estimate (read once, plus what was sent) evens them out at 20 each.
    assert [await depth(sqs, n) for n in names] == [20, 20, 20]
    assert publisher.backlog == dict(zip(names, [20, 20, 20], strict=True))


async def test_a_queue_whose_breaker_is_open_is_skipped(sqs: EnterpriseSQS) -> None:
    names = ["br-1", "br-2"]
    urls = await make_queues(sqs, names)
    publisher = sqs.create_balanced_publisher(names, strategy="round_robin")
    assert (await publisher.publish("warm-up-1")).success
    assert (await publisher.publish("warm-up-2")).success  # both URLs known now
    sqs.get_sqs_client().breaker(urls[0]).force_open()
    results = [await publisher.publish({"i": i}) for i in range(10)]
    assert all(r.success and r.queue_url == urls[1] for r in results)
    assert [await depth(sqs, n) for n in names] == [1, 11]
    # Every queue open: the publish fails with the breaker's error instead of hanging.
    sqs.get_sqs_client().breaker(urls[1]).force_open()
    result = await publisher.publish("nowhere")
    assert not result.success and type(result.error).__name__ == "CircuitOpenError"


def test_balanced_publisher_validates(sqs: EnterpriseSQS) -> None:
    with pytest.raises(ConfigurationError):
        sqs.create_balanced_publisher([])
    with pytest.raises(ConfigurationError, match="strategy"):
        sqs.create_balanced_publisher(["a"], strategy="fastest")  # type: ignore[arg-type]  # a bad value on purpose
    with pytest.raises(ConfigurationError, match="distinct"):
        sqs.create_balanced_publisher(["a", "a"])


def _entry() -> Any:
    from enterprise_sqs.models import SendEntry

    return SendEntry(id="e", body="backlog")


async def test_fair_limiter_serves_waiting_keys_in_turn() -> None:
    limiter = FairLimiter(1)
    await limiter.acquire("busy")
    order: list[str] = []

    async def take(key: str) -> None:
        await limiter.acquire(key)
        order.append(key)
        limiter.release()

    tasks = [asyncio.create_task(take("busy")) for _ in range(5)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("quiet")))
    await asyncio.sleep(0)
    limiter.release()
    await asyncio.gather(*tasks)
    # "quiet" arrived after five "busy" waiters but is served second, not sixth.
    assert order.index("quiet") == 1


async def test_one_busy_queue_does_not_starve_another(sqs: EnterpriseSQS) -> None:
    names = ["busy", "quiet"]
    urls = await make_queues(sqs, names)
    publisher = sqs.create_publisher("busy")
    await publisher.publish_many({"q": "busy", "i": i} for i in range(200))
    quiet = sqs.create_publisher("quiet")
    handled: list[str] = []
    done = asyncio.Event()

    async def handler(message: dict[str, Any], context: Any) -> None:
        handled.append(message["q"])
        await asyncio.sleep(0.001)
        if handled.count("quiet") == 10:
            done.set()

    consumer = sqs.create_multi_queue_consumer(
        names, concurrency=2, batch_size=10, wait_time_seconds=0, polling_interval=10
    )
    await consumer.start(handler)
    while len(handled) < 10:  # the busy queue is being worked on
        await asyncio.sleep(0.005)
    await quiet.publish_many({"q": "quiet", "i": i} for i in range(10))
    await asyncio.wait_for(done.wait(), 30)
    await consumer.stop()
    first_quiet = handled.index("quiet")
    quiet_done_at = max(i for i, q in enumerate(handled) if q == "quiet")
    # Fair turns: the quiet queue's 10 finish within ~20 handler slots of its first one,
    # although 150+ busy messages were still waiting.
    assert quiet_done_at - first_quiet <= 30, handled
    assert handled.count("busy") < 200
    assert isinstance(consumer, MultiQueueConsumer) and set(consumer.stats()) == {
        "0:busy",
        "1:quiet",
    }
    del urls


async def test_multi_queue_consumer_over_a_partitioned_set(sqs: EnterpriseSQS) -> None:
    publisher = sqs.create_partitioned_publisher(
        "part-{partition}", partitions=3, key=lambda m: m["k"], create_queue=True
    )
    assert all(r.success for r in await publisher.publish_many({"k": k} for k in range(30)))
    got: set[int] = set()
    done = asyncio.Event()

    async def handler(message: dict[str, int], context: Any) -> None:
        got.add(message["k"])
        if len(got) == 30:
            done.set()

    consumer = MultiQueueConsumer.for_partitions(
        sqs, "part-{partition}", 3, concurrency=4, wait_time_seconds=0, polling_interval=10
    )
    await consumer.start(handler)
    await asyncio.wait_for(done.wait(), 30)
    await consumer.stop()
    assert got == set(range(30))
