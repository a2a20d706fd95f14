"""Health checks: :class:`HealthMonitor` runs named checks concurrently, each under a timeout.

::

    monitor = sqs.get_health_monitor()

    async def database() -> dict:
        await db.ping()
        return {"status": "healthy", "details": {"connection": "active"}}

    monitor.register_health_check("database", database)
    health = await sqs.get_health_status()      # health.status: healthy / degraded / unhealthy

A check is a callable (async or not) returning the seed's ``{"status": ..., "details": ...}``
(or ``{"status": "unhealthy", "error": "..."}``); a check that raises is unhealthy with the
exception's type and message, one that runs past its timeout is unhealthy too. The overall status
is the worst of the checks.

Each check belongs to ``readiness`` (can this process do useful work now: the backend, a database)
or ``liveness`` (is it wedged and in need of a restart: poll loops). A Kubernetes liveness probe
must never fail because a dependency is down, or every pod restarts during an SQS outage: the
built-in liveness check (:class:`ConsumerLiveness`) only looks at the consumers' own loops.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.consuming.consumer import Consumer
from enterprise_sqs.consuming.events import ConsumerEvent
from enterprise_sqs.errors import ConfigurationError

if TYPE_CHECKING:
    from enterprise_sqs.observability.alerts import AlertManager

__all__ = [
    "CheckResult",
    "ConsumerLiveness",
    "HealthCheck",
    "HealthMonitor",
    "HealthStatus",
    "Probe",
]

logger = logging.getLogger(__name__)

Status = Literal["healthy", "degraded", "unhealthy"]
Probe = Literal["readiness", "liveness"]
HealthCheck = Callable[[], Awaitable[Mapping[str, Any]] | Mapping[str, Any]]

_RANK: dict[str, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}
_STATUSES = tuple(_RANK)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """One check's answer: ``status``, ``details`` it gave, ``error`` if it failed, how long it
    took (seconds) and which probe it belongs to."""

    status: Status
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration: float = 0.0
    probe: Probe = "readiness"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "details": dict(self.details)}
        if self.error is not None:
            data["error"] = self.error
        data["duration"] = round(self.duration, 6)
        data["probe"] = self.probe
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthStatus:
    """What ``get_health_status()`` returns, as the seed reads it: ``status``, ``details`` (one
    :class:`CheckResult` per check) and ``timestamp`` (ISO 8601, UTC)."""

    status: Status
    details: Mapping[str, CheckResult]
    timestamp: str

    @property
    def healthy(self) -> bool:
        return self.status != "unhealthy"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "details": {name: r.as_dict() for name, r in self.details.items()},
            "timestamp": self.timestamp,
        }

    def __getitem__(self, key: str) -> Any:
        # The seed reads health.status and health["details"] alike.
        if key not in ("status", "details", "timestamp"):
            raise KeyError(key)
        return getattr(self, key)


@dataclass(frozen=True, slots=True)
class _Registered:
    check: HealthCheck
    timeout: float
    probe: Probe


def _normalise(value: object, probe: Probe, duration: float) -> CheckResult:
    if not isinstance(value, Mapping):
        return CheckResult(
            status="unhealthy",
            error=f"the check returned {type(value).__name__}, not a mapping with a status",
            duration=duration,
            probe=probe,
        )
    status = value.get("status")
    if status not in _RANK:
        return CheckResult(
            status="unhealthy",
            error=f"the check returned status {status!r}; use one of {', '.join(_STATUSES)}",
            duration=duration,
            probe=probe,
        )
    details = value.get("details")
    error = value.get("error")
    return CheckResult(
        status=status,
        details=dict(details) if isinstance(details, Mapping) else {},
        error=None if error is None else str(error),
        duration=duration,
        probe=probe,
    )


class HealthMonitor:
    """Named health checks, run concurrently. Alerts hang off it too (:attr:`alerts`), as in the
    seed (``getHealthMonitor().clearAlerts()``).

    Args:
        clock: for durations and timestamps.
        default_timeout: seconds a check may take unless registered with its own.
    """

    def __init__(self, *, clock: Clock | None = None, default_timeout: float = 5.0) -> None:
        _check_timeout(default_timeout)
        self._clock = clock or SystemClock()
        self._timeout = float(default_timeout)
        self._checks: dict[str, _Registered] = {}
        self.alerts: AlertManager | None = None  # attached by the client

    def __repr__(self) -> str:
        return f"HealthMonitor(checks={sorted(self._checks)})"

    def register_health_check(
        self,
        name: str,
        check: HealthCheck,
        *,
        timeout: float | None = None,
        probe: Probe = "readiness",
    ) -> None:
        """Add (or replace) the check called ``name``.

        Raises:
            ConfigurationError: an empty name, a check that is not callable, a bad timeout or
                probe.
        """
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"a health check needs a non-empty name, got {name!r}")
        if not callable(check):
            raise ConfigurationError(f"health check {name!r} must be callable, got {check!r}")
        if timeout is not None:
            _check_timeout(timeout)
        if probe not in ("readiness", "liveness"):
            raise ConfigurationError(f"probe must be 'readiness' or 'liveness', got {probe!r}")
        self._checks[name] = _Registered(
            check, self._timeout if timeout is None else float(timeout), probe
        )

    def unregister_health_check(self, name: str) -> bool:
        """Remove a check; returns whether it existed."""
        return self._checks.pop(name, None) is not None

    @property
    def checks(self) -> list[str]:
        return sorted(self._checks)

    async def check(self, probe: Probe | None = None) -> HealthStatus:
        """Run every check (or those of one ``probe``) concurrently and combine them."""
        chosen = {
            name: reg for name, reg in self._checks.items() if probe is None or reg.probe == probe
        }
        results = await asyncio.gather(*(self._run(name, reg) for name, reg in chosen.items()))
        details = dict(zip(chosen, results, strict=True))
        worst = max((_RANK[r.status] for r in results), default=0)
        status: Status = _STATUSES[worst]  # type: ignore[assignment]  # one of the three names
        stamp = datetime.datetime.fromtimestamp(self._clock.time(), tz=datetime.UTC)
        return HealthStatus(status=status, details=details, timestamp=stamp.isoformat())

    async def liveness(self) -> HealthStatus:
        return await self.check("liveness")

    async def readiness(self) -> HealthStatus:
        return await self.check("readiness")

    async def _run(self, name: str, registered: _Registered) -> CheckResult:
        started = self._clock.monotonic()
        try:
            async with asyncio.timeout(registered.timeout):
                value = registered.check()
                if inspect.isawaitable(value):
                    value = await value
        except TimeoutError:
            return CheckResult(
                status="unhealthy",
                error=f"the check did not answer within {registered.timeout:g} s",
                duration=self._clock.monotonic() - started,
                probe=registered.probe,
            )
        except Exception as exc:
            logger.warning(
                "health check %s failed",
                name,
                extra={"check": name, "error_type": type(exc).__name__},
            )
            return CheckResult(
                status="unhealthy",
                error=f"{type(exc).__name__}: {exc}",
                duration=self._clock.monotonic() - started,
                probe=registered.probe,
            )
        return _normalise(value, registered.probe, self._clock.monotonic() - started)

    def clear_alerts(self) -> None:
        """The seed's ``clearAlerts()``: forget active alerts and their history."""
        if self.alerts is not None:
            self.alerts.clear_alerts()


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        raise ConfigurationError(f"a check timeout must be > 0 and ≤ 300 seconds, got {timeout!r}")


