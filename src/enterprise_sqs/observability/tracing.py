"""OpenTelemetry tracing with the messaging semantic conventions (``messaging.system=aws_sqs``).

Needs only ``opentelemetry-api`` (the ``otel`` extra); the application brings the SDK and its
exporters. ``EnterpriseSQS(tracing=True)`` (or ``tracing=Tracing(tracer_provider=...)``) turns it
on for every publisher and consumer the client creates:

- **send** (PRODUCER, ``send <queue>``): started when a message is published (the publisher
  calls the tracer before its codecs), ended when the publish has its outcome
  (``messaging.message.id`` set then).
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
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.models import (
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    ReceivedMessage,
)
from enterprise_sqs.observability.trace_context import (
    format_trace_context,
    format_traceparent,
    parse_traceparent,
    parse_xray_header,
)

# The codec and backend wrapper that plug the tracer in (re-exported: hub.py imports them here)
from enterprise_sqs.observability.tracing_adapters import TracingBackend
from enterprise_sqs.queues import queue_name

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanContext, Tracer

    from enterprise_sqs.consuming.context import MessageContext

__all__ = [
    "MAX_MESSAGE_ATTRIBUTES",
    "MessagingTracer",
    "Tracing",
    "TracingBackend",
    "format_trace_context",
    "parse_traceparent",
    "parse_xray_header",
]

logger = logging.getLogger(__name__)

MAX_MESSAGE_ATTRIBUTES = 10  # SQS's limit per message
_SYSTEM = "aws_sqs"
# Bound of each per-message map below (producer contexts received, process span contexts
# awaiting their settle): past it the oldest entry goes.
_PENDING_LIMIT = 10_000
_string = MessageAttributeValue.string  # the models' fast path: 0.3 µs against 0.5 µs
# What process_started entered: the context token to detach and the span to end (if any).
_Scope = tuple[Any, "Span | None"]


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


@functools.cache
def _unsampled_parent_type() -> Any:
    """A non-recording span for an unsampled producer context, parsed from the message only
    when something asks for it (most handlers start no span of their own). Built on first use:
    opentelemetry is an optional dependency."""
    trace = _otel()
    base: Any = trace.NonRecordingSpan

    class UnsampledParent(base):  # type: ignore[misc]  # opentelemetry is loaded untyped here
        # NonRecordingSpan.__init__ only stores the context, which is not known yet: not called.
        def __init__(self, tracer: MessagingTracer, message: MessageContext) -> None:
            self._source: Any = (tracer, message)
            self._context: Any = None

        def get_span_context(self) -> Any:
            if self._context is None:
                tracer, message = self._source
                found = tracer.producer(message.message_attributes, message.attributes)
                self._context = trace.INVALID_SPAN_CONTEXT if found is None else found
            return self._context

    return UnsampledParent


class MessagingTracer:
    """The spans and propagation for one client (see the module docstring).

    Publishers and consumers call it in pairs: :meth:`send_started` / :meth:`send_ended`
    around a publish, :meth:`process_started` / :meth:`process_ended` around a handler,
    :meth:`receive_span` after a receive and :meth:`settle_span` around a delete or visibility
    batch. :meth:`middleware` adapts the handler pair to the consumer's middleware interface;
    a publisher calls the send pair itself (``Publisher.attach_tracer``).

    What a span costs is almost all the SDK's: with a BatchSpanProcessor, about 20 µs a recorded
    span, 1.4 µs a link, 0.9 µs a ``set_attribute`` and 3.5 µs a root the sampler drops, against
    1-3 µs here per message. So the SDK is asked for no more than the conventions need: the
    attributes go in one dict at start, an unsampled message starts no span anywhere, and only
    the message id (known after the send) is set on a started span.

    Raises:
        ConfigurationError: opentelemetry-api is not installed.
    """

    def __init__(self, options: Tracing | None = None) -> None:
        self.options = options or Tracing()
        trace = _otel()
        from opentelemetry import context as otel_context

        self._trace = trace
        self.tracer: Tracer = trace.get_tracer(
            "enterprise_sqs", tracer_provider=self.options.tracer_provider
        )
        # A no-op tracer (the API's own, not a proxy that may find an SDK later) starts no
        # span without a parent: those calls are skipped, with what they would have built.
        self._noop = isinstance(self.tracer, trace.NoOpTracer)
        self._propagate = self.options.propagate
        self._start_span: Callable[..., Span] = self.tracer.start_span
        self._current_context = otel_context.get_current
        self._current_span = trace.get_current_span
        self._in_context = trace.set_span_in_context
        self._non_recording = trace.NonRecordingSpan
        self._span_context = trace.SpanContext
        self._attach = otel_context.attach
        self._detach = otel_context.detach
        # receipt handle → the context of its recorded process span, for the settle spans
        self._recorded: OrderedDict[str, SpanContext] = OrderedDict()
        # receipt handle → the sampled producer context the receive span linked to, so that
        # the process span does not parse it again (1.2 µs)
        self._received: OrderedDict[str, SpanContext] = OrderedDict()
        self._names: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
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
        text = value.string_value if value is not None else None
        return self._parse(text, message_attributes, attributes)

    def _parse(
        self,
        text: str | None,
        message_attributes: Mapping[str, MessageAttributeValue],
        attributes: Mapping[str, str] | None,
    ) -> SpanContext | None:
        parsed = parse_traceparent(text) if text else None
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
            "SpanContext", self._span_context(trace_id, span_id, True, self._flags[sampled], state)
        )

    def _sampled_producer(
        self,
        message_attributes: Mapping[str, MessageAttributeValue],
        attributes: Mapping[str, str] | None,
        message: MessageContext | None = None,
    ) -> SpanContext | Literal[False] | None:
        """The producer's context when it is sampled; ``False`` when it is not (then it is not
        parsed: the flags of a canonical ``traceparent`` are read in place); ``None`` without a
        usable one. A ``message`` being processed takes the context its receive parsed."""
        value = message_attributes.get("traceparent")
        text = value.string_value if value is not None else None
        flag: int | None = None  # the canonical traceparent's sampled bit
        if text and len(text) == 55 and text[:3] == "00-":
            try:
                flag = int(text[53:], 16) & 1
            except ValueError:
                flag = None  # not hex: parsed in full below
            if flag == 0:
                return False
        if message is not None and self._received:
            found = self._received.pop(message.receipt_handle, None)
            if found is not None:
                return found  # what this same call returned for it on receive
        found = self._parse(text, message_attributes, attributes)
        if flag or found is None or found.trace_flags & 1:
            return found
        return False

    def _wrap(self, span_context: SpanContext) -> Context:
        return cast("Context", self._in_context(self._non_recording(span_context)))

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

    def send_started(
        self, queue: str, body: str, message_attributes: Mapping[str, MessageAttributeValue]
    ) -> tuple[Mapping[str, MessageAttributeValue], Span | None]:
        """Start the send span of a message about to be published to ``queue``: its message
        attributes with the trace context added (the same mapping when nothing is added), and
        the recorded span to end with :meth:`send_ended` (``None``: nothing to end)."""
        # The current context, looked up once and handed to the SDK: without it, start_span,
        # the sampler and its parent lookup each look it up again (0.5 µs).
        current = self._current_context()
        parent = self._current_span(current).get_span_context()
        if parent.is_valid:
            if not parent.trace_flags & 1:
                return self._carry(queue, message_attributes, parent), None
        elif self._noop:
            return message_attributes, None  # no parent, a no-op tracer: no span, no context
        name, fixed = self._named("send", "send", queue)
        # All attributes at start, in one dict: the SDK cleans them in one pass instead of
        # taking the span's lock per set_attribute (0.9 µs each). For a root the sampler may
        # drop, that is 0.15 µs spent in vain; samplers get to see them, too.
        attributes = dict(fixed)
        attributes["messaging.message.body.size"] = (
            len(body) if body.isascii() else len(body.encode("utf-8"))
        )
        span = self._start_span(name, context=current, kind=self._producer, attributes=attributes)
        if not self._propagate or "traceparent" in message_attributes:
            span.end()  # the sender propagates its own context: leave it alone
            return message_attributes, None
        span_context = span.get_span_context()
        if not span_context.is_valid:
            return message_attributes, None  # a no-op tracer: nothing to carry or end
        state = span_context.trace_state
        recording = span.is_recording()
        if len(message_attributes) + (2 if state else 1) > MAX_MESSAGE_ATTRIBUTES:
            self._skipped(queue, message_attributes)
            if recording:
                span.set_attribute("esqs.trace_context_skipped", True)
                span.end()
            return message_attributes, None
        values = dict(message_attributes)
        values["traceparent"] = _string(
            format_traceparent(
                span_context.trace_id, span_context.span_id, span_context.trace_flags
            )
        )
        if state:
            values["tracestate"] = _string(state.to_header())
        # A root the sampler dropped carries its "not sampled" decision, with nothing to end.
        return values, span if recording else None

    def send_ended(
        self,
        span: Span,
        *,
        message_id: str | None = None,
        error: BaseException | None = None,
        duplicate: bool = False,
    ) -> None:
        """End a send span with the publish's outcome: the message id SQS answered (or the
        first one, for a ``duplicate`` the publisher suppressed), or the ``error``."""
        if message_id is not None:
            span.set_attribute("messaging.message.id", message_id)
        if duplicate:
            span.set_attribute("esqs.duplicate", True)
        if error is not None:
            span.record_exception(error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(error)))
            span.set_attribute("error.type", type(error).__name__)
        span.end()

    def _carry(
        self, queue: str, message_attributes: Mapping[str, MessageAttributeValue], parent: Any
    ) -> Mapping[str, MessageAttributeValue]:
        """Inside a trace that is not sampled: no span (a non-recording one still costs the
        SDK microseconds), but the parent's context travels on, so that the consumer and
        everything after it follow the same decision."""
        if not self._propagate or "traceparent" in message_attributes:
            return message_attributes
        carried = self._carried
        if carried is None or carried[0] != parent:
            values = {key: _string(value) for key, value in format_trace_context(parent).items()}
            carried = self._carried = (parent, values)
        if len(message_attributes) + len(carried[1]) > MAX_MESSAGE_ATTRIBUTES:
            self._skipped(queue, message_attributes)
            return message_attributes
        attributes = dict(message_attributes)
        attributes.update(carried[1])
        return attributes

    def _skipped(self, queue: str, message_attributes: Mapping[str, object]) -> None:
        """The trace context would pass SQS's attribute limit: say so, once per queue."""
        if queue not in self._warned:
            self._warned.add(queue)
            logger.warning(
                "trace context not added to messages for %s: they already carry %d "
                "message attributes and SQS allows %d",
                queue,
                len(message_attributes),
                MAX_MESSAGE_ATTRIBUTES,
                extra={"queue": queue, "operation": "send"},
            )

    # -- process ----------------------------------------------------------------------------------

    async def middleware(
        self, context: MessageContext, call_next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Consumer middleware: the ``process`` span around the handler."""
        scope = self.process_started(context)
        if scope is None:
            return await call_next()
        try:
            result = await call_next()
        except Exception as exc:  # a cancellation (shutdown) is not the handler's failure
            self.process_ended(scope, exc)
            raise
        except BaseException:
            self.process_ended(scope)
            raise
        self.process_ended(scope)
        return result

    def process_started(self, context: MessageContext) -> _Scope | None:
        """Enter the handling of a message: its ``process`` span started and made current (or,
        for an unsampled producer, that producer's context made current, without a span).
        ``None``: nothing was entered. Leave with :meth:`process_ended`, in the same task."""
        producer = self._sampled_producer(context.message_attributes, context.attributes, context)
        if producer is False:
            # The producer's trace is not sampled: no span, but the handler runs inside that
            # context, so that its own spans (and messages it publishes) follow the decision.
            # The context is parsed only if one of them asks for it.
            parent = self._unsampled_parent(self, context)
            return self._attach(self._in_context(parent)), None
        if producer is None and self._noop:
            return None  # no parent, a no-op tracer: no span, no context
        name, fixed = self._named("process", "process", context.queue.name)
        if producer is not None:
            # Sampled upstream: the span will (almost always) record, so its attributes are
            # handed over at once.
            attributes = dict(fixed)
            attributes["messaging.message.id"] = context.message_id
            group = context.group_id
            if group is not None:
                attributes["messaging.message.conversation_id"] = group
            attributes["esqs.receive_count"] = context.receive_count
            parent_context = self._wrap(producer)
            span = self._start_span(
                name, context=parent_context, kind=self._consumer, attributes=attributes
            )
        else:
            # A root: the sampler decides, so the rest is only looked up for a recorded span.
            parent_context = None
            span = self._start_span(name, kind=self._consumer, attributes=fixed)
            if span.is_recording():
                more: dict[str, Any] = {"messaging.message.id": context.message_id}
                group = context.group_id
                if group is not None:
                    more["messaging.message.conversation_id"] = group
                more["esqs.receive_count"] = context.receive_count
                span.set_attributes(more)
            elif not span.get_span_context().is_valid:
                return None  # a no-op tracer: no context worth attaching
        if span.is_recording():
            recorded = self._recorded
            recorded[context.receipt_handle] = span.get_span_context()
            if len(recorded) > _PENDING_LIMIT:
                # Messages that are never deleted here (retried ones) fall out oldest first.
                recorded.popitem(last=False)
        # attach/detach by hand: trace.use_span's generator-based context manager costs more
        # than everything else here together. The span goes into its parent's context (the
        # current one plus the producer) without looking the current one up again.
        return self._attach(self._in_context(span, parent_context)), span

    def process_ended(self, scope: _Scope, error: BaseException | None = None) -> None:
        """Leave what :meth:`process_started` entered; ``error``: the handler's failure."""
        token, span = scope
        self._detach(token)
        if span is not None:
            if error is not None and span.is_recording():
                self.failed(span, error)
            span.end()

    # -- receive and settle -----------------------------------------------------------------------

    def receive_span(
        self, queue_url: str, messages: Sequence[ReceivedMessage], start_time: int
    ) -> Span | None:
        """The span of one ReceiveMessage call, started afterwards at ``start_time``
        (nanoseconds since the epoch), linked to the sampled producers among ``messages``.
        ``None`` (no span) for an empty receive and for one whose messages all belong to
        unsampled traces: nothing recorded would ever point at it."""
        if not messages or self._noop:
            return None  # a no-op tracer would make nothing of it either
        links: list[Any] = []
        untraced = False
        link = self._trace.Link
        sampled_producer = self._sampled_producer
        received = self._received
        for message in messages:
            producer = sampled_producer(message.message_attributes, message.attributes)
            if producer is None:
                untraced = True
            elif producer is not False:
                links.append(link(producer))
                received[message.receipt_handle] = producer
        while len(received) > _PENDING_LIMIT:
            received.popitem(last=False)  # never processed here (released at a stop)
        if not links and not untraced:
            return None
        name, fixed = self._named("receive", "receive", queue_name(queue_url))
        attributes = dict(fixed)
        attributes["messaging.batch.message_count"] = len(messages)
        return self._start_span(
            name, kind=self._client, attributes=attributes, links=links, start_time=start_time
        )

    def receive_failed(self, queue_url: str, error: BaseException, start_time: int) -> None:
        if self._noop:
            return
        name, fixed = self._named("receive", "receive", queue_name(queue_url))
        span = self._start_span(name, kind=self._client, attributes=fixed, start_time=start_time)
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
        lookup = recorded.pop if operation == "delete" else recorded.get
        contexts: list[SpanContext] = []
        for entry in entries:
            found = lookup(entry.receipt_handle, None)
            if found is not None:
                contexts.append(found)
        if not contexts:
            return None
        name, fixed = self._named(operation, "settle", queue_name(queue_url))
        attributes = dict(fixed)
        attributes["messaging.batch.message_count"] = len(entries)
        link = self._trace.Link
        return self._start_span(
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
