"""OpenTelemetry tracing with the messaging semantic conventions (``messaging.system=aws_sqs``).

Needs only ``opentelemetry-api`` (the ``otel`` extra); the application brings the SDK and its
exporters. ``EnterpriseSQS(tracing=True)`` (or ``tracing=Tracing(tracer_provider=...)``) turns it
on for every publisher and consumer the client creates:

- **send** (PRODUCER, ``send <queue>``): started by :class:`TraceContextCodec` when a message is
  published, ended when the publisher reports the outcome (``messaging.message.id`` set then).
  Its W3C ``traceparent`` (and ``tracestate``) travel as message attributes. SQS allows ten
  message attributes; when the context would push a message past that, it is not added and a
  warning is logged once per queue — the message is sent untraced rather than refused.
- **receive** (CLIENT, ``receive <queue>``): around each ReceiveMessage call, linked to every
  message's producer context, with ``messaging.batch.message_count``.
- **process** (CONSUMER, ``process <queue>``): around the handler (outermost middleware), a child
  of the producer's context: one trace crosses from publisher to consumer. Without a
  ``traceparent``, the X-Ray ``AWSTraceHeader`` system attribute (``Root=1-…;Parent=…;Sampled=1``)
  is honoured as the parent instead.
- **settle** (CLIENT, ``delete <queue>`` / ``change_visibility <queue>``): around the batched
  delete and visibility calls.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.models import (
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    ReceivedMessage,
)
from enterprise_sqs.publishing.events import PublishEvent

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanContext, Tracer

    from enterprise_sqs.consuming.context import MessageContext

__all__ = [
    "MAX_MESSAGE_ATTRIBUTES",
    "MessagingTracer",
    "TraceContextCodec",
    "Tracing",
    "TracingBackend",
    "format_trace_context",
    "parse_traceparent",
    "parse_xray_header",
]

logger = logging.getLogger(__name__)

MAX_MESSAGE_ATTRIBUTES = 10  # SQS's limit per message
_SYSTEM = "aws_sqs"
_PENDING_LIMIT = 10_000  # send spans awaiting their outcome; the oldest is ended past this
# The send span of the publish running in this task: a publish that fails after the codecs ran
# (the size check) reports no message attributes, so its span is found through this instead.
_CURRENT_SEND: ContextVar[str | None] = ContextVar("esqs_current_send", default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tracing:
    """Tracing settings. ``tracer_provider``: an OpenTelemetry TracerProvider (default: the
    global one). ``propagate``: carry the trace context in message attributes."""

    tracer_provider: Any = None
    propagate: bool = True


def _otel() -> Any:
    try:
        from opentelemetry import trace  # optional dependency, loaded on demand
    except ImportError as exc:
        raise ConfigurationError(
            "tracing needs opentelemetry-api: pip install 'enterprise-sqs[otel]'"
        ) from exc
    return trace


def parse_xray_header(header: str) -> tuple[int, int, bool] | None:
    """``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`` →
    (trace id, parent span id, sampled); ``None`` if it is not a usable X-Ray header."""
    fields = dict(part.split("=", 1) for part in header.replace(" ", "").split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    pieces = root.split("-")
    if len(pieces) != 3 or pieces[0] != "1" or len(pieces[1]) != 8 or len(pieces[2]) != 24:
        return None
    if len(parent) != 16:
        return None
    try:
        trace_id = int(pieces[1] + pieces[2], 16)
        span_id = int(parent, 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, fields.get("Sampled") == "1"


def parse_traceparent(value: str) -> tuple[int, int, bool] | None:
    """W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``) → (trace id, span id,
    sampled); ``None`` if malformed. Later versions are read by their first four fields, as the
    W3C recommendation asks."""
    parts = value.strip().split("-")
    if len(parts) < 4 or (parts[0] == "00" and len(parts) != 4):
        return None
    version, trace_hex, span_hex, flags_hex = parts[:4]
    if len(version) != 2 or version == "ff" or len(trace_hex) != 32 or len(span_hex) != 16:
        return None
    if len(flags_hex) != 2:
        return None
    try:
        int(version, 16)
        trace_id, span_id, flags = int(trace_hex, 16), int(span_hex, 16), int(flags_hex, 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, bool(flags & 1)


def format_trace_context(span_context: Any) -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` when there is one) for a span context; empty for an
    invalid one (a no-op tracer's)."""
    if not span_context.is_valid:
        return {}
    carrier = {
        "traceparent": f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags) & 0xFF:02x}"
    }
    state = span_context.trace_state
    if state:
        carrier["tracestate"] = state.to_header()
    return carrier


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class MessagingTracer:
    """The spans and propagation for one client (see the module docstring).

    Raises:
        ConfigurationError: opentelemetry-api is not installed.
    """

    def __init__(self, options: Tracing | None = None) -> None:
        self.options = options or Tracing()
        trace = _otel()
        self._trace = trace
        self.tracer: Tracer = trace.get_tracer(
            "enterprise_sqs", tracer_provider=self.options.tracer_provider
        )
        self._pending: OrderedDict[str, Span] = OrderedDict()
        self._names: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        from opentelemetry import context as otel_context

        self._context = otel_context
        self._producer = trace.SpanKind.PRODUCER
        self._consumer = trace.SpanKind.CONSUMER
        self._client = trace.SpanKind.CLIENT
        self._warned: set[str] = set()

    # -- context ----------------------------------------------------------------------------------

    def producer(
        self,
        message_attributes: Mapping[str, MessageAttributeValue],
        attributes: Mapping[str, str] | None = None,
    ) -> SpanContext | None:
        """The producer's span context: from ``traceparent`` (and ``tracestate``), else from
        the X-Ray ``AWSTraceHeader`` system attribute; ``None`` without a usable one."""
        value = message_attributes.get("traceparent")
        parsed = parse_traceparent(value.string_value) if value and value.string_value else None
        state: Any = None
        if parsed is not None:
            extra = message_attributes.get("tracestate")
            if extra is not None and extra.string_value:
                state = self._trace.TraceState.from_header([extra.string_value])
        else:
            header = (attributes or {}).get("AWSTraceHeader")
            parsed = parse_xray_header(header) if header else None
            if parsed is None:
                return None
        trace_id, span_id, sampled = parsed
        return cast(
            "SpanContext",
            self._trace.SpanContext(
                trace_id=trace_id,
                span_id=span_id,
                is_remote=True,
                trace_flags=self._trace.TraceFlags(1 if sampled else 0),
                trace_state=state,
            ),
        )

    def extract(
        self,
        message_attributes: Mapping[str, MessageAttributeValue],
        attributes: Mapping[str, str] | None = None,
    ) -> Context | None:
        """The producer's context, to parent a span on (see :meth:`producer`)."""
        span_context = self.producer(message_attributes, attributes)
        if span_context is None:
            return None
        return cast(
            "Context", self._trace.set_span_in_context(self._trace.NonRecordingSpan(span_context))
        )

    def _named(self, operation: str, kind: str, queue: str) -> tuple[str, dict[str, Any]]:
        """A span's name and fixed attributes, built once per queue and operation (the SDK
        copies attributes, so sharing the dict is safe)."""
        key = (operation, queue)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = (
                f"{operation} {queue}",
                {
                    "messaging.system": _SYSTEM,
                    "messaging.operation.name": operation,
                    "messaging.operation.type": kind,
                    "messaging.destination.name": queue,
                },
            )
        return found

    # -- send -------------------------------------------------------------------------------------

    def start_send(self, envelope: Envelope, context: CodecContext) -> Envelope:
        queue = context.queue_name
        name, fixed = self._named("send", "send", queue)
        span = self.tracer.start_span(name, kind=self._producer, attributes=fixed)
        if span.is_recording():
            span.set_attribute("messaging.message.body.size", len(envelope.body.encode("utf-8")))
        if not self.options.propagate or "traceparent" in envelope.attributes:
            span.end()  # the sender propagates its own context: leave it alone
            return envelope
        carrier = format_trace_context(span.get_span_context())
        if not carrier:
            return envelope  # a no-op tracer: nothing to carry, nothing to end
        if len(envelope.attributes) + len(carrier) > MAX_MESSAGE_ATTRIBUTES:
            if queue not in self._warned:
                self._warned.add(queue)
                logger.warning(
                    "trace context not added to messages for %s: they already carry %d "
                    "message attributes and SQS allows %d",
                    queue,
                    len(envelope.attributes),
                    MAX_MESSAGE_ATTRIBUTES,
                    extra={"queue": queue, "operation": "send"},
                )
            span.set_attribute("esqs.trace_context_skipped", True)
            span.end()
            return envelope
        attributes = dict(envelope.attributes)
        for key, value in carrier.items():
            attributes[key] = MessageAttributeValue.string(value)
        self._pending[carrier["traceparent"]] = span
        _CURRENT_SEND.set(carrier["traceparent"])
        if len(self._pending) > _PENDING_LIMIT:
            _, oldest = self._pending.popitem(last=False)
            oldest.end()
        return Envelope(body=envelope.body, attributes=attributes)

    def on_publish(self, event: PublishEvent) -> None:
        """Publisher observer: end the send span with the outcome."""
        value = event.message_attributes.get("traceparent")
        key = value.string_value if value is not None else _CURRENT_SEND.get()
        span = self._pending.pop(key, None) if key else None
        if span is None:
            return
        if event.message_id is not None:
            span.set_attribute("messaging.message.id", event.message_id)
        if event.kind == "duplicate":
            span.set_attribute("esqs.duplicate", True)
        if event.kind == "failed" and event.error is not None:
            span.record_exception(event.error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(event.error)))
            span.set_attribute("error.type", type(event.error).__name__)
        span.end()

    # -- process ----------------------------------------------------------------------------------

    async def middleware(
        self, context: MessageContext, call_next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Consumer middleware: the ``process`` span around the handler."""
        name, fixed = self._named("process", "process", context.queue.name)
        parent = self.extract(context.message_attributes, context.attributes)
        span = self.tracer.start_span(name, context=parent, kind=self._consumer, attributes=fixed)
        if span.is_recording():
            span.set_attribute("messaging.message.id", context.message_id)
            if context.group_id is not None:
                span.set_attribute("messaging.message.conversation_id", context.group_id)
            span.set_attribute("esqs.receive_count", context.receive_count)
        # attach/detach by hand: trace.use_span's generator-based context manager costs more
        # than everything else here together.
        token = self._context.attach(self._trace.set_span_in_context(span))
        try:
            return await call_next()
        except Exception as exc:  # a cancellation (shutdown) is not the handler's failure
            if span.is_recording():
                self.failed(span, exc)
            raise
        finally:
            self._context.detach(token)
            span.end()

    # -- receive and settle -----------------------------------------------------------------------

    def receive_span(self, queue_url: str) -> Span:
        name, fixed = self._named("receive", "receive", _queue_name(queue_url))
        return self.tracer.start_span(name, kind=self._client, attributes=fixed)

    def received(self, span: Span, messages: Sequence[ReceivedMessage]) -> None:
        if not span.is_recording():
            return  # not sampled: links and counts would be thrown away
        span.set_attribute("messaging.batch.message_count", len(messages))
        for message in messages:
            producer = self.producer(message.message_attributes, message.attributes)
            if producer is not None:
                span.add_link(producer)

    def settle_span(self, operation: str, queue_url: str, count: int) -> Span:
        name, fixed = self._named(operation, "settle", _queue_name(queue_url))
        span = self.tracer.start_span(name, kind=self._client, attributes=fixed)
        if span.is_recording():
            span.set_attribute("messaging.batch.message_count", count)
        return span

    def failed(self, span: Span, error: BaseException) -> None:
        span.record_exception(error)
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)


class TraceContextCodec:
    """A publisher codec that starts the send span and adds its trace context to the message.
    ``decode`` passes messages through (the consumer's middleware reads the context)."""

    name = "trace-context"

    def __init__(self, tracer: MessagingTracer) -> None:
        self._tracer = tracer

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        return self._tracer.start_send(envelope, context)

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        return envelope


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
        span = self._tracer.receive_span(queue_url)
        try:
            messages = await self._inner.receive(queue_url, **options)
        except BaseException as exc:
            self._tracer.failed(span, exc)
            span.end()
            raise
        self._tracer.received(span, messages)
        span.end()
        return messages

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        span = self._tracer.settle_span("delete", queue_url, len(entries))
        return await self._settle(span, self._inner.delete_batch(queue_url, entries))

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        span = self._tracer.settle_span("change_visibility", queue_url, len(entries))
        return await self._settle(span, self._inner.change_visibility_batch(queue_url, entries))

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
