"""Health: checks run concurrently under timeouts; readiness follows a backend cut off by a real
TCP proxy (AWS backend → proxy → moto server) while liveness does not; stuck poll loops fail
liveness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from enterprise_sqs.backends.url import open_backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability import HealthMonitor
from enterprise_sqs.resilience import FaultyBackend
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue
from tests.support.moto import moto_server
from tests.support.proxy import TcpProxy


async def test_checks_run_concurrently_and_combine_to_the_worst() -> None:
    monitor = HealthMonitor(default_timeout=5)
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    def waits_for(me: str, other: str) -> Any:
        async def check() -> dict[str, Any]:
            started[me].set()
            await started[other].wait()  # sequential checks would never get past this
            return {"status": "healthy", "details": {"peer": other}}

        return check

    monitor.register_health_check("a", waits_for("a", "b"))
    monitor.register_health_check("b", waits_for("b", "a"))
    monitor.register_health_check("sync", lambda: {"status": "degraded", "details": {"x": 1}})
    status = await monitor.check()
    assert status.status == "degraded"
    assert status.details["a"].status == "healthy"
    assert status.details["a"].details == {"peer": "b"}
    assert status.details["sync"].details == {"x": 1}
    assert status["status"] == "degraded"
    assert status.timestamp.endswith("+00:00")


async def test_failing_slow_and_malformed_checks_are_unhealthy() -> None:
    monitor = HealthMonitor()
    never = asyncio.Event()

    async def hangs() -> dict[str, Any]:
        await never.wait()
        return {"status": "healthy"}

    async def raises() -> dict[str, Any]:
        raise ConnectionError("database unreachable")

    monitor.register_health_check("slow", hangs, timeout=0.05)
    monitor.register_health_check("raises", raises)
    monitor.register_health_check("seed-style", lambda: {"status": "unhealthy", "error": "down"})
    monitor.register_health_check("bad-status", lambda: {"status": "fine"})
    monitor.register_health_check("not-a-mapping", lambda: "ok")
    status = await monitor.check()
    assert status.status == "unhealthy"
    details = status.details
    assert "did not answer within 0.05 s" in (details["slow"].error or "")
    assert details["raises"].error == "ConnectionError: database unreachable"
    assert details["seed-style"].error == "down"
    assert details["bad-status"].status == "unhealthy"
    assert details["not-a-mapping"].status == "unhealthy"
    assert status.as_dict()["details"]["raises"]["status"] == "unhealthy"
    assert monitor.unregister_health_check("slow")
    assert "slow" not in monitor.checks


def test_registration_is_validated() -> None:
    monitor = HealthMonitor()
    with pytest.raises(ConfigurationError):
        monitor.register_health_check("", lambda: {"status": "healthy"})
    with pytest.raises(ConfigurationError):
        monitor.register_health_check("x", "not callable")  # type: ignore[arg-type]  # on purpose
    with pytest.raises(ConfigurationError):
        monitor.register_health_check("x", dict, timeout=0)
    with pytest.raises(ConfigurationError):
        monitor.register_health_check("x", dict, probe="startup")  # type: ignore[arg-type]  # on purpose


async def test_a_wedged_poll_loop_fails_liveness_and_recovers() -> None:
    clock = ManualClock()
    faulty = FaultyBackend(open_backend("memory://", clock=clock))
    async with EnterpriseSQS(backend=faulty, clock=clock) as sqs:
        await make_queue(sqs, "jobs")
        consumer = sqs.create_consumer("jobs", **FAST)
        recorder = Recorder(consumer)
        rule = faulty.stall(operations={"receive"})

        async def handler(message: Any, context: MessageContext) -> None:
            return None

        await consumer.start(handler)
        monitor = sqs.get_health_monitor()
        assert (await monitor.liveness()).status == "healthy"
        clock.advance(60)
        assert (await monitor.liveness()).status == "healthy"  # not yet past stuck_after
        clock.advance(61)  # default stuck_after: wait (0) + polling (0.01) + breaker 60 + 60
        status = await monitor.liveness()
        assert status.status == "unhealthy"
        assert status.details["consumers"].details["stuck"] == ["jobs"]
        assert (await monitor.readiness()).status == "healthy"  # the backend answers
        rule.release()
        faulty.clear()
        await recorder.wait(lambda r: bool(r.of("empty_poll")))
        assert (await monitor.liveness()).status == "healthy"
        await consumer.stop()


async def test_a_busy_consumer_is_not_stuck(sqs: EnterpriseSQS, clock: ManualClock) -> None:
    await make_queue(sqs, "slow")
    await sqs.create_publisher("slow").publish({"n": 1})
    release = asyncio.Event()
    running = asyncio.Event()

    async def handler(message: Any, context: MessageContext) -> None:
        running.set()
        await release.wait()

    consumer = sqs.create_consumer(
        "slow", processing_mode="sequential", prefetch=0, heartbeat=False, **FAST
    )
    await consumer.start(handler)
    await running.wait()
    monitor = sqs.get_health_monitor()
    await monitor.liveness()
    clock.advance(1000)
    status = await monitor.liveness()
    assert status.status == "healthy", status
    release.set()
    await consumer.stop()


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


@pytest.mark.slow
async def test_readiness_follows_a_backend_cut_off_by_the_proxy(proxy: TcpProxy) -> None:
    config = EnterpriseSQSConfig(
        backend=proxy.url,
        region="us-east-1",
        credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
        retry=RetryConfig(max_retries=0),
    )
    async with EnterpriseSQS(config) as sqs:
        await sqs.get_sqs_client().create_queue("health-q")
        consumer = sqs.create_consumer("health-q", wait_time_seconds=1)
        recorder = Recorder(consumer)

        async def handler(message: Any, context: MessageContext) -> None:
            return None

        await consumer.start(handler)
        server = await sqs.start_http_server(port=0)
        assert (await sqs.get_health_status()).status == "healthy"

        async with aiohttp.ClientSession() as http:

            async def get(path: str) -> tuple[int, dict[str, Any]]:
                async with http.get(server.url + path) as response:
                    return response.status, await response.json()

            assert (await get("/readyz"))[0] == 200
            await proxy.set_mode("refuse")
            await recorder.wait(lambda r: bool(r.of("poll_failed")))
            health = await sqs.get_health_status()
            assert health.status == "unhealthy"
            assert health.details["backend"].status == "unhealthy"
            assert health.details["consumers"].status == "healthy"  # liveness never needs SQS
            code, body = await get("/readyz")
            assert code == 503 and body["details"]["backend"]["status"] == "unhealthy"
            assert (await get("/livez"))[0] == 200
            assert (await get("/healthz"))[0] == 503

            await proxy.set_mode("forward")
            code, body = await get("/readyz")
            assert code == 200
            assert body["status"] in ("healthy", "degraded")  # degraded while the breaker heals
        await consumer.stop()
