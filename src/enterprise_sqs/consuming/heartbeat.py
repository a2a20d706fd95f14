"""The visibility heartbeat: messages a consumer holds stay hidden while their handlers run.

One task per consumer wakes every ``visibility · (1 - fraction) / 3`` seconds (at least 50 ms,
at most 10 s) and, for every held message that has used more than ``fraction`` of its visibility
timeout, sets its visibility to the full timeout again, counted from now, in batches of 10. It
never extends past SQS's limit of 12 hours since the message was received. A refused extension is
logged, counted (``heartbeat_failures``) and reported as a ``heartbeat_failed`` event; the
message then becomes visible when its current timeout ends, and may be handled twice.

Messages already settled (deleted, retried, released) are skipped: extending a retried message
would undo its backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.consuming.context import InFlight
from enterprise_sqs.consuming.events import ConsumerEvent, ConsumerStats, EventBus
from enterprise_sqs.consuming.options import MAX_VISIBILITY
from enterprise_sqs.errors import ConfigurationError, EnterpriseSQSError
from enterprise_sqs.models import ChangeVisibilityEntry
from enterprise_sqs.queues import QueueInfo

__all__ = ["Heartbeat"]

logger = logging.getLogger(__name__)


class Heartbeat:
    """Extends the visibility of the messages in ``held`` (receipt handle → record)."""

    def __init__(
        self,
        backend: Backend,
        queue: QueueInfo,
        held: Mapping[str, InFlight],
        stats: ConsumerStats,
        events: EventBus,
        *,
        visibility: int,
        fraction: float,
    ) -> None:
        self._backend = backend
        self._queue = queue
        self._held = held
        self._stats = stats
        self._events = events
        self.visibility = visibility
        self._threshold = visibility * (1.0 - fraction)
        self.interval = min(10.0, max(0.05, self._threshold / 3))

    async def run(self) -> None:
        """Beat until cancelled."""
        if self.visibility < 1:
            return  # nothing to keep hidden: the queue hands messages out with no timeout
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            now = loop.time()
            due = [
                r
                for r in list(self._held.values())
                if not r.settled and r.expires_at - now <= self._threshold
            ]
            for start in range(0, len(due), 10):
                await self._extend_batch(due[start : start + 10], now)

    def _allowed(self, record: InFlight, now: float, seconds: int) -> int:
        # SQS refuses a visibility that ends more than 12 hours after the first receive.
        remaining = int(MAX_VISIBILITY - (now - record.received_at)) - 1
        return max(0, min(seconds, remaining))

    async def _extend_batch(self, records: list[InFlight], now: float) -> None:
        seconds = [self._allowed(r, now, self.visibility) for r in records]
        chosen = [(r, s) for r, s in zip(records, seconds, strict=True) if s > 0]
        if not chosen:
            return
        entries = [
            ChangeVisibilityEntry(
                id=str(i), receipt_handle=r.message.receipt_handle, visibility_timeout=s
            )
            for i, (r, s) in enumerate(chosen)
        ]
        try:
            result = await self._backend.change_visibility_batch(self._queue.url, entries)
        except EnterpriseSQSError as exc:
            for record, _ in chosen:
                self._failed(record, exc)
            return
        failed = {f.id: f for f in result.failed}
        for i, (record, s) in enumerate(chosen):
            failure = failed.get(str(i))
            if failure is None:
                record.expires_at = now + s
                self._stats.heartbeats += 1
            else:
                self._failed(record, failure.to_exception())

    async def extend(self, record: InFlight, seconds: int) -> None:
        """A handler's own ``context.extend_visibility(seconds)``.

        Raises:
            ConfigurationError: ``seconds`` is not an int from 0 to 43200.
            SQSError: SQS refused the change.
        """
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not 0 <= seconds <= MAX_VISIBILITY
        ):
            raise ConfigurationError(
                f"extend_visibility takes whole seconds from 0 to {MAX_VISIBILITY}, got {seconds!r}"
            )
        now = asyncio.get_running_loop().time()
        await self._backend.change_visibility(
            self._queue.url, record.message.receipt_handle, seconds
        )
        record.expires_at = now + seconds
        self._stats.heartbeats += 1

    def _failed(self, record: InFlight, error: BaseException) -> None:
        self._stats.heartbeat_failures += 1
        logger.warning(
            "could not extend the visibility of a message; it may be delivered again",
            extra={
                "queue": self._queue.name,
                "message_id": record.message.message_id,
                "error": repr(error),
            },
        )
        if self._events.wants("heartbeat_failed"):
            self._events.emit(
                ConsumerEvent(
                    kind="heartbeat_failed",
                    queue=self._queue.name,
                    message_id=record.message.message_id,
                    error=error,
                )
            )
