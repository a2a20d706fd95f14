"""Alerts: rules over metrics and health that raise an alert when they start to hold and resolve
it when they stop, delivered to sinks (a callback, the log, a webhook).

::

    alerts = sqs.get_alert_manager()
    alerts.add_rule(SuccessRateBelow(95.0))
    alerts.add_rule(CircuitBreakerOpen())
    alerts.add_sink(WebhookSink("https://hooks.example.com/sqs"))
    await alerts.evaluate()                  # once; or alerts.start(interval=30) in the background
    sqs.get_health_monitor().clear_alerts()  # the seed's clearAlerts()

A rule is an object with ``name``, ``severity`` and ``evaluate(AlertInput) -> Finding | None``;
``None`` means "all is well". An alert is raised once when its rule starts to hold (sinks get it
with ``state="firing"``) and resolved once when it stops (``state="resolved"``). A sink that
fails is logged and never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

import aiohttp

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability.health import HealthStatus
from enterprise_sqs.observability.metrics import Metrics

__all__ = [
    "Alert",
    "AlertInput",
    "AlertManager",
    "AlertRule",
    "AlertSink",
    "CallbackSink",
    "CircuitBreakerOpen",
    "DeadLetters",
    "Finding",
    "HealthCheckFailing",
    "LogSink",
    "ProcessingTimeAbove",
    "SuccessRateBelow",
    "ThroughputBelow",
    "WebhookSink",
]

logger = logging.getLogger(__name__)

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertInput:
    """What rules look at: the metrics, the health status (``None`` if not checked) and the
    breakers' transitions to OPEN since the previous evaluation."""

    metrics: Metrics
    health: HealthStatus | None = None
    breaker_opened: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that holds: what to tell people, and the numbers behind it."""

    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """An alert as sinks receive it. Times are wall-clock epoch seconds."""

    name: str
    severity: Severity
    state: Literal["firing", "resolved"]
    message: str
    details: Mapping[str, Any]
    raised_at: float
    resolved_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = dict(self.details)
        return data


@runtime_checkable
class AlertRule(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    def evaluate(self, data: AlertInput) -> Finding | None: ...


@runtime_checkable
class AlertSink(Protocol):
    async def send(self, alert: Alert) -> None: ...


def _positive(name: str, value: object, *, allow_zero: bool = True) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if not ok or value < 0 or (not allow_zero and value == 0):  # type: ignore[operator]  # checked number
        raise ConfigurationError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)  # type: ignore[arg-type]  # checked number


# -- rules ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuccessRateBelow:
    """``metrics.system.success_rate`` (percent) below ``percent``, once ``min_messages``
    messages were attempted (a single early failure is not an incident)."""

    percent: float
    min_messages: int = 10
    name: str = "low_success_rate"
    severity: Severity = "critical"

    def __post_init__(self) -> None:
        if not 0 <= _positive("percent", self.percent) <= 100:
            raise ConfigurationError(f"percent must be from 0 to 100, got {self.percent!r}")

    def evaluate(self, data: AlertInput) -> Finding | None:
        system = data.metrics.system
        queues = data.metrics.queues.values()
        attempted = sum(q.sent + q.send_failed + q.processed + q.failed for q in queues)
        if attempted < self.min_messages or system.success_rate >= self.percent:
            return None
        return Finding(
            f"success rate {system.success_rate:.1f}% is below {self.percent:g}%",
            {"success_rate": system.success_rate, "threshold": self.percent},
        )


@dataclass(frozen=True, slots=True)
class ThroughputBelow:
    """``metrics.system.throughput`` (messages per second) below ``per_second``, once the
    client has been up for ``after`` seconds since the last reset."""

    per_second: float
    after: float = 60.0
    name: str = "low_throughput"
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        _positive("per_second", self.per_second)
        _positive("after", self.after)

    def evaluate(self, data: AlertInput) -> Finding | None:
        system = data.metrics.system
        if system.since_reset < self.after or system.throughput >= self.per_second:
            return None
        return Finding(
            f"throughput {system.throughput:.2f}/s is below {self.per_second:g}/s",
            {"throughput": system.throughput, "threshold": self.per_second},
        )


@dataclass(frozen=True, slots=True)
class ProcessingTimeAbove:
    """Handler time above ``seconds``: the mean (``percentile=None``) or a percentile of one
    queue or the worst queue (``"p50"``, ``"p90"``, ``"p95"``, ``"p99"``)."""

    seconds: float
    percentile: Literal["p50", "p90", "p95", "p99"] | None = None
    queue: str | None = None
    name: str = "slow_processing"
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        _positive("seconds", self.seconds)
        if self.percentile not in (None, "p50", "p90", "p95", "p99"):
            raise ConfigurationError(
                f"percentile must be None, p50, p90, p95 or p99, got {self.percentile!r}"
            )

    def evaluate(self, data: AlertInput) -> Finding | None:
        metrics = data.metrics
        if self.percentile is None and self.queue is None:
            value = metrics.system.average_processing_time
        else:
            key = self.percentile or "mean"
            values = [
                getattr(q.processing_time, key)
                for name, q in metrics.queues.items()
                if self.queue in (None, name) and q.processing_time.count
            ]
            value = max(values, default=0.0)
        if value <= self.seconds:
            return None
        what = self.percentile or "average"
        return Finding(
            f"{what} processing time {value:.3f} s is above {self.seconds:g} s",
            {"processing_time": value, "threshold": self.seconds, "queue": self.queue},
        )


@dataclass(frozen=True, slots=True)
class CircuitBreakerOpen:
    """The client's circuit breaker is OPEN (or opened since the previous evaluation, even if
    it has closed again since)."""

    name: str = "circuit_breaker_open"
    severity: Severity = "critical"

    def evaluate(self, data: AlertInput) -> Finding | None:
        breaker = data.metrics.circuit_breaker
        if breaker.state != "OPEN" and not data.breaker_opened:
            return None
        return Finding(
            f"circuit breaker is {breaker.state}",
            {
                "state": breaker.state,
                "failure_count": breaker.failure_count,
                "time_since_last_failure": breaker.time_since_last_failure,
                "opened": data.breaker_opened,
            },
        )


class DeadLetters:
    """Messages went to a dead-letter queue: raised when the dead-lettered count (of ``queue``,
    or of all queues) grows, resolved after ``quiet_period`` seconds without another."""

    def __init__(
        self,
        *,
        queue: str | None = None,
        quiet_period: float = 300.0,
        clock: Clock | None = None,
        name: str = "dead_letters",
        severity: Severity = "warning",
    ) -> None:
        self.queue = queue
        self.quiet_period = _positive("quiet_period", quiet_period)
        self.name = name
        self.severity: Severity = severity
        self._clock = clock or SystemClock()
        self._last_count = 0
        self._last_growth: float | None = None
        self._recent = 0

    def evaluate(self, data: AlertInput) -> Finding | None:
        count = sum(
            q.dead_lettered for n, q in data.metrics.queues.items() if self.queue in (None, n)
        )
        now = self._clock.monotonic()
        if count < self._last_count:  # the metrics were reset
            self._last_count = 0
        if count > self._last_count:
            self._recent = count - self._last_count
            self._last_growth = now
        self._last_count = count
        if self._last_growth is None or now - self._last_growth >= self.quiet_period:
            return None
        return Finding(
            f"{self._recent} message(s) moved to a dead-letter queue",
            {"dead_lettered": count, "new": self._recent, "queue": self.queue},
        )


@dataclass(frozen=True, slots=True)
class HealthCheckFailing:
    """A health check (``check``, or any) is unhealthy (``degraded=True``: or degraded)."""

    check: str | None = None
    degraded: bool = False
    name: str = "health_check_failing"
    severity: Severity = "critical"

    def evaluate(self, data: AlertInput) -> Finding | None:
        if data.health is None:
            return None
        bad = ("unhealthy", "degraded") if self.degraded else ("unhealthy",)
        failing = {
            name: result.error or result.status
            for name, result in data.health.details.items()
            if self.check in (None, name) and result.status in bad
        }
        if not failing:
            return None
        return Finding(f"health check(s) failing: {', '.join(sorted(failing))}", failing)


# -- sinks ----------------------------------------------------------------------------------------


class CallbackSink:
    """Calls ``fn(alert)`` (a plain or async function)."""

    def __init__(self, fn: Callable[[Alert], Awaitable[object] | object]) -> None:
        if not callable(fn):
            raise ConfigurationError(f"the alert callback must be callable, got {fn!r}")
        self._fn = fn

    async def send(self, alert: Alert) -> None:
        result = self._fn(alert)
        if inspect.isawaitable(result):
            await result


class LogSink:
    """Logs alerts: firing at ``level`` (WARNING), resolved at INFO, with structured extras."""

    def __init__(self, log: logging.Logger | None = None, *, level: int = logging.WARNING) -> None:
        self._log = log or logger
        self._level = level

    async def send(self, alert: Alert) -> None:
        level = self._level if alert.state == "firing" else logging.INFO
        self._log.log(
            level,
            "alert %s %s: %s",
            alert.name,
            alert.state,
            alert.message,
            extra={"alert": alert.name, "severity": alert.severity, "state": alert.state},
        )


class WebhookSink:
    """POSTs each alert as JSON (:meth:`Alert.as_dict`) to ``url`` with aiohttp.

    The URL is never logged whole (webhook URLs often carry a token); failures name its host.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError("the webhook URL must be an http:// or https:// URL")
        self._url = url
        self._host = parts.hostname or "?"
        self._timeout = aiohttp.ClientTimeout(total=_positive("timeout", timeout, allow_zero=False))
        self._headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"WebhookSink(host={self._host!r})"

    async def send(self, alert: Alert) -> None:
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.post(self._url, json=alert.as_dict(), headers=self._headers) as response,
        ):
            if response.status >= 300:
                raise ConnectionError(
                    f"the alert webhook at {self._host} answered HTTP {response.status}"
                )


