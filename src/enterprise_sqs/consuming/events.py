"""Consumer counters (:class:`ConsumerStats`) and events users subscribe to (:class:`EventBus`).

Counters are plain integers updated from the consumer's event loop only, so reading them needs no
lock; :meth:`ConsumerStats.snapshot` gives the frozen numbers the observability layer exports.

Events are frozen :class:`ConsumerEvent` values handed to observers synchronously; an observer
that raises is logged and otherwise ignored — it can never change a message's fate. Nothing is
built when nobody listens. Metrics do not listen: a :class:`ConsumerMeter` is told each outcome
with a plain call instead, which costs a fraction of building an event per message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Literal, Protocol

from enterprise_sqs.events import EventBus as _EventBus

__all__ = [
    "EVENT_KINDS",
    "ConsumerEvent",
    "ConsumerMeter",
    "ConsumerStats",
    "ConsumerStatsSnapshot",
    "EventBus",
    "EventKind",
    "Observer",
]

logger = logging.getLogger(__name__)

EventKind = Literal[
    "received",
    "processed",
    "failed",
    "retried",
    "dead_lettered",
    "discarded",
    "denied",
    "timed_out",
    "released",
    "empty_poll",
    "poll_failed",
    "heartbeat_failed",
    "stopped",
]
EVENT_KINDS: frozenset[str] = frozenset(EventKind.__args__)  # type: ignore[attr-defined]  # Literal's members


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerEvent:
    """Something that happened in a consumer.

    Attributes:
        kind: one of :data:`EVENT_KINDS`.
        queue: the queue's name.
        message_id: the message concerned (``None`` for poll and lifecycle events).
        receive_count: the message's receive count, when known.
        error: the exception involved (a handler's error, a failed SQS call).
        duration: seconds the handler ran (``processed``, ``failed``, ``timed_out``).
        delay: the visibility set for a retry, in seconds (``retried``).
        count: messages concerned (``received``: messages in the receive).
    """

    kind: EventKind
    queue: str
    message_id: str | None = None
    receive_count: int | None = None
    error: BaseException | None = None
    duration: float | None = None
    delay: int | None = None
    count: int = 1


Observer = Callable[[ConsumerEvent], object]


class ConsumerMeter(Protocol):
    """Counts a consumer's outcomes for one queue (the client's metrics implement it, see
    :class:`enterprise_sqs.observability.metrics.QueueMeter`). Told every outcome an event
    would describe (same ``kind``, ``duration`` and ``count``), whether or not anyone
    subscribed; it must be cheap and must not raise."""

    def record(self, kind: str, duration: float | None = None, count: int = 1) -> None: ...


class EventBus(_EventBus[ConsumerEvent]):
    """The consumer's observers by event kind (see :class:`enterprise_sqs.events.EventBus`)."""

    def __init__(self) -> None:
        super().__init__(EVENT_KINDS, source="consumer")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerStatsSnapshot:
    """Counts since the consumer was created.

    Attributes:
        received: messages received.
        processed: messages handled successfully (and deleted or being deleted).
        failed: handler failures of any kind (retried, dead-lettered, discarded, timed out).
        retried: messages returned to the queue for another attempt (visibility set by backoff).
        dead_lettered: non-retryable messages sent to the queue's dead-letter queue.
        discarded: non-retryable messages deleted because the queue has no dead-letter queue.
        timed_out: handlers that ran past ``handler_timeout``.
        denied: messages the consumer's ``policy`` refused (dead-lettered or deleted unhandled).
        released: messages returned unprocessed (FIFO group stopped, shutdown) with visibility 0.
        empty_polls: receives that returned nothing.
        poll_errors: receives that failed.
        heartbeats: visibility extensions made by the heartbeat or ``extend_visibility``.
        heartbeat_failures: extensions SQS refused.
        settle_failures: deletes or visibility changes SQS refused (the message comes back).
        in_flight: messages held right now (received, not yet settled).
        processing_seconds: total time spent in handlers.
        max_processing_seconds: the longest handler run.
    """

    received: int = 0
    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    discarded: int = 0
    timed_out: int = 0
    denied: int = 0
    released: int = 0
    empty_polls: int = 0
    poll_errors: int = 0
    heartbeats: int = 0
    heartbeat_failures: int = 0
    settle_failures: int = 0
    in_flight: int = 0
    processing_seconds: float = 0.0
    max_processing_seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


_FIELDS = tuple(f.name for f in fields(ConsumerStatsSnapshot))


class ConsumerStats:
    """The live counters of one consumer (same names as :class:`ConsumerStatsSnapshot`)."""

    __slots__ = _FIELDS

    def __init__(self) -> None:
        for name in _FIELDS:
            setattr(self, name, 0)
        self.processing_seconds = 0.0
        self.max_processing_seconds = 0.0

    # Declared for the type checker; __slots__ holds the values.
    received: int
    processed: int
    failed: int
    retried: int
    dead_lettered: int
    discarded: int
    timed_out: int
    denied: int
    released: int
    empty_polls: int
    poll_errors: int
    heartbeats: int
    heartbeat_failures: int
    settle_failures: int
    in_flight: int
    processing_seconds: float
    max_processing_seconds: float

    def add_processing_time(self, seconds: float) -> None:
        self.processing_seconds += seconds
        if seconds > self.max_processing_seconds:
            self.max_processing_seconds = seconds

    def snapshot(self) -> ConsumerStatsSnapshot:
        return ConsumerStatsSnapshot(**{name: getattr(self, name) for name in _FIELDS})

    def __repr__(self) -> str:
        return f"ConsumerStats({self.snapshot().as_dict()})"
