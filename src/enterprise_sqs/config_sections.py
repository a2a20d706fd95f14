"""The sections of :class:`~enterprise_sqs.config.EnterpriseSQSConfig`: circuit breaker, retry
and logging, each a frozen, keyword-only, validated value (re-exported by
:mod:`enterprise_sqs.config`, where the loaders and the units are described).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from enterprise_sqs.errors import ConfigurationError

__all__ = [
    "CircuitBreakerConfig",
    "LoggingConfig",
    "RetryConfig",
    "Seconds",
    "set_fields",
]

_DAY = 86_400.0
_LEVELS = ("debug", "info", "warning", "error", "critical")

Seconds = float | timedelta


# -- validation helpers ---------------------------------------------------------------------------


def _seconds(
    where: str, value: object, *, low: float, high: float, allow_zero: bool = False
) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"{where} must be a number of seconds or a timedelta, got {value!r}"
        )
    number = float(value)
    lower_ok = number >= low if allow_zero else number > low
    if math.isnan(number) or not lower_ok or number > high:
        bound = "≥" if allow_zero else ">"
        raise ConfigurationError(
            f"{where} must be {bound} {low:g} and ≤ {high:g} seconds, got {value!r}"
        )
    return number


def _integer(where: str, value: object, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{where} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigurationError(f"{where} must be between {low} and {high}, got {value!r}")
    return value


def _number(where: str, value: object, *, low: float, high: float, open_low: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{where} must be a number, got {value!r}")
    number = float(value)
    lower_ok = number > low if open_low else number >= low
    if math.isnan(number) or not lower_ok or number > high:
        bound = ">" if open_low else "≥"
        raise ConfigurationError(f"{where} must be {bound} {low:g} and ≤ {high:g}, got {value!r}")
    return number


def _boolean(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where} must be true or false, got {value!r}")
    return value


def set_fields(obj: object, **values: object) -> None:
    """Assign fields of a frozen dataclass from its own ``__init__``."""
    # Frozen dataclasses with a hand-written __init__ (to accept timedelta and normalise to
    # float seconds) must assign through object.__setattr__.
    for key, value in values.items():
        object.__setattr__(obj, key, value)


# -- the sections ---------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class CircuitBreakerConfig:
    """How a :class:`~enterprise_sqs.resilience.CircuitBreaker` trips and recovers.

    Args:
        failure_threshold: failures within ``monitoring_period`` that open the breaker (1-10000).
        timeout: seconds the breaker stays OPEN before one probe may pass (HALF_OPEN).
        monitoring_period: the rolling window, in seconds, failures are counted in.
        half_open_max_calls: probes allowed at the same time while HALF_OPEN (1-1000).
        success_threshold: successful probes that close the breaker again (1-1000).
        failure_rate_threshold: optionally also open when this fraction (0-1] of the calls in
            the window failed, once the window holds at least ``minimum_throughput`` calls.
        minimum_throughput: calls the window must hold before the rate rule applies.
        probe_timeout: seconds a HALF_OPEN probe may hold its slot (default: ``timeout``); a
            probe that never finishes gives its slot back then, so the breaker cannot get stuck.
        enabled: ``False`` lets every call through and records nothing.
    """

    failure_threshold: int
    timeout: float
    monitoring_period: float
    half_open_max_calls: int
    success_threshold: int
    failure_rate_threshold: float | None
    minimum_throughput: int
    probe_timeout: float | None
    enabled: bool

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        timeout: Seconds = 60.0,
        monitoring_period: Seconds = 10.0,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
        failure_rate_threshold: float | None = None,
        minimum_throughput: int = 20,
        probe_timeout: Seconds | None = None,
        enabled: bool = True,
    ) -> None:
        w = "circuit_breaker."
        set_fields(
            self,
            failure_threshold=_integer(
                w + "failure_threshold", failure_threshold, low=1, high=10_000
            ),
            timeout=_seconds(w + "timeout", timeout, low=0.0, high=_DAY),
            monitoring_period=_seconds(
                w + "monitoring_period", monitoring_period, low=0.0, high=_DAY
            ),
            half_open_max_calls=_integer(
                w + "half_open_max_calls", half_open_max_calls, low=1, high=1000
            ),
            success_threshold=_integer(
                w + "success_threshold", success_threshold, low=1, high=1000
            ),
            failure_rate_threshold=None
            if failure_rate_threshold is None
            else _number(
                w + "failure_rate_threshold",
                failure_rate_threshold,
                low=0.0,
                high=1.0,
                open_low=True,
            ),
            minimum_throughput=_integer(
                w + "minimum_throughput", minimum_throughput, low=1, high=10_000_000
            ),
            probe_timeout=None
            if probe_timeout is None
            else _seconds(w + "probe_timeout", probe_timeout, low=0.0, high=_DAY),
            enabled=_boolean(w + "enabled", enabled),
        )

    @property
    def effective_probe_timeout(self) -> float:
        return self.timeout if self.probe_timeout is None else self.probe_timeout


@dataclass(frozen=True, init=False)
class RetryConfig:
    """How failed calls are retried: exponential backoff with full jitter, bounded three ways.

    The n-th retry (n = 0, 1, ...) waits ``uniform(0, min(max_backoff, initial_delay *
    backoff_multiplier ** n))`` seconds.

    Args:
        max_retries: retries after the first attempt (0-100; 0 disables retrying).
        initial_delay: the backoff ceiling for the first retry, in seconds (0-3600).
        backoff_multiplier: growth of the ceiling per retry (1-100).
        max_backoff: the largest ceiling, in seconds (≥ initial_delay, ≤ 3600).
        deadline: no retry starts if its backoff would end more than this many seconds after
            the first attempt began (``None``: no deadline).
        budget_ratio: retries earned per successful call (0-10; 0.2 = retries add at most 20%).
        budget_min_per_second: retries always allowed per second regardless (the floor).
        budget_capacity: the most retry tokens that can be saved up (≥ 1).
    """

    max_retries: int
    initial_delay: float
    backoff_multiplier: float
    max_backoff: float
    deadline: float | None
    budget_ratio: float
    budget_min_per_second: float
    budget_capacity: float

    def __init__(
        self,
        *,
        max_retries: int = 3,
        initial_delay: Seconds = 0.1,
        backoff_multiplier: float = 2.0,
        max_backoff: Seconds = 20.0,
        deadline: Seconds | None = None,
        budget_ratio: float = 0.2,
        budget_min_per_second: float = 10.0,
        budget_capacity: float = 100.0,
    ) -> None:
        w = "retry."
        initial = _seconds(
            w + "initial_delay", initial_delay, low=0.0, high=3600.0, allow_zero=True
        )
        cap = _seconds(w + "max_backoff", max_backoff, low=0.0, high=3600.0, allow_zero=True)
        if cap < initial:
            raise ConfigurationError(
                f"retry.max_backoff ({cap:g} s) must be ≥ retry.initial_delay ({initial:g} s)"
            )
        set_fields(
            self,
            max_retries=_integer(w + "max_retries", max_retries, low=0, high=100),
            initial_delay=initial,
            backoff_multiplier=_number(
                w + "backoff_multiplier", backoff_multiplier, low=1.0, high=100.0, open_low=False
            ),
            max_backoff=cap,
            deadline=None
            if deadline is None
            else _seconds(w + "deadline", deadline, low=0.0, high=_DAY),
            budget_ratio=_number(
                w + "budget_ratio", budget_ratio, low=0.0, high=10.0, open_low=False
            ),
            budget_min_per_second=_number(
                w + "budget_min_per_second",
                budget_min_per_second,
                low=0.0,
                high=1e6,
                open_low=False,
            ),
            budget_capacity=_number(
                w + "budget_capacity", budget_capacity, low=1.0, high=1e9, open_low=False
            ),
        )


@dataclass(frozen=True, init=False)
class LoggingConfig:
    """Logging preferences for applications and the ``esqs`` CLI.

    The library itself never configures logging (it only logs through ``logging.getLogger``);
    these values are read by the CLI and by the opt-in JSON logging helper.

    Args:
        level: ``debug``, ``info``, ``warning``, ``error`` or ``critical`` (any case).
        structured: emit one JSON object per line instead of text.
    """

    level: Literal["debug", "info", "warning", "error", "critical"]
    structured: bool

    def __init__(self, *, level: str = "info", structured: bool = False) -> None:
        if not isinstance(level, str) or level.lower() not in _LEVELS:
            raise ConfigurationError(
                f"logging.level must be one of {', '.join(_LEVELS)}, got {level!r}"
            )
        set_fields(self, level=level.lower(), structured=_boolean("logging.structured", structured))
