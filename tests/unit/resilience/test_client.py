"""ResilientBackend: retry around breaker around any backend, with stats and logs."""

from __future__ import annotations

import asyncio
import logging

import pytest

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.errors import (
    CircuitOpenError,
    ConfigurationError,
    QueueDoesNotExist,
    ServiceUnavailable,
    TransportError,
)
from enterprise_sqs.models import ReceivedMessage, SendEntry
from enterprise_sqs.resilience import CircuitState, FaultyBackend, ResilientBackend, no_backoff
from tests.unit.resilience.fakes import FakeBackend


def build(
    *, threshold: int = 3, max_retries: int = 2, per_queue: bool = False
) -> tuple[ResilientBackend, FaultyBackend, ManualClock]:
    clock = ManualClock()
    faulty = FaultyBackend(FakeBackend())
    client = ResilientBackend(
        faulty,
        circuit_breaker=CircuitBreakerConfig(
            failure_threshold=threshold, timeout=60, monitoring_period=30
        ),
        retry=RetryConfig(max_retries=max_retries, initial_delay=0.0, max_backoff=0.0),
        per_queue_breakers=per_queue,
        clock=clock,
    )
    return client, faulty, clock


async def test_is_a_backend_and_passes_calls_through() -> None:
    client, faulty, _ = build()
    assert isinstance(client, Backend)
    url = await client.create_queue("q")
    result = await client.send_batch(url, [SendEntry(id="a", body="x")])
    assert [s.id for s in result.successful] == ["a"]
    assert [m.body for m in await client.receive(url, max_messages=10)] == ["x"]
    assert client.name == faulty.name
    snap = client.stats.snapshot()
    assert (snap.calls, snap.successes, snap.attempts, snap.retries) == (3, 3, 3, 0)


async def test_each_attempt_passes_the_breaker_and_open_fails_fast() -> None:
    client, faulty, clock = build(threshold=3, max_retries=2)
    url = await client.create_queue("q")
    faulty.fail(TransportError("refused"))
    with pytest.raises(TransportError):
        await client.receive(url)
    assert faulty.calls["receive"] == 3  # one call, three attempts: the breaker saw three failures
    assert client.get_circuit_breaker_status().state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as info:
        await client.receive(url)
    assert faulty.calls["receive"] == 3  # refused without touching the backend, and not retried
    assert info.value.retry_after == pytest.approx(60.0)
    # The outage ends; after the timeout a single probe closes the breaker.
    faulty.clear()
    clock.advance(60)
    assert await client.receive(url) == []
    assert client.get_circuit_breaker_status().state is CircuitState.CLOSED
    snap = client.stats.snapshot()
    assert (snap.rejections, snap.opened, snap.half_opened, snap.closed) == (1, 1, 1, 1)
    assert (snap.calls, snap.failures, snap.retries) == (4, 2, 2)


async def test_breaker_opening_mid_retries_stops_the_retries() -> None:
    client, faulty, _ = build(threshold=2, max_retries=5)
    url = await client.create_queue("q")
    faulty.fail(ServiceUnavailable())
    with pytest.raises(CircuitOpenError):
        await client.get_queue_attributes(url)
    assert faulty.calls["get_queue_attributes"] == 2


async def test_sender_errors_are_neither_retried_nor_counted() -> None:
    client, faulty, _ = build(threshold=1)
    with pytest.raises(QueueDoesNotExist):
        await client.get_queue_attributes("http://fake.local/000000000000/missing")
    assert faulty.calls["get_queue_attributes"] == 1
    assert client.get_circuit_breaker_status().state is CircuitState.CLOSED


async def test_per_queue_breakers_isolate_queues() -> None:
    client, faulty, _ = build(threshold=1, max_retries=0, per_queue=True)
    sick, healthy = await client.create_queue("sick"), await client.create_queue("healthy")
    faulty.fail(ServiceUnavailable(), times=1)
    with pytest.raises(ServiceUnavailable):
        await client.receive(sick)
    with pytest.raises(CircuitOpenError) as info:
        await client.receive(sick)
    assert info.value.breaker == sick
    assert await client.receive(healthy) == []
    assert client.get_circuit_breaker_status(sick).state is CircuitState.OPEN
    assert client.get_circuit_breaker_status(healthy).state is CircuitState.CLOSED
    assert client.get_circuit_breaker_status().state is CircuitState.CLOSED
    assert set(client.circuit_breakers()) == {faulty.name, sick, healthy}