_LOOP_EVENTS = ("received", "empty_poll", "poll_failed", "stopped")


class ConsumerLiveness:
    """The built-in liveness check: is any running consumer's poll loop wedged?

    A consumer is *stuck* when it is running, has room to receive (it holds fewer messages than
    its concurrency plus prefetch) and its poll loop has finished no receive — successful, empty
    or failed — for ``stuck_after`` seconds. A consumer whose handlers hold every slot is busy,
    not stuck. A failing receive (SQS unreachable, the breaker open) is progress: the loop is
    alive and will recover by itself, so liveness never depends on SQS.

    ``stuck_after`` defaults, per consumer, to its long-poll wait plus the breaker's open
    timeout plus a minute.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        stuck_after: float | None = None,
        breaker_timeout: float = 60.0,
    ) -> None:
        if stuck_after is not None:
            _check_timeout_range(stuck_after)
        self._clock = clock or SystemClock()
        self._stuck_after = stuck_after
        self._breaker_timeout = breaker_timeout
        self._consumers: dict[int, tuple[Consumer, list[float | None]]] = {}

    def watch(self, consumer: Consumer) -> None:
        """Follow ``consumer``'s poll loop (subscribes to its events)."""
        # None until a check first sees the consumer running: a consumer started long after it
        # was created must not look stuck before its first receive.
        seen: list[float | None] = [None]
        self._consumers[id(consumer)] = (consumer, seen)
        clock = self._clock

        def on_event(event: ConsumerEvent) -> None:
            seen[0] = clock.monotonic()

        consumer.subscribe(on_event, _LOOP_EVENTS)

    def _limit(self, consumer: Consumer) -> float:
        if self._stuck_after is not None:
            return self._stuck_after
        options = consumer.options
        return (
            options.wait_time_seconds
            + options.polling_interval / 1000
            + (self._breaker_timeout + 60.0)
        )

    def __call__(self) -> dict[str, Any]:
        now = self._clock.monotonic()
        stuck: list[str] = []
        details: dict[str, Any] = {}
        running = 0
        for consumer, seen in list(self._consumers.values()):
            if not consumer.running:
                continue
            running += 1
            options = consumer.options
            room = consumer.in_flight < options.effective_concurrency + options.effective_prefetch
            last = seen[0]
            if last is None:
                seen[0] = last = now
            idle = now - last
            if room and idle > self._limit(consumer):
                stuck.append(consumer.queue)
                details[consumer.queue] = {
                    "stuck_for": round(idle, 3),
                    "in_flight": consumer.in_flight,
                }
        details["running_consumers"] = running
        if stuck:
            details["stuck"] = stuck
            return {"status": "unhealthy", "details": details}
        return {"status": "healthy", "details": details}


def _check_timeout_range(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"stuck_after must be a positive number of seconds, got {value!r}")


def worst(statuses: Iterable[str]) -> Status:
    """The worst of some statuses (``healthy`` when there are none)."""
    rank = max((_RANK.get(s, 2) for s in statuses), default=0)
    return _STATUSES[rank]  # type: ignore[return-value]  # one of the three names
