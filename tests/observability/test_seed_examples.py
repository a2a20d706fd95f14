"""The seed's monitoring examples ("Circuit Breaker Monitoring", "Memory Management", "Resource
Monitoring", "Health Check Implementation", "Alerting System", "Metrics Dashboard"), written in
Python against this API, run as tests on the embedded engine."""

from __future__ import annotations

import asyncio
import datetime
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from enterprise_sqs.backends.url import open_backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.observability import CircuitBreakerOpen, HealthCheckFailing
from enterprise_sqs.resilience import FaultyBackend
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue

logger = logging.getLogger("seed-example")


# -- Circuit Breaker Monitoring -------------------------------------------------------------------


async def monitor_circuit_breaker(
    sqs: EnterpriseSQS,
    implement_fallback_mechanisms: Callable[[], Awaitable[None]],
    alert_operations_team: Callable[[str], Awaitable[None]],
) -> None:
    status = sqs.get_sqs_client().get_circuit_breaker_status()
    if status.state == "OPEN":
        logger.error("Circuit breaker is OPEN - system may be degraded")
        await implement_fallback_mechanisms()  # Implement fallback mechanisms
        await alert_operations_team("Circuit breaker is open")  # Alert operations team
    elif status.state == "HALF_OPEN":
        logger.warning("Circuit breaker is HALF_OPEN - testing recovery")
    else:
        logger.info("Circuit breaker is CLOSED - system is healthy")


