"""What a handler knows about the message it handles: :class:`MessageContext`.

Also the consumer's own record of a message it holds (:class:`InFlight`): when its visibility
ends, whether it has been settled. One of each per received message, so both are slotted and
compute their derived values only when asked.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from enterprise_sqs.models import MessageAttributeValue, ReceivedMessage
from enterprise_sqs.queues import QueueInfo

__all__ = ["InFlight", "MessageContext"]

_UNSET: Any = object()


class InFlight:
    """A received message the consumer holds until it is deleted, retried or released.

    ``expires_at`` is when its visibility timeout ends (event-loop time); the heartbeat extends
    it. ``received_at`` bounds the extensions (SQS allows 12 hours in total).
    """

    __slots__ = ("expires_at", "message", "received_at", "settled")

    def __init__(self, message: ReceivedMessage, received_at: float, visibility: float) -> None:
        self.message = message
        self.received_at = received_at
        self.expires_at = received_at + visibility
        self.settled = False


def _timestamp(value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(value) / 1000, tz=datetime.UTC)
    except ValueError:
        return None


class MessageContext:
    """Everything about one received message except its decoded body (``message``, which
    batch handlers also find here).

    Attributes:
        message_id, receipt_handle, body: as SQS sent them (``body`` undecoded).
        receive_count: ``ApproximateReceiveCount`` (1 on the first delivery).
        group_id, sequence_number, deduplication_id: FIFO attributes (``None`` elsewhere).
        attributes: every system attribute by its SQS name.
        message_attributes: the message attributes the sender set.
        sent_timestamp, first_receive_timestamp: aware UTC datetimes.
        queue: the queue (URL, name, ARN, FIFO or not).
    """

    __slots__ = ("_extend", "_record", "message", "queue")

    def __init__(
        self,
        record: InFlight,
        queue: QueueInfo,
        extend: Callable[[InFlight, int], Awaitable[None]],
        message: Any = _UNSET,
    ) -> None:
        self._record = record
        self._extend = extend
        self.queue = queue
        self.message = None if message is _UNSET else message

    def __repr__(self) -> str:
        return (
            f"MessageContext(message_id={self.message_id!r}, queue={self.queue.name!r}, "
            f"receive_count={self.receive_count})"
        )

    @property
    def message_id(self) -> str:
        return self._record.message.message_id

    @property
    def receipt_handle(self) -> str:
        return self._record.message.receipt_handle

    @property
    def body(self) -> str:
        return self._record.message.body

    @property
    def attributes(self) -> Mapping[str, str]:
        return self._record.message.attributes

    @property
    def message_attributes(self) -> Mapping[str, MessageAttributeValue]:
        return self._record.message.message_attributes

    @property
    def receive_count(self) -> int:
        raw = self._record.message.attributes.get("ApproximateReceiveCount", "1")
        return int(raw) if raw.isdigit() else 1

    @property
    def group_id(self) -> str | None:
        return self._record.message.attributes.get("MessageGroupId")

    @property
    def sequence_number(self) -> str | None:
        return self._record.message.attributes.get("SequenceNumber")

    @property
    def deduplication_id(self) -> str | None:
        return self._record.message.attributes.get("MessageDeduplicationId")

    @property
    def sent_timestamp(self) -> datetime.datetime | None:
        return _timestamp(self._record.message.attributes.get("SentTimestamp"))

    @property
    def first_receive_timestamp(self) -> datetime.datetime | None:
        return _timestamp(self._record.message.attributes.get("ApproximateFirstReceiveTimestamp"))

    async def extend_visibility(self, seconds: int) -> None:
        """Keep the message hidden from other consumers for ``seconds`` more, from now.

        Raises:
            ConfigurationError: ``seconds`` is not an int from 0 to 43200.
            SQSError: SQS refused (e.g. the 12-hour limit since the first receive).
        """
        await self._extend(self._record, seconds)
