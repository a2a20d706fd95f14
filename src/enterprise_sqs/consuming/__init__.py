"""Consuming: a consumer with concurrency, FIFO groups, visibility heartbeat, retries with
backoff, dead-lettering and graceful shutdown.

- :class:`Consumer` (:mod:`.consumer`): lifecycle and the poll loop;
- :class:`ConsumerOptions` (:mod:`.options`): the seed's ``createConsumer`` settings;
- :class:`MessageContext` (:mod:`.context`): what a handler knows about its message;
- :class:`ConsumerStats`, :class:`ConsumerEvent` (:mod:`.events`): counters and events;
- :mod:`.scheduler`, :mod:`.worker`, :mod:`.settle`, :mod:`.heartbeat`, :mod:`.decode`: the parts.

Handlers raise :class:`~enterprise_sqs.errors.ValidationError` (never retried),
:class:`~enterprise_sqs.errors.Retry` (retry after ``delay``) or anything else (retry with
backoff).
"""

from enterprise_sqs.consuming.consumer import Consumer
from enterprise_sqs.consuming.context import MessageContext
from enterprise_sqs.consuming.events import (
    EVENT_KINDS,
    ConsumerEvent,
    ConsumerStats,
    ConsumerStatsSnapshot,
    EventKind,
)
from enterprise_sqs.consuming.options import ConsumerOptions, ProcessingMode
from enterprise_sqs.consuming.settle import retry_delay

__all__ = [
    "EVENT_KINDS",
    "Consumer",
    "ConsumerEvent",
    "ConsumerOptions",
    "ConsumerStats",
    "ConsumerStatsSnapshot",
    "EventKind",
    "MessageContext",
    "ProcessingMode",
    "retry_delay",
]