async def test_monitor_circuit_breaker(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    faulty = FaultyBackend(open_backend("memory://", clock=clock))
    fallbacks: list[str] = []
    pages: list[str] = []

    async def fallback() -> None:
        fallbacks.append("fallback")

    async def page(text: str) -> None:
        pages.append(text)

    async with EnterpriseSQS(backend=faulty, clock=clock) as sqs:
        client = sqs.get_sqs_client()
        with caplog.at_level(logging.INFO, logger="seed-example"):
            await monitor_circuit_breaker(sqs, fallback, page)
            client.breaker().force_open(duration=30)
            await monitor_circuit_breaker(sqs, fallback, page)
            clock.advance(31)
            rule = faulty.stall(operations={"list_queues"})
            probe = asyncio.create_task(client.list_queues())  # the probe of recovery
            await rule.wait_stalled()
            await monitor_circuit_breaker(sqs, fallback, page)
            rule.release()
            await probe
            await monitor_circuit_breaker(sqs, fallback, page)
    said = [r.getMessage() for r in caplog.records if r.name == "seed-example"]
    assert said == [
        "Circuit breaker is CLOSED - system is healthy",
        "Circuit breaker is OPEN - system may be degraded",
        "Circuit breaker is HALF_OPEN - testing recovery",
        "Circuit breaker is CLOSED - system is healthy",
    ]
    assert fallbacks == ["fallback"] and pages == ["Circuit breaker is open"]


# -- Memory Management ----------------------------------------------------------------------------


def cleanup_metrics(sqs: EnterpriseSQS) -> None:
    sqs.reset_metrics()  # Clear old metrics every hour
    sqs.get_health_monitor().clear_alerts()  # Clear old alerts
    logger.info("Metrics cleaned up")


async def test_cleanup_metrics(sqs: EnterpriseSQS) -> None:
    await make_queue(sqs, "q")
    await sqs.create_publisher("q").publish({"n": 1})
    alerts = sqs.get_alert_manager()
    alerts.add_rule(CircuitBreakerOpen())
    sqs.get_sqs_client().breaker().force_open()
    await alerts.evaluate()
    assert alerts.active_alerts and sqs.get_metrics().system.total_messages == 1

    cleanup_metrics(sqs)
    assert sqs.get_metrics().system.total_messages == 0
    assert alerts.active_alerts == [] and alerts.history == []


# -- Resource Monitoring --------------------------------------------------------------------------


def monitor_resources(sqs: EnterpriseSQS) -> None:
    metrics = sqs.get_metrics()
    if metrics.system.throughput < 100:  # Check throughput
        logger.warning("Low throughput detected: %s", metrics.system.throughput)
    if metrics.system.success_rate < 95:  # Check success rate
        logger.error("Low success rate detected: %s", metrics.system.success_rate)
    if metrics.system.average_processing_time > 5:  # Check processing time (seconds here)
        logger.warning("High processing time detected: %s", metrics.system.average_processing_time)


async def test_monitor_resources(
    sqs: EnterpriseSQS, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await make_queue(sqs, "work")
    assert all(r.success for r in await sqs.create_publisher("work").publish_many(range(10)))

    async def handler(message: Any, context: MessageContext) -> None:
        if message < 2 and context.receive_count == 1:
            raise RuntimeError("transient")

    consumer = sqs.create_consumer("work", **FAST)
    recorder = Recorder(consumer)
    await consumer.start(handler)
    await recorder.wait(lambda r: r.count("processed") == 10)
    await consumer.stop()
    clock.advance(10)
    with caplog.at_level(logging.INFO, logger="seed-example"):
        monitor_resources(sqs)
    said = [r.getMessage() for r in caplog.records if r.name == "seed-example"]
    # 10 sent + 10 processed + 2 failures in 10 s: 2.2/s; success 20/22.
    assert said == [
        "Low throughput detected: 2.2",
        f"Low success rate detected: {100 * 20 / 22}",
    ]


# -- Health Check Implementation ------------------------------------------------------------------


class Database:
    """A real database (SQLite) with the seed's ``ping()``."""

    def __init__(self) -> None:
        self.connection = sqlite3.connect(":memory:", check_same_thread=False)

    async def ping(self) -> None:
        await asyncio.to_thread(self.connection.execute, "SELECT 1")


def register_custom_health_checks(
    sqs: EnterpriseSQS, database: Database, health_url: str, http: aiohttp.ClientSession
) -> None:
    health_monitor = sqs.get_health_monitor()

    async def database_check() -> dict[str, Any]:  # Database health check
        try:
            await database.ping()
            return {"status": "healthy", "details": {"connection": "active"}}
        except Exception as error:
            return {"status": "unhealthy", "error": str(error)}

    async def external_service() -> dict[str, Any]:  # External service health check
        try:
            async with http.get(health_url) as response:
                return {"status": "healthy", "details": {"response": response.status}}
        except Exception as error:
            return {"status": "unhealthy", "error": str(error)}

    health_monitor.register_health_check("database", database_check)
    health_monitor.register_health_check("external-service", external_service)


async def test_register_custom_health_checks(sqs: EnterpriseSQS) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/health"
    database = Database()
    try:
        async with aiohttp.ClientSession() as http:
            register_custom_health_checks(sqs, database, url, http)
            health_status = await sqs.get_health_status()
            assert health_status.status == "healthy"
            assert health_status.details["database"].details == {"connection": "active"}
            assert health_status.details["external-service"].details == {"response": 200}
            assert set(health_status.details) == {
                "backend",
                "consumers",
                "database",
                "external-service",
            }

            database.connection.close()
            await runner.cleanup()
            health_status = await sqs.get_health_status()
            assert health_status.status == "unhealthy"
            assert "closed" in (health_status.details["database"].error or "")
            assert health_status.details["external-service"].status == "unhealthy"
    finally:
        await runner.cleanup()


# -- Alerting System ------------------------------------------------------------------------------


def setup_alerting(
    sqs: EnterpriseSQS,
    send_alert: Callable[[str, dict[str, Any]], Awaitable[None]],
    *,
    health_every: float = 60,
    breaker_every: float = 30,
) -> list[asyncio.Task[None]]:
    async def monitor_health() -> None:  # Monitor health status
        while True:
            health = await sqs.get_health_status()
            if health.status == "unhealthy":
                await send_alert(
                    "SQS system is unhealthy",
                    {
                        "status": health.status,
                        "details": health.details,
                        "timestamp": health.timestamp,
                    },
                )
            await asyncio.sleep(health_every)

    async def monitor_breaker() -> None:  # Monitor circuit breaker
        while True:
            status = sqs.get_sqs_client().get_circuit_breaker_status()
            if status.state == "OPEN":
                await send_alert(
                    "Circuit breaker is open",
                    {
                        "state": status.state,
                        "failure_count": status.failure_count,
                        "time_since_last_failure": status.time_since_last_failure,
                    },
                )
            await asyncio.sleep(breaker_every)

    return [asyncio.create_task(monitor_health()), asyncio.create_task(monitor_breaker())]


async def test_setup_alerting(sqs: EnterpriseSQS) -> None:
    sent: dict[str, dict[str, Any]] = {}
    both = asyncio.Event()

    async def send_alert(title: str, data: dict[str, Any]) -> None:
        sent[title] = data
        if len(sent) == 2:
            both.set()

    sqs.get_health_monitor().register_health_check(
        "database", lambda: {"status": "unhealthy", "error": "connection refused"}
    )
    sqs.get_sqs_client().breaker().force_open()
    tasks = setup_alerting(sqs, send_alert, health_every=0.01, breaker_every=0.01)
    try:
        await both.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert sent["SQS system is unhealthy"]["status"] == "unhealthy"
    assert sent["SQS system is unhealthy"]["details"]["database"].error == "connection refused"
    assert sent["Circuit breaker is open"]["state"] == "OPEN"

    # The same, the library's way: rules, a sink, resolution when things recover.
    alerts = sqs.get_alert_manager()
    alerts.add_rule(HealthCheckFailing())
    alerts.add_rule(CircuitBreakerOpen())
    received: list[str] = []
    alerts.add_sink(lambda alert: received.append(f"{alert.name}:{alert.state}"))
    await alerts.evaluate()
    sqs.get_health_monitor().unregister_health_check("database")
    sqs.get_sqs_client().breaker().reset()
    await alerts.evaluate()
    assert sorted(received) == [
        "circuit_breaker_open:firing",
        "circuit_breaker_open:resolved",
        "health_check_failing:firing",
        "health_check_failing:resolved",
    ]


# -- Metrics Dashboard ----------------------------------------------------------------------------


def collect_metrics(sqs: EnterpriseSQS, send_metrics: Callable[[dict[str, Any]], None]) -> None:
    metrics = sqs.get_metrics()
    send_metrics(  # Send metrics to monitoring system
        {
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
            "system": {
                "uptime": metrics.system.uptime,
                "total_messages": metrics.system.total_messages,
                "success_rate": metrics.system.success_rate,
                "throughput": metrics.system.throughput,
                "average_processing_time": metrics.system.average_processing_time,
            },
            "circuit_breaker": {
                "state": metrics.circuit_breaker.state,
                "failure_count": metrics.circuit_breaker.failure_count,
                "success_count": metrics.circuit_breaker.success_count,
            },
            "components": {
                "publishers": metrics.components.publishers,
                "consumers": metrics.components.consumers,
                "active_consumers": metrics.components.active_consumers,
            },
        }
    )


async def test_collect_metrics(sqs: EnterpriseSQS, clock: ManualClock) -> None:
    await make_queue(sqs, "dash")
    await sqs.create_publisher("dash").publish_many(range(4))
    consumer = sqs.create_consumer("dash", **FAST)
    recorder = Recorder(consumer)

    async def handler(message: Any, context: MessageContext) -> None:
        return None

    await consumer.start(handler)
    await recorder.wait(lambda r: r.count("processed") == 4)
    clock.advance(2)
    dashboard: list[dict[str, Any]] = []
    collect_metrics(sqs, dashboard.append)
    await consumer.stop()
    [sample] = dashboard
    assert sample["system"]["total_messages"] == 8
    assert sample["system"]["uptime"] == pytest.approx(2)
    assert sample["system"]["success_rate"] == 100.0
    assert sample["system"]["throughput"] == pytest.approx(4.0)
    assert sample["circuit_breaker"]["state"] == "CLOSED"
    assert sample["components"] == {"publishers": 1, "consumers": 1, "active_consumers": 1}
