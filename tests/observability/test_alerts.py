"""Alerts fire when a rule starts to hold and resolve when it stops; sinks: callback, log and a
webhook (a real aiohttp server receiving the POSTs)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.consuming import ConsumerEvent, MessageContext
from enterprise_sqs.errors import ConfigurationError, ValidationError
from enterprise_sqs.observability import (
    Alert,
    AlertInput,
    AlertManager,
    CircuitBreakerOpen,
    DeadLetters,
    HealthCheckFailing,
    LogSink,
    MetricsCollector,
    ProcessingTimeAbove,
    SuccessRateBelow,
    ThroughputBelow,
    WebhookSink,
)
from enterprise_sqs.publishing.events import PublishEvent
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue


def names(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.name, a.state) for a in alerts]


async def test_breaker_and_health_alerts_fire_and_resolve(sqs: EnterpriseSQS) -> None:
    received: list[Alert] = []
    alerts = sqs.get_alert_manager()
    alerts.add_rule(CircuitBreakerOpen())
    alerts.add_rule(HealthCheckFailing(check="database"))
    alerts.add_sink(received.append)
    database_up = True
    sqs.get_health_monitor().register_health_check(
        "database",
        lambda: {"status": "healthy" if database_up else "unhealthy", "error": None},
    )
    assert await alerts.evaluate() == []

    breaker = sqs.get_sqs_client().breaker()
    breaker.force_open()
    database_up = False
    changes = await alerts.evaluate()
    assert sorted(names(changes)) == [
        ("circuit_breaker_open", "firing"),
        ("health_check_failing", "firing"),
    ]
    assert await alerts.evaluate() == []  # still holding: raised once, not again
    assert {a.name for a in alerts.active_alerts} == {
        "circuit_breaker_open",
        "health_check_failing",
    }

    breaker.reset()
    database_up = True
    changes = await alerts.evaluate()
    assert sorted(names(changes)) == [
        ("circuit_breaker_open", "resolved"),
        ("health_check_failing", "resolved"),
    ]
    assert all(a.resolved_at is not None for a in changes)
    assert alerts.active_alerts == []
    assert len(received) == 4 and len(alerts.history) == 4

    sqs.get_health_monitor().clear_alerts()
    assert alerts.history == []


async def test_a_breaker_that_opened_and_closed_between_evaluations_still_alerts(
    sqs: EnterpriseSQS,
) -> None:
    alerts = sqs.get_alert_manager()
    alerts.add_rule(CircuitBreakerOpen())
    breaker = sqs.get_sqs_client().breaker()
    breaker.force_open()
    breaker.reset()
    assert names(await alerts.evaluate()) == [("circuit_breaker_open", "firing")]
    assert names(await alerts.evaluate()) == [("circuit_breaker_open", "resolved")]


async def test_dead_letters_raise_an_alert_that_resolves_after_a_quiet_period(
    sqs: EnterpriseSQS, clock: ManualClock
) -> None:
    await make_queue(sqs, "payments", dlq=True)
    alerts = sqs.get_alert_manager()
    alerts.add_rule(DeadLetters(quiet_period=300, clock=clock))
    assert await alerts.evaluate() == []
    await sqs.create_publisher("payments").publish({"amount": -1})

    async def handler(message: Any, context: MessageContext) -> None:
        raise ValidationError("negative amount")

    consumer = sqs.create_consumer("payments", **FAST)
    recorder = Recorder(consumer)
    await consumer.start(handler)
    await recorder.wait(lambda r: r.count("dead_lettered") == 1)
    await consumer.stop()
    [alert] = await alerts.evaluate()
    assert (alert.name, alert.state, alert.details["new"]) == ("dead_letters", "firing", 1)
    clock.advance(299)
    assert await alerts.evaluate() == []
    clock.advance(2)
    assert names(await alerts.evaluate()) == [("dead_letters", "resolved")]


async def test_metric_rules_fire_and_resolve() -> None:
    clock = ManualClock()
    collector = MetricsCollector(clock=clock)

    async def source() -> AlertInput:
        return AlertInput(metrics=collector.snapshot())

    manager = AlertManager(source, clock=clock)
    manager.add_rule(SuccessRateBelow(95.0, min_messages=10))
    manager.add_rule(ThroughputBelow(1.0, after=60))
    manager.add_rule(ProcessingTimeAbove(2.0))
    manager.add_rule(ProcessingTimeAbove(5.0, percentile="p99", name="slow_p99"))

    def handled(kind: str, seconds: float, n: int = 1) -> None:
        for _ in range(n):
            collector.on_consumer(ConsumerEvent(kind=kind, queue="q", duration=seconds))  # type: ignore[arg-type]  # kinds from the literal

    handled("processed", 0.5, 9)
    handled("failed", 0.5, 1)  # 90 % but only 10 messages: the rule needs 10 → fires
    assert names(await manager.evaluate()) == [("low_success_rate", "firing")]
    handled("processed", 0.5, 90)  # 99 %
    assert names(await manager.evaluate()) == [("low_success_rate", "resolved")]

    handled("processed", 40.0, 2)  # mean (0.5*99 + 80) / 101 ≈ 1.28 s; p99 ≈ 40 s
    assert names(await manager.evaluate()) == [("slow_p99", "firing")]
    handled("processed", 40.0, 5)
    assert names(await manager.evaluate()) == [("slow_processing", "firing")]

    clock.advance(120)  # 107 messages 120 s ago: nothing in the last minute
    assert names(await manager.evaluate()) == [("low_throughput", "firing")]
    for _ in range(120):
        collector.on_publish(PublishEvent(kind="published", queue="q"))
    assert names(await manager.evaluate()) == [("low_throughput", "resolved")]


async def test_sinks_log_and_post_to_a_webhook(caplog: pytest.LogCaptureFixture) -> None:
    posted: list[dict[str, Any]] = []
    got = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        posted.append(await request.json())
        got.set()
        return web.Response(status=204)

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        holding = True

        async def source() -> AlertInput:
            return AlertInput(metrics=MetricsCollector().snapshot(), breaker_opened=int(holding))

        manager = AlertManager(source)
        manager.add_rule(CircuitBreakerOpen())
        manager.add_sink(WebhookSink(f"http://127.0.0.1:{port}/broken?token=s3cret"))
        manager.add_sink(WebhookSink(f"http://127.0.0.1:{port}/hook"))
        manager.add_sink(LogSink())
        with caplog.at_level(logging.INFO, logger="enterprise_sqs.observability.alerts"):
            await manager.evaluate()
            holding = False
            await manager.evaluate()
        await got.wait()
        assert [p["state"] for p in posted] == ["firing", "resolved"]
        assert posted[0]["name"] == "circuit_breaker_open"
        assert posted[0]["severity"] == "critical"
        messages = [r.getMessage() for r in caplog.records]
        assert any("alert circuit_breaker_open firing" in m for m in messages)
        assert any("alert circuit_breaker_open resolved" in m for m in messages)
        assert any("HTTP 500" in m for m in messages)  # a failing sink is logged, others go on
        assert not any("s3cret" in m for m in messages)  # the webhook URL's token is not logged
    finally:
        await runner.cleanup()


async def test_background_evaluation_and_validation(sqs: EnterpriseSQS) -> None:
    alerts = sqs.get_alert_manager()
    fired = asyncio.Event()
    alerts.add_rule(CircuitBreakerOpen())
    alerts.add_sink(lambda alert: fired.set())
    sqs.get_sqs_client().breaker().force_open()
    alerts.start(interval=0.01)
    await fired.wait()
    await alerts.stop()
    with pytest.raises(ConfigurationError):
        alerts.add_rule(object())  # type: ignore[arg-type]  # not a rule
    with pytest.raises(ConfigurationError):
        SuccessRateBelow(120)
    with pytest.raises(ConfigurationError):
        WebhookSink("ftp://example.com/hook")
    with pytest.raises(ConfigurationError):
        ProcessingTimeAbove(1, percentile="p42")  # type: ignore[arg-type]  # on purpose
