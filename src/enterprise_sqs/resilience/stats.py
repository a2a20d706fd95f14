"""Counters for the resilience layer, kept exact under concurrency, for the metrics exporter.

One :class:`ResilienceStats` belongs to a resilient client; its retry policy and breakers add to
it. :meth:`ResilienceStats.snapshot` returns plain numbers the observability layer exports.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

__all__ = ["ResilienceStats", "ResilienceStatsSnapshot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResilienceStatsSnapshot:
    """Counts since the client was created (or :meth:`ResilienceStats.reset`).

    Attributes:
        calls: operations callers asked for.
        attempts: requests sent to the backend (first tries and retries).
        successes: operations that returned (a batch with failed entries included).
        failures: operations that raised to the caller.
        retries: attempts that were retries (whole requests and re-batched entries).
        retried_entries: batch entries sent again.
        budget_exhausted: retries not made because the retry budget was empty.
        deadline_exceeded: retries not made because the deadline would have passed.
        rejections: calls the circuit breaker refused (CircuitOpenError).
        opened, half_opened, closed: breaker transitions into each state.
    """

    calls: int = 0
    attempts: int = 0
    successes: int = 0
    failures: int = 0
    retries: int = 0
    retried_entries: int = 0
    budget_exhausted: int = 0
    deadline_exceeded: int = 0
    rejections: int = 0
    opened: int = 0
    half_opened: int = 0
    closed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ResilienceStats:
    """Thread-safe counters; ``add("retries")`` and friends, ``snapshot()`` to read them."""

    _NAMES = frozenset(ResilienceStatsSnapshot.__dataclass_fields__)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self._NAMES, 0)

    def add(self, name: str, amount: int = 1) -> None:
        """Raises: KeyError for a counter that does not exist (a bug, not a user error)."""
        if name not in self._NAMES:
            raise KeyError(name)
        with self._lock:
            self._counts[name] += amount

    def snapshot(self) -> ResilienceStatsSnapshot:
        with self._lock:
            return ResilienceStatsSnapshot(**self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(self._NAMES, 0)

    def __repr__(self) -> str:
        return f"ResilienceStats({self.snapshot().as_dict()})"
