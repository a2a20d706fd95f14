"""Breaker and retry over real parts: AWSBackend → TCP proxy → moto server, and the engine.

The proxy cuts the server off (refused, reset or stalled connections); the breaker's clock is a
ManualClock so its timeout passes without sleeping, while every request is a real HTTP request.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest

from enterprise_sqs.backends.aws import AWSBackend
from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import open_backend
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import CircuitBreakerConfig, RetryConfig
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import (
    CircuitOpenError,
    InvalidParameterValue,
    RequestTimeout,
    ServiceUnavailable,
    ThrottlingError,
    TransportError,
)
from enterprise_sqs.models import DeleteEntry, SendEntry
from enterprise_sqs.resilience import (
    CircuitState,
    CircuitTransition,
    FaultyBackend,
    ResilientBackend,
)
from tests.support.moto import moto_server
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
async def proxy(moto_url: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(moto_url)
    assert parts.hostname is not None and parts.port is not None
    async with TcpProxy(parts.hostname, parts.port) as p:
        yield p


def aws(proxy: TcpProxy, *, read_timeout: float = 30) -> AWSBackend:
    return AWSBackend(
        endpoint_url=proxy.url,
        region="us-east-1",
        credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
        connect_timeout=2,
        read_timeout=read_timeout,
    )


def resilient(
    backend: Backend, clock: ManualClock, *, threshold: int, max_retries: int
) -> tuple[ResilientBackend, list[CircuitTransition]]:
    seen: list[CircuitTransition] = []
    client = ResilientBackend(
        backend,
        circuit_breaker=CircuitBreakerConfig(
            failure_threshold=threshold, timeout=30, monitoring_period=60
        ),
        retry=RetryConfig(max_retries=max_retries, initial_delay=0.0, max_backoff=0.0),
        clock=clock,
        on_transition=[seen.append],
    )
    return client, seen


def message(body: str) -> SendEntry:
    return SendEntry(id="m", body=body)


def path(seen: list[CircuitTransition]) -> list[tuple[str, str]]:
    return [(t.from_state.value, t.to_state.value) for t in seen]


async def test_breaker_opens_fails_fast_and_one_probe_closes_it(proxy: TcpProxy) -> None:
    clock = ManualClock()
    client, seen = resilient(aws(proxy), clock, threshold=3, max_retries=2)
    async with client:
        url = await client.create_queue(f"res-{uuid.uuid4().hex[:12]}")
        await client.send_message(url, message("before"))

        await proxy.set_mode("reset")
        before = proxy.accepted
        with pytest.raises(TransportError):
            await client.send_message(url, message("lost"))
        # One call, 1 + max_retries attempts, each one real connection — no more.
        assert proxy.accepted - before == 3
        assert client.get_circuit_breaker_status().state is CircuitState.OPEN

        # Open: refused at once, without a single connection.
        for _ in range(5):
            with pytest.raises(CircuitOpenError) as info:
                await client.send_message(url, message("refused"))
        assert proxy.accepted - before == 3
        assert info.value.retry_after is not None and 0 < info.value.retry_after <= 30

        # The server comes back, the timeout passes: one probe closes the breaker.
        await proxy.set_mode("forward")
        clock.advance(30)
        await client.send_message(url, message("after"))
        status = client.get_circuit_breaker_status()
        assert status.state is CircuitState.CLOSED
        assert status.failure_count == 0
        assert path(seen) == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]

        bodies = sorted(m.body for m in await client.receive(url, max_messages=10))
        assert bodies == ["after", "before"]
        snap = client.stats.snapshot()
        assert (snap.rejections, snap.retries, snap.opened, snap.closed) == (5, 2, 1, 1)


async def test_refused_connections_open_the_breaker(proxy: TcpProxy) -> None:
    clock = ManualClock()
    client, seen = resilient(aws(proxy), clock, threshold=4, max_retries=1)
    async with client:
        url = await client.create_queue(f"res-{uuid.uuid4().hex[:12]}")
        await proxy.set_mode("refuse")
        with pytest.raises(TransportError):
            await client.receive(url)
        assert client.get_circuit_breaker_status().state is CircuitState.CLOSED
        with pytest.raises(TransportError):
            await client.receive(url)
        assert client.get_circuit_breaker_status().state is CircuitState.OPEN
        assert client.stats.snapshot().attempts == 1 + 4  # create_queue + 2 calls of 2 attempts
        await proxy.set_mode("forward")
        clock.advance(30)
        assert await client.receive(url) == []
        assert path(seen)[-1] == ("HALF_OPEN", "CLOSED")


async def test_a_stalled_server_times_out_and_opens_the_breaker(proxy: TcpProxy) -> None:
    clock = ManualClock()
    async with aws(proxy) as setup:
        url = await setup.create_queue(f"res-{uuid.uuid4().hex[:12]}")
    # A short read timeout (long enough for a loopback moto to answer) turns the stall into
    # RequestTimeout quickly.
    client, _ = resilient(aws(proxy, read_timeout=2), clock, threshold=2, max_retries=1)
    async with client:
        await proxy.set_mode("stall")
        before = proxy.stalled
        with pytest.raises(RequestTimeout):
            await client.get_queue_attributes(url)
        assert proxy.stalled - before == 2
        assert client.get_circuit_breaker_status().state is CircuitState.OPEN
        with pytest.raises(CircuitOpenError):
            await client.get_queue_attributes(url)
        await proxy.set_mode("forward")
        clock.advance(30)
        attributes = await client.get_queue_attributes(url)
        assert "QueueArn" in attributes
        assert client.get_circuit_breaker_status().state is CircuitState.CLOSED


async def test_retried_batch_entries_are_exactly_the_failed_retryable_ones(
    proxy: TcpProxy,
) -> None:
    faulty = FaultyBackend(aws(proxy))
    client, _ = resilient(faulty, ManualClock(), threshold=5, max_retries=3)
    async with client:
        url = await client.create_queue(f"res-{uuid.uuid4().hex[:12]}")
        faulty.fail_entries(ServiceUnavailable, ids={"b"}, times=2)
        faulty.fail_entries(ThrottlingError, ids={"d"}, times=1)
        faulty.fail_entries(InvalidParameterValue("rejected"), ids={"c"})
        entries = [SendEntry(id=i, body=f"body-{i}") for i in "abcde"]
        result = await client.send_batch(url, entries)
        assert faulty.batches == [
            ("send_batch", ["a", "b", "c", "d", "e"]),
            ("send_batch", ["b", "d"]),
            ("send_batch", ["b"]),
        ]
        assert sorted(s.id for s in result.successful) == ["a", "b", "d", "e"]
        assert [(f.id, f.sender_fault) for f in result.failed] == [("c", True)]
        received = await client.receive(url, max_messages=10)
        assert sorted(m.body for m in received) == ["body-a", "body-b", "body-d", "body-e"]


# -- the same rules over the embedded engine (real SQLite, in memory) -----------------------------


@pytest.fixture
async def engine() -> AsyncIterator[Backend]:
    backend = open_backend("memory://")
    yield backend
    await backend.aclose()


async def test_engine_batch_retries_only_retryable_failures_and_keeps_the_engines_own(
    engine: Backend,
) -> None:
    faulty = FaultyBackend(engine)
    client, _ = resilient(faulty, ManualClock(), threshold=5, max_retries=2)
    url = await client.create_queue(f"res-{uuid.uuid4().hex[:12]}")
    faulty.fail_entries(ServiceUnavailable, ids={"b", "e"}, times=2)
    entries = [
        SendEntry(id="a", body="fine"),
        SendEntry(id="b", body="retried once"),
        SendEntry(id="c", body="\x00 is not allowed in SQS"),  # the engine refuses: sender fault
        SendEntry(id="e", body="retried once too"),
    ]
    result = await client.send_batch(url, entries)
    assert faulty.batches == [("send_batch", ["a", "b", "c", "e"]), ("send_batch", ["b", "e"])]
    assert sorted(s.id for s in result.successful) == ["a", "b", "e"]
    assert [(f.id, f.sender_fault) for f in result.failed] == [("c", True)]

    # Deleting: one good receipt handle, one the engine rejects (never retried), one that a
    # transient fault hits and that is retried until its retries run out.
    received = await client.receive(url, max_messages=10, wait_time_seconds=0)
    assert len(received) == 3
    faulty.fail_entries(ThrottlingError, ids={"flaky"})
    deletes = [
        DeleteEntry(id="ok", receipt_handle=received[0].receipt_handle),
        DeleteEntry(id="bad", receipt_handle="not-a-receipt-handle"),
        DeleteEntry(id="flaky", receipt_handle=received[1].receipt_handle),
    ]
    outcome = await client.delete_batch(url, deletes)
    assert [ids for _, ids in faulty.batches[2:]] == [["ok", "bad", "flaky"], ["flaky"], ["flaky"]]
    assert outcome.successful == ["ok"]
    assert sorted((f.id, f.sender_fault) for f in outcome.failed) == [
        ("bad", True),
        (
            "flaky",
            True,
        ),  # throttling is the sender's "fault", yet retryable: retried, then given up
    ]


async def test_a_thousand_concurrent_calls_through_one_breaker_over_the_engine(
    engine: Backend,
) -> None:
    n = 1_000
    faulty = FaultyBackend(engine)
    client, _ = resilient(faulty, ManualClock(), threshold=5, max_retries=0)
    url = await client.create_queue(f"res-{uuid.uuid4().hex[:12]}")
    gate = faulty.stall(operations={"send_message"})
    tasks = [
        asyncio.create_task(client.send_message(url, SendEntry(id="m", body=f"n{i}")))
        for i in range(n)
    ]
    # All 1,000 calls are inside the breaker at the same moment: nothing serialises them.
    await asyncio.wait_for(gate.wait_stalled(n), timeout=60)
    assert gate.held == n
    gate.release()
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    assert len({r.message_id for r in results}) == n
    status = client.get_circuit_breaker_status()
    assert (status.total_successes, status.total_failures) == (n + 1, 0)
    snap = client.stats.snapshot()
    assert (snap.calls, snap.successes, snap.attempts, snap.retries) == (n + 1, n + 1, n + 1, 0)
    attributes = await client.get_queue_attributes(url, ["ApproximateNumberOfMessages"])
    assert attributes["ApproximateNumberOfMessages"] == str(n)
