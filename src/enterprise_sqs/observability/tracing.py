"""OpenTelemetry tracing with the messaging semantic conventions (``messaging.system=aws_sqs``).

Needs only ``opentelemetry-api`` (the ``otel`` extra); the application brings the SDK and its
exporters. ``EnterpriseSQS(tracing=True)`` (or ``tracing=Tracing(tracer_provider=...)``) turns it
on for every publisher and consumer the client creates:

- **send** (PRODUCER, ``send <queue>``): started by :class:`TraceContextCodec` when a message is
  published, ended when the publisher reports the outcome (``messaging.message.id`` set then).
  Its W3C ``traceparent`` (and ``tracestate``) travel as message attributes. SQS allows ten
  message attributes; when the context would push a message past that, it is not added and a
  warning is logged once per queue — the message is sent untraced rather than refused.
- **receive** (CLIENT, ``receive <queue>``): one per ReceiveMessage call that returned messages
  (made afterwards, with the call's start time), linked to the sampled producers among them,
  with ``messaging.batch.message_count``; a root of its own, so the sampler decides.
- **process** (CONSUMER, ``process <queue>``): around the handler (outermost middleware), a child
  of the producer's context: one trace crosses from publisher to consumer. Without a
  ``traceparent``, the X-Ray ``AWSTraceHeader`` system attribute (``Root=1-…;Parent=…;Sampled=1``)
  is honoured as the parent instead.
- **settle** (CLIENT, ``delete <queue>`` / ``change_visibility <queue>``): around a batched
  delete or visibility call holding a message whose process span was recorded: a child of
  (the first) such span, linked to the others.

Sampling is decided once, where the trace starts, and followed everywhere after (W3C
``traceflags``), because production samples and unsampled work must cost next to nothing (a
non-recording span still costs the SDK microseconds, and there are four per message):

- publishing inside an unsampled trace starts no send span; the parent's own context is carried
  on. A send span the sampler drops as a root carries its (unsampled) context, so the consumer
  follows the decision rather than sampling anew;
- an unsampled message gets no process, receive or settle span; its handler still runs inside
  its context (parsed only if something asks), so the handler's own spans follow the decision;
- a receive of only unsampled messages, and an empty receive, make no span at all.
"""

from __future__ import annotations

import functools
import logging
import time
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
    if len(value) == 55 and value[:3] == "00-" and value[35] == "-" and value[52] == "-":
        fields = [value[3:35], value[36:52], value[53:]]  # the usual form, sliced not split
        version = "00"
    else:
        parts = value.strip().split("-")
        if len(parts) < 4 or (parts[0] == "00" and len(parts) != 4):
            return None
        version, *fields = parts[:4]
        if len(version) != 2 or version == "ff" or len(fields[0]) != 32 or len(fields[1]) != 16:
            return None
        if len(fields[2]) != 2:
            return None
    try:
        int(version, 16)
        trace_id, span_id, flags = int(fields[0], 16), int(fields[1], 16), int(fields[2], 16)
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
    carrier = {  # %-formatting: twice as fast as the f-string on this hot path
        "traceparent": "00-%032x-%016x-%02x"  # noqa: UP031  # see above
        % (span_context.trace_id, span_context.span_id, span_context.trace_flags & 0xFF)
    }
    state = span_context.trace_state
    if state:
        carrier["tracestate"] = state.to_header()
    return carrier


def _attribute_values(carrier: Mapping[str, str]) -> dict[str, MessageAttributeValue]:
    return {
        key: MessageAttributeValue("String", string_value=value) for key, value in carrier.items()
    }


def _sampled_hint(
    message_attributes: Mapping[str, MessageAttributeValue],
    attributes: Mapping[str, str] | None,
) -> bool | None:
    """Whether a message's producer context is sampled, cheaply: the flags of a canonical
    ``traceparent`` are read in place (anything else is parsed in full); ``None`` without a
    usable context. Lets a receive skip parsing the contexts of unsampled messages."""
    value = message_attributes.get("traceparent")
    text = value.string_value if value is not None else None
    if text and len(text) == 55 and text.startswith("00-"):
        try:
            return bool(int(text[53:], 16) & 1)
        except ValueError:
            pass
    parsed = parse_traceparent(text) if text else None
    if parsed is None:
        header = (attributes or {}).get("AWSTraceHeader")
        parsed = parse_xray_header(header) if header else None
    return None if parsed is None else parsed[2]


