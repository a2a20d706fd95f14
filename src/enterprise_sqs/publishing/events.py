"""What publishers report: :class:`PublishEvent` to observers (tracing, backup, your code), and
each outcome to a :class:`PublishMeter` (metrics) without building an event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from enterprise_sqs.errors import EnterpriseSQSError
from enterprise_sqs.models import MessageAttributeValue

__all__ = [
    "PUBLISH_EVENT_KINDS",
    "PublishEvent",
    "PublishEventKind",
    "PublishMeter",
    "PublishTracer",
]

PublishEventKind = Literal["published", "failed", "duplicate"]
PUBLISH_EVENT_KINDS: frozenset[str] = frozenset(PublishEventKind.__args__)  # type: ignore[attr-defined]  # Literal's members


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishEvent:
    """One publish and its outcome.

    Attributes:
        kind: ``published`` (SQS accepted it), ``failed`` (``error`` says why) or ``duplicate``
            (the client-side window suppressed it; nothing was sent).
        queue: the queue's name; ``queue_url`` its URL (``None`` if it never resolved).
        message_id, sequence_number: what SQS answered.
        duration: seconds from the ``publish`` call to its result.
        body, message_attributes, group_id, deduplication_id: the message as sent (after codecs),
            for observers that keep copies (message backup).
    """

    kind: PublishEventKind
    queue: str
    queue_url: str | None = None
    message_id: str | None = None
    sequence_number: str | None = None
    error: EnterpriseSQSError | None = None
    duration: float = 0.0
    body: str | None = None
    message_attributes: Mapping[str, MessageAttributeValue] = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None


class PublishMeter(Protocol):
    """Counts a publisher's outcomes for one queue (the client's metrics implement it, see
    :class:`enterprise_sqs.observability.metrics.QueueMeter`). Called for every publish, so it
    must be cheap and must not raise. ``seconds``: from the ``publish`` call to its result."""

    def published(self, seconds: float) -> None: ...

    def publish_failed(self, seconds: float) -> None: ...

    def duplicate(self) -> None: ...


class PublishTracer(Protocol):
    """Traces a publisher's messages (the client's tracing implements it, see
    :class:`enterprise_sqs.observability.tracing.MessagingTracer`), without an event per message.
    ``send_started`` runs before the codecs and returns the message attributes to send (the trace
    context added) and a handle for ``send_ended``, which reports the outcome (``None``: nothing
    to end). Called for every publish, so both are cheap and must not raise."""

    def send_started(
        self,
        queue: str,
        body: str,
        message_attributes: Mapping[str, MessageAttributeValue],
    ) -> tuple[Mapping[str, MessageAttributeValue], Any]: ...

    def send_ended(
        self,
        span: Any,
        *,
        message_id: str | None = None,
        error: BaseException | None = None,
        duplicate: bool = False,
    ) -> None: ...