# -- the manager ----------------------------------------------------------------------------------


class AlertManager:
    """Evaluates rules and tells sinks what started and what stopped.

    Args:
        source: an async function returning the :class:`AlertInput` to evaluate.
        clock: for alert times.
        history: how many raised and resolved alerts to remember.
    """

    def __init__(
        self,
        source: Callable[[], Awaitable[AlertInput]],
        *,
        clock: Clock | None = None,
        history: int = 100,
    ) -> None:
        self._source = source
        self._clock = clock or SystemClock()
        self._rules: dict[str, AlertRule] = {}
        self._sinks: list[AlertSink] = []
        self._active: dict[str, Alert] = {}
        self._history: deque[Alert] = deque(maxlen=history)
        self._task: asyncio.Task[None] | None = None

    def add_rule(self, rule: AlertRule) -> None:
        """Add (or replace, by name) a rule. Raises ConfigurationError for a non-rule."""
        if not isinstance(rule, AlertRule):
            raise ConfigurationError(
                f"an alert rule needs name, severity and evaluate(data); got {rule!r}"
            )
        self._rules[rule.name] = rule

    def add_sink(self, sink: AlertSink | Callable[[Alert], object]) -> None:
        """Add a sink; a plain callable becomes a :class:`CallbackSink`."""
        if isinstance(sink, AlertSink):
            self._sinks.append(sink)
        elif callable(sink):
            self._sinks.append(CallbackSink(sink))
        else:
            raise ConfigurationError(f"an alert sink needs async send(alert); got {sink!r}")

    @property
    def active_alerts(self) -> list[Alert]:
        return list(self._active.values())

    @property
    def history(self) -> list[Alert]:
        return list(self._history)

    def clear_alerts(self) -> None:
        """Forget active alerts and history (a rule that still holds raises again)."""
        self._active.clear()
        self._history.clear()

    async def evaluate(self) -> list[Alert]:
        """Evaluate every rule once; returns the alerts raised or resolved by this evaluation."""
        data = await self._source()
        now = self._clock.time()
        changes: list[Alert] = []
        for name, rule in list(self._rules.items()):
            try:
                finding = rule.evaluate(data)
            except Exception:
                logger.exception("alert rule %s failed", name, extra={"alert": name})
                continue
            active = self._active.get(name)
            if finding is not None and active is None:
                alert = Alert(
                    name=name,
                    severity=rule.severity,
                    state="firing",
                    message=finding.message,
                    details=dict(finding.details),
                    raised_at=now,
                )
                self._active[name] = alert
                changes.append(alert)
            elif finding is None and active is not None:
                del self._active[name]
                changes.append(replace(active, state="resolved", resolved_at=now))
        for alert in changes:
            self._history.append(alert)
            await self._deliver(alert)
        return changes

    async def _deliver(self, alert: Alert) -> None:
        for sink in list(self._sinks):
            try:
                await sink.send(alert)
            except Exception as exc:
                logger.warning(
                    "an alert sink failed: %s",
                    exc,
                    extra={
                        "alert": alert.name,
                        "sink": repr(sink),
                        "error_type": type(exc).__name__,
                    },
                )

    def start(self, interval: float = 30.0) -> None:
        """Evaluate every ``interval`` seconds in the background until :meth:`stop`."""
        _positive("interval", interval, allow_zero=False)
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.get_running_loop().create_task(self._loop(interval))

    async def _loop(self, interval: float) -> None:
        while True:
            try:
                await self.evaluate()
            except Exception:
                logger.exception("alert evaluation failed")
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
