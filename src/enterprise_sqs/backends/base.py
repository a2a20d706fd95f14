"""The backend protocol: the SQS API surface, batch-shaped, and nothing else.

Everything that is the same for every place messages live — batching, retries, the circuit
breaker, concurrency, codecs, metrics — sits above this boundary and is written once. A backend
only moves requests to a store and answers back:

- whole-request failures raise a :class:`~enterprise_sqs.errors.SQSError` subclass (foreign
  exceptions are translated here, at the boundary, and chained);
- partial batch failures are returned as data in a :class:`~enterprise_sqs.models.BatchResult`.

Queues are addressed by URL, exactly as in SQS; :meth:`Backend.get_queue_url` resolves a name.
Attribute dictionaries use SQS's attribute names and string values (``{"VisibilityTimeout":
"30"}``), so that what users read in the AWS documentation works unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from enterprise_sqs.models import (
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    MoveTask,
    QueuePage,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
)

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """An SQS-shaped message store: Amazon SQS, or the embedded engine.

    All methods may raise :class:`~enterprise_sqs.errors.SQSError` subclasses; after
    :meth:`aclose` every method raises :class:`~enterprise_sqs.errors.ClientClosedError`.
    """

    @property
    def name(self) -> str:
        """A short, credential-free description for logs (``memory://``, ``aws:eu-west-1``)."""
        ...

    # -- queues ---------------------------------------------------------------------------------

    async def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Create a queue (or return the URL of an identical existing one).

        Raises:
            QueueAlreadyExists: same name, different attributes.
            QueueDeletedRecently: the name was deleted less than 60 s ago.
            InvalidParameterValue / InvalidAttributeName / InvalidAttributeValue: bad input.
        """
        ...

    async def get_queue_url(self, name: str, *, owner_account_id: str | None = None) -> str:
        """Raises: QueueDoesNotExist."""
        ...

    async def delete_queue(self, queue_url: str) -> None:
        """Raises: QueueDoesNotExist."""
        ...

    async def list_queues(
        self,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        """One page of queue URLs; pass ``next_token`` back for the next page."""
        ...

    async def get_queue_attributes(
        self, queue_url: str, names: Sequence[str] = ("All",)
    ) -> dict[str, str]:
        """Raises: QueueDoesNotExist, InvalidAttributeName."""
        ...

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        """Raises: QueueDoesNotExist, InvalidAttributeName, InvalidAttributeValue."""
        ...

    async def purge_queue(self, queue_url: str) -> None:
        """Raises: QueueDoesNotExist, PurgeQueueInProgress (within 60 s of the last purge)."""
        ...

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None: ...

    async def untag_queue(self, queue_url: str, tag_keys: Sequence[str]) -> None: ...

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]: ...

    async def list_dead_letter_source_queues(
        self,
        queue_url: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        """The queues whose RedrivePolicy targets this queue."""
        ...

    # -- messages -------------------------------------------------------------------------------

    async def send_batch(
        self, queue_url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SendSuccess]:
        """SendMessageBatch: 1-10 entries, distinct ids, at most 1 MiB in all.

        Raises (whole request): EmptyBatchRequest, TooManyEntriesInBatchRequest,
        BatchEntryIdsNotDistinct, InvalidBatchEntryId, BatchRequestTooLong, QueueDoesNotExist.
        Per-entry errors (bad body, attributes, FIFO parameters) come back in ``failed``.
        """
        ...

    async def receive(
        self,
        queue_url: str,
        *,
        max_messages: int = 1,
        wait_time_seconds: int | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        receive_request_attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        """ReceiveMessage. ``wait_time_seconds=None`` uses the queue's
        ``ReceiveMessageWaitTimeSeconds``; a long poll answers as soon as a message is available.

        Raises: QueueDoesNotExist, InvalidParameterValue (out-of-range numbers), OverLimit.
        """
        ...

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        """DeleteMessageBatch; ``successful`` lists the entry ids deleted."""
        ...

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        """ChangeMessageVisibilityBatch; ``successful`` lists the entry ids changed."""
        ...

    # -- single-message forms (SendMessage, DeleteMessage, ChangeMessageVisibility) ------------
    # They exist because SQS validates them differently from a batch of one (a long body is
    # InvalidParameterValue here, BatchRequestTooLong in a batch), and errors raise directly.

    async def send_message(self, queue_url: str, entry: SendEntry) -> SendSuccess:
        """SendMessage (``entry.id`` is ignored). Raises the typed error of a refused message."""
        ...

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        """Raises: ReceiptHandleIsInvalid, QueueDoesNotExist."""
        ...

    async def change_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        """Raises: ReceiptHandleIsInvalid, MessageNotInflight, InvalidParameterValue."""
        ...

    # -- message move tasks (DLQ redrive) -------------------------------------------------------

    async def start_message_move_task(
        self,
        source_arn: str,
        *,
        destination_arn: str | None = None,
        max_messages_per_second: int | None = None,
    ) -> str:
        """Start moving messages out of a DLQ; returns the task handle.

        Raises: ResourceNotFound, InvalidParameterValue, UnsupportedOperation.
        """
        ...

    async def list_message_move_tasks(
        self, source_arn: str, *, max_results: int | None = None
    ) -> list[MoveTask]: ...

    async def cancel_message_move_task(self, task_handle: str) -> int:
        """Cancel a running task; returns the approximate number of messages already moved."""
        ...

    # -- lifecycle ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release connections and threads. Safe to call twice."""
        ...
