"""The retry budget: a token bucket that keeps an outage from turning into a retry storm.

Retries spend tokens; the bucket refills two ways:

- every successful call adds ``ratio`` tokens (0.2: retries may add at most 20% on top of the
  calls that succeed), and
- a floor of ``min_per_second`` tokens per second, so a client that has seen no success for a
  while can still probe with a few retries.

The bucket holds at most ``capacity`` tokens and starts full. A retry that finds less than one
token is not made: the caller gets the original error at once. Over any interval of ``t``
seconds a client therefore makes at most ``capacity + min_per_second·t + ratio·successes``
retries, however many calls fail.
"""

from __future__ import annotations

import threading

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.config import RetryConfig
from enterprise_sqs.errors import ConfigurationError

__all__ = ["RetryBudget"]


class RetryBudget:
    """A thread-safe token bucket for retries. See the module docstring.

    Raises:
        ConfigurationError: a negative ``ratio``/``min_per_second`` or ``capacity`` below 1.
    """

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_per_second: float = 10.0,
        capacity: float = 100.0,
        clock: Clock | None = None,
    ) -> None:
        for name, value, low in (
            ("ratio", ratio, 0.0),
            ("min_per_second", min_per_second, 0.0),
            ("capacity", capacity, 1.0),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= low:
                raise ConfigurationError(
                    f"RetryBudget.{name} must be a number ≥ {low:g}, got {value!r}"
                )
        self.ratio = float(ratio)
        self.min_per_second = float(min_per_second)
        self.capacity = float(capacity)
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._refilled_at = self._clock.monotonic()

    @classmethod
    def from_config(cls, config: RetryConfig, *, clock: Clock | None = None) -> RetryBudget:
        return cls(
            ratio=config.budget_ratio,
            min_per_second=config.budget_min_per_second,
            capacity=config.budget_capacity,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio}, min_per_second={self.min_per_second}, "
            f"capacity={self.capacity}, available={self.available:.2f})"
        )

    @property
    def available(self) -> float:
        """Tokens in the bucket now."""
        with self._lock:
            self._refill_locked()
            return self._tokens

    def record_success(self) -> None:
        """A call succeeded: earn ``ratio`` tokens."""
        with self._lock:
            self._refill_locked()
            self._tokens = min(self.capacity, self._tokens + self.ratio)

    def try_spend(self) -> bool:
        """Take one token for a retry; ``False`` (and nothing taken) if less than one is left."""
        with self._lock:
            self._refill_locked()
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def _refill_locked(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._refilled_at)
        self._refilled_at = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.min_per_second)
