"""Lifecycle, options, events, batch handlers and flow control, on the embedded engine."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from enterprise_sqs import open_backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.consuming import ConsumerEvent, MessageContext
from enterprise_sqs.errors import (
    CircuitOpenError,
    ClientClosedError,
    ConfigurationError,
    ServiceUnavailable,
    ValidationError,
)
from enterprise_sqs.resilience import FaultyBackend
from tests.consuming.conftest import make_queue, poll
from tests.consuming.helpers import Recorder, counts


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"processing_mode": "fast"}, "processing_mode"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_messages": 101}, "max_messages"),
        ({"wait_time_seconds": 21}, "wait_time_seconds"),
        ({"visibility_timeout_seconds": 43201}, "visibility_timeout_seconds"),
        ({"throttle_delay_ms": -1}, "throttle_delay_ms"),
        ({"handler_timeout": 0}, "handler_timeout"),
        ({"processing_mode": "sequential", "concurrency": 4}, "sequential"),
        ({"non_retryable": [ValueError, 42]}, "non_retryable"),
        ({"poll_interval": 5}, "consumer options are"),
    ],
)
def test_bad_options_are_refused_with_a_useful_message(options: dict[str, Any], match: str) -> None:
    sqs = EnterpriseSQS(backend="memory://")
    with pytest.raises(ConfigurationError, match=match):
        sqs.create_consumer("q", **options)


async def test_start_stop_misuse_is_reported(memory_sqs: EnterpriseSQS, unique: str) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    consumer = memory_sqs.create_consumer(url, **poll(memory_sqs))

    async def handler(message: Any, context: MessageContext) -> None:
        pass

    with pytest.raises(ConfigurationError, match="callable"):
        await consumer.start("not a function")  # type: ignore[arg-type]
    await consumer.start(handler)
    with pytest.raises(ConfigurationError, match="already started"):
        await consumer.start(handler)
    await consumer.stop()
    await consumer.stop()  # twice is fine
    with pytest.raises(ClientClosedError):
        await consumer.start(handler)


async def test_stop_releases_prefetched_messages_and_finishes_the_running_handler(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish_many({"n": n} for n in range(6))
    started = asyncio.Event()
    finish = asyncio.Event()
    finished: list[int] = []

    async def handler(message: Any, context: MessageContext) -> None:
        started.set()
        await finish.wait()
        finished.append(message["n"])

    consumer = memory_sqs.create_consumer(
        url, processing_mode="sequential", max_messages=5, prefetch=5, **poll(memory_sqs)
    )
    await consumer.start(handler)
    await started.wait()
    async with asyncio.timeout(10):
        while consumer.in_flight < 5:  # the handler's message plus four prefetched
            await asyncio.sleep(0.01)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0)
    finish.set()
    await stopping
    assert len(finished) == 1, "the running handler was let finish"
    assert consumer.stats.released == 4
    assert await counts(memory_sqs, url) == (5, 0)  # four released, one never received


async def test_a_handler_past_the_shutdown_deadline_is_cancelled_and_its_message_returned(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish({"n": 1})
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def handler(message: Any, context: MessageContext) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    consumer = memory_sqs.create_consumer(url, **poll(memory_sqs))
    await consumer.start(handler)
    await started.wait()
    await consumer.stop(timeout=0.1)
    assert cancelled.is_set()
    assert consumer.stats.released == 1
    assert await counts(memory_sqs, url) == (1, 0)


async def test_closing_the_client_stops_its_consumers(unique: str) -> None:
    sqs = EnterpriseSQS(backend="memory://")
    url, _ = await make_queue(sqs, unique)

    async def handler(message: Any, context: MessageContext) -> None:
        pass

    consumer = sqs.create_consumer(url, **poll(sqs))
    await consumer.start(handler)
    assert consumer.running
    await sqs.aclose()
    assert not consumer.running


async def test_observers_see_events_and_their_errors_never_break_delivery(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish_many({"n": n} for n in range(3))

    def broken(event: ConsumerEvent) -> None:
        raise RuntimeError("observer bug")

    async def handler(message: Any, context: MessageContext) -> None:
        pass

    consumer = memory_sqs.create_consumer(url, **poll(memory_sqs))
    consumer.subscribe(broken)
    recorder = Recorder(consumer)
    with pytest.raises(ConfigurationError, match="unknown consumer event kinds"):
        consumer.subscribe(broken, kinds={"exploded"})
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 3)
    assert recorder.count("received") == 3
    assert recorder.count("stopped") == 0
    await consumer.stop()
    assert [e.kind for e in recorder.events].count("stopped") == 1
    assert await counts(memory_sqs, url) == (0, 0)


async def test_batch_handler_reports_which_messages_failed(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish_many({"n": n} for n in range(6))
    batches: list[list[int]] = []
    attempts: dict[int, int] = {}

    async def handler(contexts: list[MessageContext]) -> dict[str, BaseException]:
        batches.append([c.message["n"] for c in contexts])
        failures: dict[str, BaseException] = {}
        for context in contexts:
            n = context.message["n"]
            attempts[n] = attempts.get(n, 0) + 1
            if n == 1 and attempts[n] == 1:
                failures[context.message_id] = RuntimeError("retry me")
            if n == 2:
                failures[context.message_id] = ValidationError("never valid")
        return failures

    consumer = memory_sqs.create_consumer(url, batch_size=3, max_messages=6, **poll(memory_sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler, batch=True)
        await recorder.wait(lambda r: r.count("processed") == 5 and r.count("discarded") == 1)
    assert all(len(b) <= 3 for b in batches)
    assert attempts[1] == 2
    assert consumer.stats.retried == 1
    assert await counts(memory_sqs, url) == (0, 0)


async def test_fifo_batch_handler_failure_returns_the_rest_of_its_group(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique, fifo=True, ContentBasedDeduplication="true")
    publisher = memory_sqs.create_publisher(url, message_group_id="g")
    for n in range(4):
        await publisher.publish({"n": n})
    done: list[int] = []
    failed_once = False

    async def handler(contexts: list[MessageContext]) -> list[str]:
        nonlocal failed_once
        for index, context in enumerate(contexts):
            if context.message["n"] == 1 and not failed_once:
                failed_once = True
                return [c.message_id for c in contexts[index:]]
            done.append(context.message["n"])
        return []

    consumer = memory_sqs.create_consumer(url, batch_size=10, **poll(memory_sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler, batch=True)
        await recorder.wait(lambda r: r.count("processed") == 4)
    assert done == [0, 1, 2, 3]


async def test_polling_pauses_while_the_circuit_breaker_is_open(unique: str) -> None:
    faulty = FaultyBackend(open_backend("memory://"))
    config = EnterpriseSQSConfig(
        circuit_breaker=CircuitBreakerConfig(failure_threshold=3, timeout=60, monitoring_period=30),
        retry=RetryConfig(max_retries=0),
    )
    async with EnterpriseSQS(config, backend=faulty) as sqs:
        url, _ = await make_queue(sqs, unique)
        faulty.fail(ServiceUnavailable, operations={"receive"})

        async def handler(message: Any, context: MessageContext) -> None:
            pass

        consumer = sqs.create_consumer(url, **poll(sqs))
        recorder = Recorder(consumer)
        await consumer.start(handler)
        await recorder.wait(
            lambda r: any(isinstance(e.error, CircuitOpenError) for e in r.of("poll_failed"))
        )
        # three receives failed and opened the breaker; after that none reached the backend
        assert faulty.calls["receive"] == 3
        await asyncio.sleep(0.1)
        assert faulty.calls["receive"] == 3
        await consumer.stop()


async def test_a_handler_can_extend_its_own_visibility(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish({"n": 1})

    async def handler(message: Any, context: MessageContext) -> None:
        await context.extend_visibility(600)
        with pytest.raises(ConfigurationError):
            await context.extend_visibility(-1)

    consumer = memory_sqs.create_consumer(url, **poll(memory_sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 1)
    assert consumer.stats.heartbeats == 1


def test_retry_delay_is_full_jitter_exponential_backoff_on_the_receive_count() -> None:
    from enterprise_sqs.consuming import retry_delay
    from enterprise_sqs.resilience import no_backoff

    top = lambda a, b: b  # noqa: E731  # the jitter's upper bound
    with no_backoff(False):
        assert [retry_delay(n, base=1, cap=300, uniform=top) for n in (1, 2, 3, 9, 10, 60)] == [
            1,
            2,
            4,
            256,
            300,
            300,
        ]
        assert retry_delay(5, base=1, cap=300, uniform=lambda a, b: a) == 0
    assert retry_delay(5, base=1, cap=300, uniform=top) == 0  # test mode: no backoff
