"""A small in-memory Backend for the resilience unit tests: just enough SQS to round-trip
messages, so retry/breaker tests do not depend on the embedded engine."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from enterprise_sqs.errors import QueueDoesNotExist, ReceiptHandleIsInvalid
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

PREFIX = "http://fake.local/000000000000/"


class FakeBackend:
    """Queues are lists; receive pops, delete is a no-op on known handles."""

    def __init__(self) -> None:
        self.queues: dict[str, list[ReceivedMessage]] = {}
        self.sent: list[str] = []
        self._ids = itertools.count()
        self.closed = False

    @property
    def name(self) -> str:
        return "fake://"

    def _queue(self, url: str) -> list[ReceivedMessage]:
        try:
            return self.queues[url]
        except KeyError:
            raise QueueDoesNotExist(f"no queue {url}") from None

    async def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        self.queues.setdefault(PREFIX + name, [])
        return PREFIX + name

    async def get_queue_url(self, name: str, *, owner_account_id: str | None = None) -> str:
        self._queue(PREFIX + name)
        return PREFIX + name

    async def delete_queue(self, queue_url: str) -> None:
        self._queue(queue_url)
        del self.queues[queue_url]

    async def list_queues(
        self,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return QueuePage(queue_urls=sorted(self.queues))

    async def get_queue_attributes(
        self, queue_url: str, names: Sequence[str] = ("All",)
    ) -> dict[str, str]:
        return {"ApproximateNumberOfMessages": str(len(self._queue(queue_url)))}

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        self._queue(queue_url)

    async def purge_queue(self, queue_url: str) -> None:
        self._queue(queue_url).clear()

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        self._queue(queue_url)

    async def untag_queue(self, queue_url: str, tag_keys: Sequence[str]) -> None:
        self._queue(queue_url)

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        self._queue(queue_url)
        return {}

    async def list_dead_letter_source_queues(
        self,
        queue_url: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return QueuePage(queue_urls=[])

    async def send_batch(
        self, queue_url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SendSuccess]:
        queue = self._queue(queue_url)
        done = []
        for entry in entries:
            message_id = f"m{next(self._ids)}"
            queue.append(
                ReceivedMessage(
                    message_id=message_id,
                    receipt_handle=f"rh-{message_id}",
                    body=entry.body,
                    md5_of_body="",
                )
            )
            self.sent.append(entry.id)
            done.append(SendSuccess(id=entry.id, message_id=message_id, md5_of_body=""))
        return BatchResult(done, [])

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
        queue = self._queue(queue_url)
        taken, queue[:] = queue[:max_messages], queue[max_messages:]
        return taken

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        self._queue(queue_url)
        return BatchResult([e.id for e in entries], [])

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        self._queue(queue_url)
        return BatchResult([e.id for e in entries], [])

    async def send_message(self, queue_url: str, entry: SendEntry) -> SendSuccess:
        result = await self.send_batch(queue_url, [entry])
        return result.successful[0]

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        self._queue(queue_url)
        if not receipt_handle.startswith("rh-"):
            raise ReceiptHandleIsInvalid(receipt_handle)

    async def change_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        self._queue(queue_url)

    async def start_message_move_task(
        self,
        source_arn: str,
        *,
        destination_arn: str | None = None,
        max_messages_per_second: int | None = None,
    ) -> str:
        return "task-1"

    async def list_message_move_tasks(
        self, source_arn: str, *, max_results: int | None = None
    ) -> list[MoveTask]:
        return []

    async def cancel_message_move_task(self, task_handle: str) -> int:
        return 0

    async def aclose(self) -> None:
        self.closed = True
