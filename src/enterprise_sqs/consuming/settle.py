"""Settling messages: what happens to a message once its handler has decided its fate.

- success → deleted, in batches of up to 10 (entries wait at most ``linger`` for company);
- retryable failure → its visibility is set to the retry delay (batched the same way), so the
  next attempt comes after the backoff rather than after the whole visibility timeout; after the
  queue's ``maxReceiveCount`` SQS itself moves it to the dead-letter queue;
- non-retryable failure → the original body and attributes are sent to the queue's dead-letter
  queue, then the message is deleted; with no dead-letter queue it is deleted, logged and counted;
- released (unprocessed: a FIFO group stopped, a shutdown) → visibility 0, available at once.

The retry delay is exponential backoff with full jitter on the receive count ``n``::

    delay(n) = round(uniform(0, min(retry_max_delay, retry_base_delay · 2 ** (n - 1))))

(whole seconds, because SQS visibility is). In test mode (:func:`set_testing`) it is 0.

Nothing here drops a message silently: a delete or change SQS refuses is logged and counted, and
the message simply comes back when its visibility ends (at-least-once delivery).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Callable
from typing import Any

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.consuming.context import InFlight
from enterprise_sqs.consuming.events import ConsumerStats
from enterprise_sqs.consuming.options import MAX_VISIBILITY
from enterprise_sqs.errors import EnterpriseSQSError
from enterprise_sqs.models import ChangeVisibilityEntry, DeleteEntry, SendEntry
from enterprise_sqs.queues import QueueInfo
from enterprise_sqs.resilience.retry import is_testing

__all__ = ["Settler", "retry_delay"]

logger = logging.getLogger(__name__)

_BATCH = 10


def retry_delay(
    receive_count: int,
    *,
    base: float,
    cap: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> int:
    """Seconds of visibility before retry number ``receive_count`` (see the module docstring)."""
    if is_testing() or base <= 0 or cap <= 0:
        return 0
    exponent = max(0, receive_count - 1)
    # Compare in log space: 2 ** exponent overflows long before receive counts get large.
    ceiling = cap if exponent * math.log(2) >= math.log(cap / base) else base * 2**exponent
    return min(MAX_VISIBILITY, round(uniform(0.0, min(cap, ceiling))))


def dead_letter_target(redrive_policy: str | None) -> str | None:
    """The dead-letter queue's name from a RedrivePolicy (its ARN's last segment), if any."""
    if not redrive_policy:
        return None
    try:
        arn = json.loads(redrive_policy).get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return None
    return arn.rsplit(":", 1)[-1] if isinstance(arn, str) and arn else None


class Settler:
    """Deletes, visibility changes and dead-lettering for one consumer's queue.

    ``on_settled(record)`` is called once per message when the consumer no longer holds it.
    """

    def __init__(
        self,
        backend: Backend,
        queue: QueueInfo,
        stats: ConsumerStats,
        on_settled: Callable[[InFlight], None],
        *,
        linger: float = 0.002,
    ) -> None:
        self._backend = backend
        self._queue = queue
        self._stats = stats
        self._on_settled = on_settled
        self._linger = linger
        self._deletes: list[InFlight] = []
        self._changes: list[tuple[InFlight, int]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._dlq_url: str | None = None
        self._dlq_lock = asyncio.Lock()

    # -- the fates --------------------------------------------------------------------------------

    def delete(self, record: InFlight) -> None:
        record.settled = True
        self._deletes.append(record)
        if len(self._deletes) >= _BATCH:
            batch, self._deletes = self._deletes[:_BATCH], self._deletes[_BATCH:]
            self._spawn(self._delete_batch(batch))
        else:
            self._arm()

    def change(self, record: InFlight, seconds: int) -> None:
        """Set the visibility of a message we give back (retry delay, or 0 to release it)."""
        record.settled = True
        self._changes.append((record, seconds))
        if len(self._changes) >= _BATCH:
            batch, self._changes = self._changes[:_BATCH], self._changes[_BATCH:]
            self._spawn(self._change_batch(batch))
        else:
            self._arm()

    async def dead_letter(self, record: InFlight, error: BaseException) -> str:
        """Send a non-retryable message to the DLQ and delete it (or just delete it if the
        queue has no DLQ). Returns ``"dead_lettered"`` or ``"discarded"``; if the DLQ refuses,
        the message is retried instead and ``"retried"`` is returned."""
        message = record.message
        try:
            dlq = await self._dead_letter_url()
            if dlq is not None:
                await self._backend.send_message(
                    dlq,
                    SendEntry(
                        id="0",
                        body=message.body,
                        message_attributes=dict(message.message_attributes),
                        group_id=message.attributes.get("MessageGroupId")
                        if self._queue.fifo
                        else None,
                        deduplication_id=message.message_id if self._queue.fifo else None,
                    ),
                )
        except EnterpriseSQSError as exc:
            logger.error(
                "could not move a non-retryable message to the dead-letter queue; "
                "it will be retried instead",
                extra={"queue": self._queue.name, "message_id": message.message_id},
                exc_info=exc,
            )
            self._stats.settle_failures += 1
            self.change(record, 0 if is_testing() else 30)
            return "retried"
        self.delete(record)
        if dlq is None:
            logger.warning(
                "discarded a non-retryable message: queue %s has no dead-letter queue",
                self._queue.name,
                extra={
                    "queue": self._queue.name,
                    "message_id": message.message_id,
                    "error": repr(error),
                },
            )
            return "discarded"
        logger.info(
            "moved a non-retryable message to the dead-letter queue",
            extra={
                "queue": self._queue.name,
                "message_id": message.message_id,
                "error": repr(error),  # the reason (a CodecError says what failed to decode)
            },
        )
        return "dead_lettered"

    async def _dead_letter_url(self) -> str | None:
        name = dead_letter_target(self._queue.redrive_policy)
        if name is None:
            return None
        async with self._dlq_lock:
            if self._dlq_url is None:
                self._dlq_url = await self._backend.get_queue_url(name)
            return self._dlq_url

    # -- batching ---------------------------------------------------------------------------------

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._send_partial)

    def _send_partial(self) -> None:
        self._timer = None
        while self._deletes:
            batch, self._deletes = self._deletes[:_BATCH], self._deletes[_BATCH:]
            self._spawn(self._delete_batch(batch))
        while self._changes:
            changes, self._changes = self._changes[:_BATCH], self._changes[_BATCH:]
            self._spawn(self._change_batch(changes))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Send everything waiting and wait until SQS has answered every settle call."""
        if self._timer is not None:
            self._timer.cancel()
        self._send_partial()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _delete_batch(self, records: list[InFlight]) -> None:
        entries = [
            DeleteEntry(id=str(i), receipt_handle=r.message.receipt_handle)
            for i, r in enumerate(records)
        ]
        try:
            result = await self._backend.delete_batch(self._queue.url, entries)
        except EnterpriseSQSError as exc:
            self._settle_failed("delete", len(records), exc)
        else:
            for failure in result.failed:
                self._settle_failed("delete", 1, failure.to_exception())
        finally:
            for record in records:
                self._on_settled(record)

    async def _change_batch(self, changes: list[tuple[InFlight, int]]) -> None:
        entries = [
            ChangeVisibilityEntry(
                id=str(i), receipt_handle=r.message.receipt_handle, visibility_timeout=seconds
            )
            for i, (r, seconds) in enumerate(changes)
        ]
        try:
            result = await self._backend.change_visibility_batch(self._queue.url, entries)
        except EnterpriseSQSError as exc:
            self._settle_failed("change_visibility", len(changes), exc)
        else:
            for failure in result.failed:
                self._settle_failed("change_visibility", 1, failure.to_exception())
        finally:
            for record, _ in changes:
                self._on_settled(record)

    def _settle_failed(self, operation: str, count: int, error: BaseException) -> None:
        # The message is not lost: it becomes visible again when its visibility timeout ends.
        self._stats.settle_failures += count
        logger.warning(
            "%s failed for %d message(s); they will be delivered again",
            operation,
            count,
            extra={"queue": self._queue.name, "operation": operation, "error": repr(error)},
        )
