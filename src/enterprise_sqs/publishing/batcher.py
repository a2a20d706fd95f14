"""Auto-batching: concurrent sends gathered into SendMessageBatch requests.

A message waits at most ``linger`` seconds for company; a batch leaves as soon as it holds 10
entries or the next message would push it past ``max_batch_bytes``. Up to ``max_in_flight``
batches are sent at once, and every caller gets the outcome of its own message.

FIFO order within a message group survives batches in flight: a group with a batch in flight
is not put into another batch until that one is answered, and entries keep their submission
order inside a batch (SQS enqueues a batch in order). Different groups still go in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import EnterpriseSQSError, error_for_code
from enterprise_sqs.models import MessageAttributeValue, SendEntry, SendSuccess

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_ENTRIES", "Outgoing", "SendBatcher", "SendOutcome"]

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576

SendOutcome = SendSuccess | EnterpriseSQSError


@dataclass(slots=True, eq=False)
class Outgoing:
    """One message waiting to be sent, with the future its caller awaits."""

    body: str
    size: int
    message_attributes: Mapping[str, MessageAttributeValue] = field(default_factory=dict)
    system_attributes: Mapping[str, MessageAttributeValue] = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None
    delay_seconds: int | None = None
    future: asyncio.Future[SendOutcome] | None = None


class SendBatcher:
    """Batches sends to one queue. Use from one event loop."""

    def __init__(
        self,
        backend: Backend,
        queue_url: str,
        *,
        fifo: bool,
        linger: float = 0.005,
        max_in_flight: int = 8,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._backend = backend
        self._queue_url = queue_url
        self._fifo = fifo
        self._linger = linger
        self._max_in_flight = max_in_flight
        self._max_batch_bytes = max_batch_bytes
        self._pending: deque[Outgoing] = deque()
        self._busy_groups: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight = 0

    @property
    def pending(self) -> int:
        """Messages accepted but not yet answered (waiting or in flight)."""
        return len(self._pending) + self._in_flight

    async def submit(self, message: Outgoing) -> SendOutcome:
        """Queue ``message`` for the next batch and wait for its own outcome."""
        loop = asyncio.get_running_loop()
        message.future = loop.create_future()
        self._pending.append(message)
        self._dispatch(force=False)
        self._arm_timer()
        return await message.future

    async def flush(self) -> None:
        """Send everything waiting now, and return when every accepted message is answered."""
        while self._pending or self._tasks:
            self._dispatch(force=True)
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    def _arm_timer(self) -> None:
        if self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._on_linger)

    def _on_linger(self) -> None:
        self._timer = None
        self._dispatch(force=True)
        # What is left waits on a busy group or on max_in_flight: a finished batch dispatches
        # it, and the timer makes sure nothing waits much longer than the linger.
        self._arm_timer()

    def _dispatch(self, *, force: bool) -> None:
        while len(self._tasks) < self._max_in_flight and self._pending:
            batch = self._take(force=force)
            if not batch:
                return
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self, *, force: bool) -> list[Outgoing]:
        """The next batch in submission order, or [] if it should wait for more company."""
        chosen: list[Outgoing] = []
        size = 0
        full = False
        skipped = False
        blocked: set[str] = set()
        for message in self._pending:
            group = message.group_id if self._fifo else None
            if group is not None and (group in self._busy_groups or group in blocked):
                skipped = True
                continue
            if len(chosen) == MAX_BATCH_ENTRIES or size + message.size > self._max_batch_bytes:
                full = True
                break
            chosen.append(message)
            size += message.size
        if not chosen or not (force or full or len(chosen) == MAX_BATCH_ENTRIES):
            return []
        if skipped:
            # Messages of busy groups stay, in order; rebuilding is rare (FIFO with contention).
            taken = set(map(id, chosen))
            self._pending = deque(m for m in self._pending if id(m) not in taken)
        else:
            for _ in chosen:  # the batch is a prefix of the queue: O(batch), not O(pending)
                self._pending.popleft()
        if self._fifo:
            self._busy_groups.update(m.group_id for m in chosen if m.group_id is not None)
        self._in_flight += len(chosen)
        return chosen

    async def _send(self, batch: list[Outgoing]) -> None:
        entries = [
            SendEntry(
                id=str(index),
                body=message.body,
                delay_seconds=message.delay_seconds,
                message_attributes=message.message_attributes,
                system_attributes=message.system_attributes,
                group_id=message.group_id,
                deduplication_id=message.deduplication_id,
            )
            for index, message in enumerate(batch)
        ]
        try:
            result = await self._backend.send_batch(self._queue_url, entries)
        except EnterpriseSQSError as exc:
            for message in batch:
                _settle(message, exc)
        except BaseException as exc:
            # Not ours (a bug, or cancellation): callers must still hear that their message
            # was not sent, then the exception goes on.
            for message in batch:
                if message.future is not None and not message.future.done():
                    message.future.set_exception(exc)
            raise
        else:
            answered: dict[str, SendOutcome] = {s.id: s for s in result.successful}
            for failure in result.failed:
                answered[failure.id] = failure.to_exception()
            for index, message in enumerate(batch):
                outcome = answered.get(str(index))
                if outcome is None:
                    outcome = error_for_code(
                        "InternalError",
                        "the service answered the batch without a result for this message",
                        http_status=500,
                    )
                _settle(message, outcome)
        finally:
            self._in_flight -= len(batch)
            if self._fifo:
                self._busy_groups.difference_update(
                    m.group_id for m in batch if m.group_id is not None
                )
            with contextlib.suppress(RuntimeError):  # the loop may be closing
                self._dispatch(force=False)
                self._arm_timer()


def _settle(message: Outgoing, outcome: SendOutcome) -> None:
    if message.future is not None and not message.future.done():
        message.future.set_result(outcome)
