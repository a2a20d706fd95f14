"""A Backend that hands every call to another Backend through two hooks.

Wrappers that add behaviour around every call (the resilient client's retry and breaker, the
fault injector's failures) subclass :class:`DelegatingBackend` and override :meth:`_call` (one
operation) and :meth:`_call_batch` (a batch operation, which may be re-sent in part). The
protocol's methods are written once, here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import ConfigurationError
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

__all__ = ["DelegatingBackend"]

T = TypeVar("T")
S = TypeVar("S")
E = TypeVar("E", SendEntry, DeleteEntry, ChangeVisibilityEntry)


class DelegatingBackend:
    """Forwards every Backend call to ``backend``; subclasses wrap the calls.

    Raises:
        ConfigurationError: ``backend`` does not implement the Backend protocol.
    """

    def __init__(self, backend: Backend) -> None:
        if not isinstance(backend, Backend):
            raise ConfigurationError(
                f"backend must implement the Backend protocol, got {type(backend).__name__}"
            )
        self._inner = backend

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def inner(self) -> Backend:
        """The wrapped backend."""
        return self._inner

    # -- the hooks --------------------------------------------------------------------------------

    async def _call(
        self, operation: str, queue_url: str | None, fn: Callable[[], Awaitable[T]]
    ) -> T:
        """Run one operation (``fn`` calls the wrapped backend)."""
        return await fn()

    async def _call_batch(
        self,
        operation: str,
        queue_url: str,
        entries: Sequence[E],
        fn: Callable[[list[E]], Awaitable[BatchResult[S]]],
    ) -> BatchResult[S]:
        """Run a batch operation; ``fn(entries)`` sends those entries to the wrapped backend."""
        return await fn(list(entries))

    # -- queues -----------------------------------------------------------------------------------

    async def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        return await self._call(
            "create_queue", None, lambda: self._inner.create_queue(name, attributes, tags)
        )

    async def get_queue_url(self, name: str, *, owner_account_id: str | None = None) -> str:
        return await self._call(
            "get_queue_url",
            None,
            lambda: self._inner.get_queue_url(name, owner_account_id=owner_account_id),
        )

    async def delete_queue(self, queue_url: str) -> None:
        await self._call("delete_queue", queue_url, lambda: self._inner.delete_queue(queue_url))

    async def list_queues(
        self,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return await self._call(
            "list_queues",
            None,
            lambda: self._inner.list_queues(
                prefix=prefix, max_results=max_results, next_token=next_token
            ),
        )

    async def get_queue_attributes(
        self, queue_url: str, names: Sequence[str] = ("All",)
    ) -> dict[str, str]:
        return await self._call(
            "get_queue_attributes",
            queue_url,
            lambda: self._inner.get_queue_attributes(queue_url, names),
        )

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self._call(
            "set_queue_attributes",
            queue_url,
            lambda: self._inner.set_queue_attributes(queue_url, attributes),
        )

    async def purge_queue(self, queue_url: str) -> None:
        await self._call("purge_queue", queue_url, lambda: self._inner.purge_queue(queue_url))

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        await self._call("tag_queue", queue_url, lambda: self._inner.tag_queue(queue_url, tags))

    async def untag_queue(self, queue_url: str, tag_keys: Sequence[str]) -> None:
        await self._call(
            "untag_queue", queue_url, lambda: self._inner.untag_queue(queue_url, tag_keys)
        )

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        return await self._call(
            "list_queue_tags", queue_url, lambda: self._inner.list_queue_tags(queue_url)
        )

    async def list_dead_letter_source_queues(
        self,
        queue_url: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return await self._call(
            "list_dead_letter_source_queues",
            queue_url,
            lambda: self._inner.list_dead_letter_source_queues(
                queue_url, max_results=max_results, next_token=next_token
            ),
        )

    # -- messages ---------------------------------------------------------------------------------

    async def send_batch(
        self, queue_url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SendSuccess]:
        return await self._call_batch(
            "send_batch",
            queue_url,
            entries,
            lambda pending: self._inner.send_batch(queue_url, pending),
        )

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
        return await self._call(
            "receive",
            queue_url,
            lambda: self._inner.receive(
                queue_url,
                max_messages=max_messages,
                wait_time_seconds=wait_time_seconds,
                visibility_timeout=visibility_timeout,
                attribute_names=attribute_names,
                message_attribute_names=message_attribute_names,
                receive_request_attempt_id=receive_request_attempt_id,
            ),
        )

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        return await self._call_batch(
            "delete_batch",
            queue_url,
            entries,
            lambda pending: self._inner.delete_batch(queue_url, pending),
        )

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        return await self._call_batch(
            "change_visibility_batch",
            queue_url,
            entries,
            lambda pending: self._inner.change_visibility_batch(queue_url, pending),
        )

    async def send_message(self, queue_url: str, entry: SendEntry) -> SendSuccess:
        return await self._call(
            "send_message", queue_url, lambda: self._inner.send_message(queue_url, entry)
        )

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        await self._call(
            "delete_message",
            queue_url,
            lambda: self._inner.delete_message(queue_url, receipt_handle),
        )

    async def change_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        await self._call(
            "change_visibility",
            queue_url,
            lambda: self._inner.change_visibility(queue_url, receipt_handle, visibility_timeout),
        )

    # -- message move tasks -----------------------------------------------------------------------

    async def start_message_move_task(
        self,
        source_arn: str,
        *,
        destination_arn: str | None = None,
        max_messages_per_second: int | None = None,
    ) -> str:
        return await self._call(
            "start_message_move_task",
            None,
            lambda: self._inner.start_message_move_task(
                source_arn,
                destination_arn=destination_arn,
                max_messages_per_second=max_messages_per_second,
            ),
        )

    async def list_message_move_tasks(
        self, source_arn: str, *, max_results: int | None = None
    ) -> list[MoveTask]:
        return await self._call(
            "list_message_move_tasks",
            None,
            lambda: self._inner.list_message_move_tasks(source_arn, max_results=max_results),
        )

    async def cancel_message_move_task(self, task_handle: str) -> int:
        return await self._call(
            "cancel_message_move_task",
            None,
            lambda: self._inner.cancel_message_move_task(task_handle),
        )

    # -- lifecycle --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the wrapped backend."""
        await self._inner.aclose()
