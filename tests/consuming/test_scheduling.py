"""Scheduling on the embedded engine and on moto server: FIFO order within a group under
parallelism with failures injected, groups in parallel, more than 10 handlers at once, the
visibility heartbeat, and backpressure."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext
from tests.consuming.conftest import make_queue, poll
from tests.consuming.helpers import Recorder, counts


async def test_fifo_keeps_order_within_groups_despite_failures_and_runs_groups_in_parallel(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(sqs, unique, fifo=True, ContentBasedDeduplication="true")
    publisher = sqs.create_publisher(url)
    groups, per_group = ["a", "b", "c"], 6
    for n in range(per_group):
        for group in groups:
            result = await publisher.publish({"g": group, "n": n}, group_id=group)
            assert result.success
    handled: dict[str, list[int]] = defaultdict(list)
    failed_once: set[tuple[str, int]] = set()
    active_groups: set[str] = set()
    most_groups_at_once = 0
    two_groups_running = asyncio.Event()

    async def handler(message: dict[str, Any], context: MessageContext) -> None:
        nonlocal most_groups_at_once
        group, n = message["g"], message["n"]
        assert context.group_id == group
        active_groups.add(group)
        most_groups_at_once = max(most_groups_at_once, len(active_groups))
        if len(active_groups) >= 2:
            two_groups_running.set()
        try:
            if n == 0:
                # the first message of each group waits until another group runs alongside it
                await asyncio.wait_for(two_groups_running.wait(), 10)
            if n in (2, 4) and (group, n) not in failed_once:
                failed_once.add((group, n))
                raise RuntimeError(f"injected failure {group}{n}")
            handled[group].append(n)
        finally:
            active_groups.discard(group)

    consumer = sqs.create_consumer(url, processing_mode="parallel", concurrency=5, **poll(sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == len(groups) * per_group, 30)
    for group in groups:
        assert handled[group] == list(range(per_group)), f"group {group} out of order"
    assert most_groups_at_once >= 2
    assert consumer.stats.retried == 2 * len(groups)
    assert await counts(sqs, url) == (0, 0)


async def test_more_than_ten_handlers_run_at_once(sqs: EnterpriseSQS, unique: str) -> None:
    url, _ = await make_queue(sqs, unique)
    total = 15
    await sqs.create_publisher(url).publish_many({"n": n} for n in range(total))
    running = 0
    most = 0
    all_in = asyncio.Event()

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == total:
            all_in.set()
        # every handler waits until all of them are running: they can only finish together
        await asyncio.wait_for(all_in.wait(), 15)
        running -= 1

    consumer = sqs.create_consumer(url, concurrency=20, max_messages=20, **poll(sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == total)
    assert most == total


async def test_heartbeat_keeps_a_long_handler_s_message_hidden(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(sqs, unique)
    await sqs.create_publisher(url).publish({"slow": True})
    calls = 0
    beats_seen = asyncio.Event()

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal calls
        calls += 1
        # outlive the 1 s visibility timeout: run until the heartbeat has extended it twice
        while consumer.stats.heartbeats < 2:  # polling a counter the consumer owns
            await asyncio.sleep(0.05)
        beats_seen.set()

    # room for more messages, so a redelivery would reach this same consumer
    consumer = sqs.create_consumer(url, visibility_timeout_seconds=1, concurrency=4, **poll(sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 1)
    assert beats_seen.is_set()
    assert calls == 1, "the message was delivered again while its handler ran"
    assert consumer.stats.received == 1
    assert consumer.stats.heartbeat_failures == 0
    assert await counts(sqs, url) == (0, 0)


async def test_never_holds_more_than_concurrency_plus_prefetch(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish_many({"n": n} for n in range(30))
    held: list[int] = []

    async def handler(message: Any, context: MessageContext) -> None:
        held.append(consumer.in_flight)
        await asyncio.sleep(0)

    consumer = memory_sqs.create_consumer(
        url, concurrency=3, max_messages=2, prefetch=2, **poll(memory_sqs)
    )
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 30)
    assert max(held) <= 5
    assert consumer.stats.received == 30