async def test_batch_retries_only_failed_retryable_entries() -> None:
    client, faulty, _ = build(max_retries=3)
    url = await client.create_queue("q")
    faulty.fail_entries(ServiceUnavailable, ids={"b", "d"}, times=2)
    faulty.fail_entries(QueueDoesNotExist, ids={"c"})
    batch = [SendEntry(id=i, body=i) for i in "abcde"]
    result = await client.send_batch(url, batch)
    assert faulty.batches == [("send_batch", ["a", "b", "c", "d", "e"]), ("send_batch", ["b", "d"])]
    assert sorted(s.id for s in result.successful) == ["a", "b", "d", "e"]
    assert [f.id for f in result.failed] == ["c"]
    # A batch with failed entries was still an answer: the breaker counted successes only.
    assert client.get_circuit_breaker_status().total_failures == 0


async def test_retries_rejections_and_transitions_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, faulty, _ = build(threshold=2, max_retries=1)
    url = await client.create_queue("q")
    faulty.fail(ServiceUnavailable())
    with caplog.at_level(logging.DEBUG, logger="enterprise_sqs.resilience"):
        with pytest.raises(ServiceUnavailable):
            await client.receive(url)
        with pytest.raises(CircuitOpenError):
            await client.receive(url)
    by_logger = {r.name: r for r in caplog.records}
    retry = by_logger["enterprise_sqs.resilience.retry"]
    fields = vars(retry)
    assert (fields["operation"], fields["queue_url"], fields["retry"]) == ("receive", url, 1)
    (transition,) = [r for r in caplog.records if getattr(r, "to_state", None) == "OPEN"]
    assert transition.levelno == logging.WARNING
    assert (vars(transition)["breaker"], vars(transition)["from_state"]) == (faulty.name, "CLOSED")
    rejection = by_logger["enterprise_sqs.resilience.client"]
    assert (vars(rejection)["operation"], vars(rejection)["breaker"]) == ("receive", faulty.name)


async def test_from_config_and_validation() -> None:
    config = EnterpriseSQSConfig(
        circuit_breaker=CircuitBreakerConfig(failure_threshold=7), retry=RetryConfig(max_retries=1)
    )
    client = ResilientBackend.from_config(FakeBackend(), config)
    assert client.breaker().config.failure_threshold == 7
    assert client.retry_policy.config.max_retries == 1
    with pytest.raises(ConfigurationError, match="Backend"):
        ResilientBackend(object())  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ConfigurationError, match="CircuitBreakerConfig"):
        ResilientBackend(FakeBackend(), circuit_breaker={"failure_threshold": 1})  # type: ignore[arg-type]  # on purpose


async def test_aclose_closes_the_inner_backend() -> None:
    inner = FakeBackend()
    async with ResilientBackend(inner):
        pass
    assert inner.closed


async def test_test_mode_retries_without_waiting() -> None:
    inner = FaultyBackend(FakeBackend())
    client = ResilientBackend(
        inner, retry=RetryConfig(max_retries=2, initial_delay=3600, max_backoff=3600)
    )
    inner.fail(ServiceUnavailable(), times=2)
    with no_backoff():
        page = await asyncio.wait_for(client.list_queues(), timeout=10)
    assert page.queue_urls == []
    assert inner.calls["list_queues"] == 3


class GatedBackend(FakeBackend):
    """receive() waits until ``n`` calls are inside it at once, counting how many overlap."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.running = 0
        self.peak = 0
        self.all_in = asyncio.Event()

    async def receive(self, queue_url: str, **kwargs: object) -> list[ReceivedMessage]:
        self.running += 1
        self.peak = max(self.peak, self.running)
        if self.running == self.n:
            self.all_in.set()
        await self.all_in.wait()
        self.running -= 1
        return []


async def test_a_thousand_concurrent_calls_through_one_breaker_overlap() -> None:
    n = 1_000
    inner = GatedBackend(n)
    client = ResilientBackend(inner, circuit_breaker=CircuitBreakerConfig(failure_threshold=5))
    url = await client.create_queue("q")
    # If the client serialised calls, the first would wait forever for the other 999.
    await asyncio.wait_for(asyncio.gather(*(client.receive(url) for _ in range(n))), timeout=30)
    assert inner.peak == n
    status = client.get_circuit_breaker_status()
    assert status.total_successes == n + 1
    snap = client.stats.snapshot()
    assert (snap.calls, snap.successes, snap.attempts) == (n + 1, n + 1, n + 1)
