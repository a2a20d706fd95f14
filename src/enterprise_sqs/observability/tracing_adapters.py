"""How a :class:`~enterprise_sqs.observability.tracing.MessagingTracer` plugs into the client's
consumers' backend: a wrapper that makes the receive and settle spans. The spans themselves, and
what they cost, are the tracer's business.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, cast

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.models import BatchResult, ChangeVisibilityEntry, DeleteEntry, ReceivedMessage

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from enterprise_sqs.observability.tracing import MessagingTracer

__all__ = ["TracingBackend"]


class TracingBackend:
    """Wraps a consumer's backend: spans around receive, delete and visibility batches; every
    other call passes straight through."""

    def __init__(self, backend: Backend, tracer: MessagingTracer) -> None:
        self._inner = backend
        self._tracer = tracer

    @property
    def name(self) -> str:
        return self._inner.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    def as_backend(self) -> Backend:
        # Everything not overridden here is delegated by __getattr__, which the type checker
        # cannot see through a Protocol.
        return cast(Backend, self)

    async def receive(self, queue_url: str, **options: Any) -> list[ReceivedMessage]:
        # The span is made afterwards, when the messages say whether anything recorded will
        # point at it; its start is taken now.
        started = time.time_ns()
        try:
            messages = await self._inner.receive(queue_url, **options)
        except Exception as exc:  # a cancelled poll (shutdown) is no failed receive
            self._tracer.receive_failed(queue_url, exc, started)
            raise
        span = self._tracer.receive_span(queue_url, messages, started)
        if span is not None:
            span.end()
        return messages

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        span = self._tracer.settle_span("delete", queue_url, entries)
        call = self._inner.delete_batch(queue_url, entries)
        return await (call if span is None else self._settle(span, call))

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        span = self._tracer.settle_span("change_visibility", queue_url, entries)
        call = self._inner.change_visibility_batch(queue_url, entries)
        return await (call if span is None else self._settle(span, call))

    async def _settle(self, span: Span, call: Awaitable[BatchResult[str]]) -> BatchResult[str]:
        try:
            result = await call
        except BaseException as exc:
            self._tracer.failed(span, exc)
            span.end()
            raise
        if result.failed:
            span.set_attribute("esqs.failed_entries", len(result.failed))
        span.end()
        return result
