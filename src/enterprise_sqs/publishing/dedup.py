"""Deduplication ids and the client-side deduplication window.

The window remembers the deduplication keys published in the last ``window`` seconds (5 minutes,
as SQS FIFO) so a repeat is reported as ``duplicate=True`` without being sent. Memory is bounded:
at most ``max_entries`` keys, the oldest forgotten first.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.errors import ConfigurationError

__all__ = ["DeduplicationStrategy", "DeduplicationWindow", "content_deduplication_id"]

DeduplicationStrategy = Literal["content", "id"] | Callable[[Any], str]


def content_deduplication_id(body: str) -> str:
    """SHA-256 of the body, hex: what SQS computes for content-based deduplication."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class DeduplicationWindow:
    """Keys seen recently, each with the message id it was published as (``None`` while the
    first publish is still in flight)."""

    def __init__(
        self, *, window: float = 300.0, max_entries: int = 100_000, clock: Clock | None = None
    ) -> None:
        if not window > 0:
            raise ConfigurationError(f"deduplication window must be > 0 seconds, got {window!r}")
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be >= 1, got {max_entries!r}")
        self._window = window
        self._max_entries = max_entries
        self._clock = clock or SystemClock()
        self._seen: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, (seen_at, _) = next(iter(self._seen.items()))
            if now - seen_at < self._window:
                break
            del self._seen[key]

    def reserve(self, key: str) -> tuple[bool, str | None]:
        """Claim ``key``. Returns ``(True, None)`` when it is new, else ``(False, message_id)``."""
        now = self._clock.monotonic()
        self._expire(now)
        found = self._seen.get(key)
        if found is not None:
            return False, found[1]
        self._seen[key] = (now, None)
        while len(self._seen) > self._max_entries:
            self._seen.popitem(last=False)
        return True, None

    def confirm(self, key: str, message_id: str) -> None:
        """Record the message id a reserved key was published as."""
        found = self._seen.get(key)
        if found is not None:
            self._seen[key] = (found[0], message_id)

    def release(self, key: str) -> None:
        """Forget a reserved key whose publish failed, so a retry is not called a duplicate."""
        self._seen.pop(key, None)

    def clear(self) -> None:
        self._seen.clear()