@functools.cache
def _unsampled_parent_type() -> Any:
    """A non-recording span for an unsampled producer context, parsed from the message only
    when something asks for it (most handlers start no span of their own). Built on first use:
    opentelemetry is an optional dependency."""
    trace = _otel()
    base: Any = trace.NonRecordingSpan

    class UnsampledParent(base):  # type: ignore[misc]  # opentelemetry is loaded untyped here
        def __init__(
            self,
            tracer: MessagingTracer,
            message_attributes: Mapping[str, MessageAttributeValue],
            attributes: Mapping[str, str] | None,
        ) -> None:
            super().__init__(trace.INVALID_SPAN_CONTEXT)
            self._source: Any = (tracer, message_attributes, attributes)
            self._parsed: Any = None

        def get_span_context(self) -> Any:
            if self._parsed is None:
                tracer, message_attributes, attributes = self._source
                found = tracer.producer(message_attributes, attributes)
                self._parsed = trace.INVALID_SPAN_CONTEXT if found is None else found
            return self._parsed

    return UnsampledParent


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
        # receipt handle → the context of its recorded process span, for the settle spans
        self._recorded: OrderedDict[str, SpanContext] = OrderedDict()
        self._names: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        from opentelemetry import context as otel_context

        self._context = otel_context
        self._producer = trace.SpanKind.PRODUCER
        self._consumer = trace.SpanKind.CONSUMER
        self._client = trace.SpanKind.CLIENT
        self._warned: set[str] = set()
        self._flags = (trace.TraceFlags(0), trace.TraceFlags(1))
        self._unsampled_parent = _unsampled_parent_type()
        # The last unsampled parent carried on and its attribute values: a caller publishing
        # many messages in one unsampled trace formats them once.
        self._carried: tuple[Any, dict[str, MessageAttributeValue]] | None = None

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
        # positional: SpanContext.__new__ with keywords costs three times as much
        return cast(
            "SpanContext",
            self._trace.SpanContext(trace_id, span_id, True, self._flags[sampled], state),
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
        return self._wrap(span_context)

    def _wrap(self, span_context: SpanContext) -> Context:
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
        parent = self._trace.get_current_span().get_span_context()
        if parent.is_valid and not parent.trace_flags.sampled:
            # Inside a trace that is not sampled: no span (a non-recording one still costs
            # the SDK several microseconds), but the parent's context travels on, so that the
            # consumer and everything after it follow the same decision.
            if _CURRENT_SEND.get() is not None:
                _CURRENT_SEND.set(None)  # an earlier publish's key must not end someone else's
            if not self.options.propagate or "traceparent" in envelope.attributes:
                return envelope
            carried = self._carried
            if carried is None or carried[0] != parent:
                values = _attribute_values(format_trace_context(parent))
                carried = self._carried = (parent, values)
            return self._inject(envelope, carried[1], queue, None)
        name, fixed = self._named("send", "send", queue)
        span = self.tracer.start_span(name, kind=self._producer, attributes=fixed)
        recording = span.is_recording()
        if recording:
            span.set_attribute("messaging.message.body.size", len(envelope.body.encode("utf-8")))
        if not self.options.propagate or "traceparent" in envelope.attributes:
            span.end()  # the sender propagates its own context: leave it alone
            return envelope
        carrier = format_trace_context(span.get_span_context())
        if not carrier:
            return envelope  # a no-op tracer: nothing to carry, nothing to end
        values = _attribute_values(carrier)
        if not recording:
            # A root the sampler dropped: carry its "not sampled" decision, nothing to end.
            if _CURRENT_SEND.get() is not None:
                _CURRENT_SEND.set(None)  # an earlier publish's key must not end someone else's
            return self._inject(envelope, values, queue, None)
        injected = self._inject(envelope, values, queue, span)
        if injected is envelope:
            span.end()
            return envelope
        self._pending[carrier["traceparent"]] = span
        _CURRENT_SEND.set(carrier["traceparent"])
        if len(self._pending) > _PENDING_LIMIT:
            _, oldest = self._pending.popitem(last=False)
            oldest.end()
        return injected

    def _inject(
        self,
        envelope: Envelope,
        values: Mapping[str, MessageAttributeValue],
        queue: str,
        span: Span | None,
    ) -> Envelope:
        """The envelope with the trace context added, or unchanged (with a warning once per
        queue) when it would pass SQS's attribute limit."""
        if len(envelope.attributes) + len(values) > MAX_MESSAGE_ATTRIBUTES:
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
            if span is not None:
                span.set_attribute("esqs.trace_context_skipped", True)
            return envelope
        attributes = dict(envelope.attributes)
        attributes.update(values)
        return Envelope(body=envelope.body, attributes=attributes)

    def on_publish(self, event: PublishEvent) -> None:
        """Publisher observer: end the send span with the outcome."""
        if not self._pending:
            return  # nothing recorded is waiting (unsampled sends leave nothing behind)
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
        trace = self._trace
        if _sampled_hint(context.message_attributes, context.attributes) is False:
            # The producer's trace is not sampled: no span, but the handler runs inside that
            # context, so that its own spans (and messages it publishes) follow the decision.
            # The context is parsed only if one of them asks for it.
            parent = self._unsampled_parent(self, context.message_attributes, context.attributes)
            token = self._context.attach(trace.set_span_in_context(parent))
            try:
                return await call_next()
            finally:
                self._context.detach(token)
        producer = self.producer(context.message_attributes, context.attributes)
        name, fixed = self._named("process", "process", context.queue.name)
        if producer is not None:
            # Sampled upstream: the span will (almost always) record, so its attributes are
            # handed over at once rather than set one by one under the span's lock.
            attributes = dict(fixed)
            attributes["messaging.message.id"] = context.message_id
            if context.group_id is not None:
                attributes["messaging.message.conversation_id"] = context.group_id
            attributes["esqs.receive_count"] = context.receive_count
            span = self.tracer.start_span(
                name, context=self._wrap(producer), kind=self._consumer, attributes=attributes
            )
        else:
            span = self.tracer.start_span(name, kind=self._consumer, attributes=fixed)
            if span.is_recording():
                span.set_attribute("messaging.message.id", context.message_id)
                if context.group_id is not None:
                    span.set_attribute("messaging.message.conversation_id", context.group_id)
                span.set_attribute("esqs.receive_count", context.receive_count)
            elif not span.get_span_context().is_valid:
                return await call_next()  # a no-op tracer: no context worth attaching
        recording = span.is_recording()
        if recording:
            self._remember(context.receipt_handle, span.get_span_context())
        # attach/detach by hand: trace.use_span's generator-based context manager costs more
        # than everything else here together.
        token = self._context.attach(trace.set_span_in_context(span))
        try:
            return await call_next()
        except Exception as exc:  # a cancellation (shutdown) is not the handler's failure
            if recording:
                self.failed(span, exc)
            raise
        finally:
            self._context.detach(token)
            span.end()

    def _remember(self, receipt_handle: str, span_context: SpanContext) -> None:
        """Keep a recorded process span's context until its message is deleted (bounded:
        messages that are never deleted here, retried ones, fall out oldest first)."""
        recorded = self._recorded
        recorded[receipt_handle] = span_context
        if len(recorded) > _PENDING_LIMIT:
            recorded.popitem(last=False)

    # -- receive and settle -----------------------------------------------------------------------

    def receive_span(
        self, queue_url: str, messages: Sequence[ReceivedMessage], start_time: int
    ) -> Span | None:
        """The span of one ReceiveMessage call, started afterwards at ``start_time``
        (nanoseconds since the epoch), linked to the sampled producers among ``messages``.
        ``None`` (no span) for an empty receive and for one whose messages all belong to
        unsampled traces: nothing recorded would ever point at it."""
        if not messages:
            return None
        links: list[Any] = []
        untraced = False
        link = self._trace.Link
        for message in messages:
            sampled = _sampled_hint(message.message_attributes, message.attributes)
            if sampled is None:
                untraced = True
            elif sampled:
                producer = self.producer(message.message_attributes, message.attributes)
                if producer is not None:
                    links.append(link(producer))
                else:
                    untraced = True
        if not links and not untraced:
            return None
        name, fixed = self._named("receive", "receive", _queue_name(queue_url))
        attributes = dict(fixed)
        attributes["messaging.batch.message_count"] = len(messages)
        return self.tracer.start_span(
            name, kind=self._client, attributes=attributes, links=links, start_time=start_time
        )

    def receive_failed(self, queue_url: str, error: BaseException, start_time: int) -> None:
        name, fixed = self._named("receive", "receive", _queue_name(queue_url))
        span = self.tracer.start_span(
            name, kind=self._client, attributes=fixed, start_time=start_time
        )
        if span.is_recording():
            self.failed(span, error)
        span.end()

    def settle_span(
        self,
        operation: str,
        queue_url: str,
        entries: Sequence[DeleteEntry] | Sequence[ChangeVisibilityEntry],
    ) -> Span | None:
        """The span of a delete or visibility batch, only when one of its messages was
        processed under a recorded span: a child of the first such process span, linked to
        the others. A delete settles a message for good, so its context is forgotten then."""
        recorded = self._recorded
        if not recorded:
            return None
        contexts: list[SpanContext] = []
        for entry in entries:
            if operation == "delete":
                found = recorded.pop(entry.receipt_handle, None)
            else:
                found = recorded.get(entry.receipt_handle)
            if found is not None:
                contexts.append(found)
        if not contexts:
            return None
        name, fixed = self._named(operation, "settle", _queue_name(queue_url))
        attributes = dict(fixed)
        attributes["messaging.batch.message_count"] = len(entries)
        link = self._trace.Link
        return self.tracer.start_span(
            name,
            context=self._wrap(contexts[0]),
            kind=self._client,
            attributes=attributes,
            links=[link(other) for other in contexts[1:]],
        )

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
