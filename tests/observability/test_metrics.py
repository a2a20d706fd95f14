"""``get_metrics()`` against a known workload on the embedded engine: counts exact, throughput
exact under a ManualClock, averages and percentiles within the stated tolerance."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.consuming import ConsumerEvent, MessageContext
from enterprise_sqs.errors import ConfigurationError, ValidationError
from enterprise_sqs.observability.metrics import (
    BUCKET_BOUNDS,
    LatencyHistogram,
    MetricsCollector,
    QueueMetrics,
    RateWindow,
)
from enterprise_sqs.publishing.events import PublishEvent
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue

HANDLER_SLEEP = 0.005
# A percentile is estimated inside a fixed bucket; the widest bucket spans a third of its value.
PERCENTILE_TOLERANCE = 0.34


async def run_workload(sqs: EnterpriseSQS) -> Recorder:
    """30 messages to "orders": 24 succeed, 3 fail once then succeed, 3 are invalid (DLQ); two
    oversize publishes fail; on "dedup" one message is sent and its repeat suppressed."""
    await make_queue(sqs, "orders", dlq=True)
    await make_queue(sqs, "dedup")
    orders = sqs.create_publisher("orders")
    dedup = sqs.create_publisher("dedup", enable_deduplication=True)
    results = await orders.publish_many({"n": n} for n in range(30))
    assert all(r.success for r in results)
    for _ in range(2):
        assert not (await orders.publish({"blob": "x" * 1_100_000})).success
    assert (await dedup.publish({"same": 1})).success
    assert (await dedup.publish({"same": 1})).duplicate

    async def handler(message: Any, context: MessageContext) -> None:
        await asyncio.sleep(HANDLER_SLEEP)
        if message["n"] % 10 == 0:
            raise ValidationError("not an order")
        if message["n"] % 10 == 1 and context.receive_count == 1:
            raise RuntimeError("flaky downstream")

    consumer = sqs.create_consumer("orders", **FAST)
    recorder = Recorder(consumer)
    await consumer.start(handler)
    await recorder.wait(lambda r: r.count("processed") == 27 and r.count("dead_lettered") == 3)
    assert sqs.get_metrics().components.active_consumers == 1
    await consumer.stop()
    return recorder


async def test_metrics_match_a_known_workload(sqs: EnterpriseSQS, clock: ManualClock) -> None:
    await run_workload(sqs)
    clock.advance(8)
    metrics = sqs.get_metrics()

    orders = metrics.queues["orders"]
    assert (orders.sent, orders.send_failed, orders.duplicates) == (30, 2, 0)
    assert orders.received == 33  # 30 + the 3 flaky ones again
    assert (orders.processed, orders.failed, orders.retried) == (27, 6, 3)
    assert (orders.dead_lettered, orders.discarded, orders.timed_out) == (3, 0, 0)
    assert orders.in_flight == 0
    assert orders.processing_time.count == 33
    assert orders.publish_latency.count == 32
    dedup = metrics.queues["dedup"]
    assert (dedup.sent, dedup.duplicates, dedup.received) == (1, 1, 0)

    system = metrics.system
    assert system.total_messages == 31 + 27 + 6
    assert system.success_rate == pytest.approx(100 * (31 + 27) / (31 + 2 + 27 + 6))
    # Every event happened in one second of the ManualClock, 8 seconds ago.
    assert system.throughput == pytest.approx(64 / 8)
    assert system.uptime == pytest.approx(8)
    assert system.average_processing_time >= HANDLER_SLEEP * 0.99
    assert orders.processing_time.p50 >= HANDLER_SLEEP * 0.99
    assert orders.processing_time.min <= orders.processing_time.p50 <= orders.processing_time.max

    assert metrics.components.publishers == 2
    assert metrics.components.consumers == 1
    assert metrics.components.active_consumers == 0
    assert metrics.circuit_breaker.state == "CLOSED"
    assert metrics.circuit_breaker.failure_count == 0
    assert metrics.circuit_breaker.success_count > 0
    assert metrics.resilience["failures"] == 0

    data = metrics.as_dict()
    assert data["system"]["total_messages"] == 64
    assert data["queues"]["orders"]["processing_time"]["count"] == 33


async def test_throughput_is_a_sliding_window(sqs: EnterpriseSQS, clock: ManualClock) -> None:
    await make_queue(sqs, "q")
    publisher = sqs.create_publisher("q")
    await publisher.publish_many(range(10))
    clock.advance(30)
    await publisher.publish_many(range(20))
    clock.advance(10)
    # 30 messages within the last 60 s, 40 s since the start.
    assert sqs.get_metrics().system.throughput == pytest.approx(30 / 40)
    clock.advance(25)
    # The first 10 are now more than 60 s old.
    assert sqs.get_metrics().system.throughput == pytest.approx(20 / 60)
    clock.advance(60)
    assert sqs.get_metrics().system.throughput == 0


async def test_reset_metrics_starts_counting_again(sqs: EnterpriseSQS, clock: ManualClock) -> None:
    await make_queue(sqs, "q")
    publisher = sqs.create_publisher("q")
    await publisher.publish_many(range(5))
    clock.advance(5)
    assert sqs.get_metrics().queues["q"].sent == 5

    sqs.reset_metrics()
    metrics = sqs.get_metrics()
    assert metrics.system.total_messages == 0
    assert metrics.system.success_rate == 100.0
    assert metrics.system.throughput == 0
    assert metrics.system.since_reset == 0
    assert metrics.system.uptime == pytest.approx(5)  # uptime is not reset
    # The queue stays listed (its publisher still reports to it), every number back to zero.
    assert metrics.queues == {"q": QueueMetrics()}
    assert metrics.resilience["calls"] == 0

    await publisher.publish("again")
    assert sqs.get_metrics().queues["q"].sent == 1


async def test_reset_metrics_resets_receive_counts_of_running_consumers(
    sqs: EnterpriseSQS,
) -> None:
    await make_queue(sqs, "q")
    publisher = sqs.create_publisher("q")
    consumer = sqs.create_consumer("q", **FAST)
    recorder = Recorder(consumer)

    async def handler(message: Any, context: MessageContext) -> None:
        return None

    await consumer.start(handler)
    await publisher.publish_many(range(3))
    await recorder.wait(lambda r: r.count("processed") == 3)
    assert sqs.get_metrics().queues["q"].received == 3
    sqs.reset_metrics()
    assert sqs.get_metrics().queues["q"].received == 0
    await publisher.publish(4)
    await recorder.wait(lambda r: r.count("processed") == 4)
    assert sqs.get_metrics().queues["q"].received == 1
    await consumer.stop()


async def test_metrics_can_be_switched_off(clock: ManualClock) -> None:
    async with EnterpriseSQS(backend="memory://", clock=clock, metrics=False) as sqs:
        await make_queue(sqs, "q")
        await sqs.create_publisher("q").publish("x")
        metrics = sqs.get_metrics()
        assert metrics.queues == {}
        assert metrics.components.publishers == 1
    with pytest.raises(ConfigurationError):
        EnterpriseSQS(metrics="yes")  # type: ignore[arg-type]  # the wrong type on purpose


def test_percentiles_are_within_one_bucket() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(-4, 1.2) for _ in range(5000)]
    histogram = LatencyHistogram()
    for value in values:
        histogram.observe(value)
    ordered = sorted(values)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = ordered[int(q * len(ordered)) - 1]
        estimate = histogram.percentile(q)
        assert abs(estimate - exact) <= PERCENTILE_TOLERANCE * exact, (q, exact, estimate)
    summary = histogram.summary()
    assert summary.count == 5000
    assert summary.mean == pytest.approx(sum(values) / 5000)
    assert summary.min == min(values) and summary.max == max(values)


def test_histogram_memory_does_not_grow_with_messages() -> None:
    histogram = LatencyHistogram()
    for n in range(100_000):
        histogram.observe((n % 1000) / 1000)
    assert len(histogram.counts) == len(BUCKET_BOUNDS) + 1
    assert histogram.cumulative((0.5, 1.0)) == [50_100, 100_000]
    assert LatencyHistogram().summary().p99 == 0.0


def test_collector_counts_each_handler_failure_once() -> None:
    clock = ManualClock()
    collector = MetricsCollector(clock=clock)
    for kind, duration in (
        ("received", None),
        ("processed", 0.2),
        ("failed", 0.4),  # a retryable failure: "failed" then "retried"
        ("retried", 0.4),
        ("dead_lettered", 0.6),
        ("discarded", 0.8),
        ("released", None),
        ("poll_failed", None),
    ):
        collector.on_consumer(ConsumerEvent(kind=kind, queue="q", duration=duration))  # type: ignore[arg-type]  # kinds from the literal
    collector.on_publish(PublishEvent(kind="published", queue="q", duration=0.1))
    collector.on_publish(PublishEvent(kind="failed", queue="q", duration=0.3))
    clock.advance(2)
    metrics = collector.snapshot()
    q = metrics.queues["q"]
    assert (q.processed, q.failed, q.retried, q.dead_lettered, q.discarded) == (1, 3, 1, 1, 1)
    assert (q.received, q.released, q.poll_errors, q.sent, q.send_failed) == (1, 1, 1, 1, 1)
    assert metrics.system.average_processing_time == pytest.approx((0.2 + 0.4 + 0.6 + 0.8) / 4)
    assert q.publish_latency.mean == pytest.approx(0.2)
    assert metrics.system.success_rate == pytest.approx(100 * 2 / 6)
    assert metrics.system.throughput == pytest.approx(5 / 2)


def test_rate_window_rejects_bad_sizes() -> None:
    with pytest.raises(ConfigurationError):
        RateWindow(0)
    window = RateWindow(3)
    window.add(10.2)
    window.add(11.9, 2)
    assert window.total(12.5) == 3
    assert window.total(13.0) == 2
    assert window.total(14.0) == 0


async def test_meters_and_tracers_are_validated(sqs: EnterpriseSQS) -> None:
    await make_queue(sqs, "q")
    consumer = sqs.create_consumer("q", **FAST)
    with pytest.raises(ConfigurationError, match="meters must be callable"):
        consumer.attach_meters("not a function")  # type: ignore[arg-type]  # the error under test
    with pytest.raises(ConfigurationError, match="meters must be callable"):
        sqs.create_publisher("q").attach_meters(42)  # type: ignore[arg-type]  # the error under test
    with pytest.raises(ConfigurationError, match="send_started and send_ended"):
        sqs.create_publisher("q").attach_tracer(object())  # type: ignore[arg-type]  # the error under test

    async def handler(message: Any, context: MessageContext) -> None:
        return None

    await consumer.start(handler)
    try:
        with pytest.raises(ConfigurationError, match="before start"):
            consumer.attach_meters(MetricsCollector().meter)
    finally:
        await consumer.stop()


async def test_a_collector_fed_by_meters_and_by_events_counts_alike() -> None:
    """Components report to meters; anything else may still feed events: same numbers."""
    clock = ManualClock()
    by_meter, by_event = MetricsCollector(clock=clock), MetricsCollector(clock=clock)
    outcomes = [("processed", 0.01), ("failed", 0.2), ("retried", None), ("dead_lettered", 0.3)]
    for kind, duration in outcomes:
        by_meter.meter("q").record(kind, duration)
        by_event.on_consumer(ConsumerEvent(kind=kind, queue="q", duration=duration))  # type: ignore[arg-type]  # kinds from the literal
    by_meter.meter("q").published(0.05)
    by_event.on_publish(PublishEvent(kind="published", queue="q", duration=0.05))
    assert by_meter.snapshot() == by_event.snapshot()
    queue = by_meter.snapshot().queues["q"]
    assert (queue.processed, queue.failed, queue.retried, queue.dead_lettered) == (1, 2, 1, 1)
    assert queue.processing_time.count == 3 and queue.sent == 1
