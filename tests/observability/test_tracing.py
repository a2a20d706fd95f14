"""OpenTelemetry: a real SDK (in-memory exporter) sees one trace cross from publisher to consumer,
with the messaging conventions; the 10-attribute limit and X-Ray headers are respected."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability import Tracing
from enterprise_sqs.observability.tracing import parse_traceparent, parse_xray_header
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue

Spans = tuple[TracerProvider, InMemorySpanExporter]


def named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def provider_with(sampler: Sampler) -> Spans:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


class CountingSampler(Sampler):
    """Counts the spans asked for by name: an SDK asks its sampler about every span started,
    recorded or not, so this shows the spans that were never even started."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner
        self.asked: Counter[str] = Counter()

    def should_sample(
        self, parent_context: Any, trace_id: int, name: str, *args: Any, **kw: Any
    ) -> Any:
        self.asked[name] += 1
        return self.inner.should_sample(parent_context, trace_id, name, *args, **kw)

    def get_description(self) -> str:
        return f"Counting({self.inner.get_description()})"


def sampled_flag(context: MessageContext) -> bool:
    parsed = parse_traceparent(context.message_attributes["traceparent"].string_value or "")
    assert parsed is not None
    return parsed[2]


async def consume(
    sqs: EnterpriseSQS, queue: str, count: int, *, inside: list[trace.Span] | None = None
) -> list[MessageContext]:
    """Consume ``count`` messages; ``inside`` collects the span current in each handler."""
    seen: list[MessageContext] = []

    async def handler(message: Any, context: MessageContext) -> None:
        seen.append(context)
        if inside is not None:
            inside.append(trace.get_current_span())

    consumer = sqs.create_consumer(queue, **FAST)
    recorder = Recorder(consumer)
    await consumer.start(handler)
    await recorder.wait(lambda r: r.count("processed") == count)
    await consumer.stop()
    return seen


async def test_one_trace_crosses_from_publisher_to_consumer(spans: Spans) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("app")
    async with EnterpriseSQS(
        backend="memory://", clock=ManualClock(), tracing=Tracing(tracer_provider=provider)
    ) as sqs:
        await make_queue(sqs, "orders")
        with tracer.start_as_current_span("checkout") as checkout:
            result = await sqs.create_publisher("orders").publish({"order": 1})
        assert result.success
        [context] = await consume(sqs, "orders", 1)
        assert "traceparent" in context.message_attributes

    [send] = named(exporter, "send orders")
    [process] = named(exporter, "process orders")
    trace_id = checkout.get_span_context().trace_id
    assert send.kind is SpanKind.PRODUCER
    assert send.parent is not None and send.parent.span_id == checkout.get_span_context().span_id
    assert send.context.trace_id == trace_id
    assert process.kind is SpanKind.CONSUMER
    assert process.context.trace_id == trace_id  # the same trace, across the queue
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    for span in (send, process):
        assert span.attributes is not None
        assert span.attributes["messaging.system"] == "aws_sqs"
        assert span.attributes["messaging.destination.name"] == "orders"
        assert span.attributes["messaging.message.id"] == result.message_id
    assert send.attributes is not None and send.attributes["messaging.operation.type"] == "send"

    receives = [s for s in named(exporter, "receive orders") if s.links]
    assert receives, "a receive span links to the producer"
    assert receives[0].links[0].context.span_id == send.context.span_id
    assert receives[0].attributes is not None
    assert receives[0].attributes["messaging.batch.message_count"] == 1
    [delete] = named(exporter, "delete orders")
    assert delete.attributes is not None
    assert delete.attributes["messaging.operation.type"] == "settle"


async def test_a_failing_handler_marks_its_process_span(spans: Spans) -> None:
    provider, exporter = spans
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "q")
        await sqs.create_publisher("q").publish({"n": 1})
        attempts = 0

        async def handler(message: Any, context: MessageContext) -> None:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise RuntimeError("boom")

        consumer = sqs.create_consumer("q", **FAST)
        recorder = Recorder(consumer)
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 1)
        await consumer.stop()
    first, second = named(exporter, "process q")
    assert first.status.status_code is StatusCode.ERROR
    assert second.status.status_code is not StatusCode.ERROR
    assert first.context.trace_id == second.context.trace_id
    assert named(exporter, "change_visibility q")


async def test_trace_context_is_skipped_past_ten_attributes(
    spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    provider, exporter = spans
    attributes = {f"a{n}": str(n) for n in range(10)}
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "full")
        publisher = sqs.create_publisher("full")
        with caplog.at_level(logging.WARNING, logger="enterprise_sqs.observability.tracing"):
            first = await publisher.publish({"b": "x"}, attributes=attributes)
            second = await publisher.publish({"b": "y"}, attributes=attributes)
            fits = await publisher.publish({"b": "z"}, attributes={"a": "1"})
        assert first.success and second.success and fits.success
        contexts = await consume(sqs, "full", 3)
    by_body = {c.message["b"]: c for c in contexts}
    assert "traceparent" not in by_body["x"].message_attributes
    assert len(by_body["x"].message_attributes) == 10
    assert "traceparent" in by_body["z"].message_attributes
    warnings = [r for r in caplog.records if "trace context not added" in r.getMessage()]
    assert len(warnings) == 1  # once per queue, not once per message
    sends = named(exporter, "send full")
    assert (
        sum(1 for s in sends if s.attributes and s.attributes.get("esqs.trace_context_skipped"))
        == 2
    )


async def test_an_xray_trace_header_is_honoured_on_receive(spans: Spans) -> None:
    provider, exporter = spans
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    async with EnterpriseSQS(backend="memory://") as plain:
        await make_queue(plain, "xray")
        assert (await plain.create_publisher("xray").publish({"x": 1}, trace_header=header)).success
        backend = plain.get_sqs_client().inner
        async with EnterpriseSQS(
            backend=backend, tracing=Tracing(tracer_provider=provider)
        ) as traced:
            await consume(traced, "xray", 1)
    [process] = named(exporter, "process xray")
    assert format(process.context.trace_id, "032x") == "5759e988bd862e3fe1be46a994272793"
    assert process.parent is not None
    assert format(process.parent.span_id, "016x") == "53995c3f42cd8ad8"


async def test_a_failed_publish_ends_its_send_span_with_an_error(spans: Spans) -> None:
    provider, exporter = spans
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "small")
        result = await sqs.create_publisher("small").publish("x" * 1_100_000)
        assert not result.success
    [send] = named(exporter, "send small")
    assert send.status.status_code is StatusCode.ERROR
    assert send.attributes is not None and send.attributes["error.type"] == "MessageTooLong"


def test_xray_headers_are_parsed_strictly() -> None:
    assert parse_xray_header(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
    ) == (0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, False)
    for bad in ("", "Root=1-5759e988-bd86;Parent=53995c3f42cd8ad8", "Root=1-x;Parent=y", "junk"):
        assert parse_xray_header(bad) is None


async def test_tracing_option_is_validated() -> None:
    with pytest.raises(ConfigurationError):
        EnterpriseSQS(tracing="on")  # type: ignore[arg-type]  # the wrong type on purpose
    await asyncio.sleep(0)


async def test_unsampled_messages_make_no_spans_and_sampled_ones_still_cross() -> None:
    # The root sampler drops everything: only a message sent inside a sampled (remote) trace
    # is traced, and nothing at all is recorded for the others, on either side of the queue.
    sampler = CountingSampler(ParentBased(ALWAYS_OFF))
    provider, exporter = provider_with(sampler)
    upstream = trace.SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    app = provider.get_tracer("app")
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "mixed")
        publisher = sqs.create_publisher("mixed")
        assert (await publisher.publish({"n": "root"})).success  # a root the sampler drops
        with app.start_as_current_span("checkout") as checkout:  # dropped too: not recording
            assert not checkout.is_recording()
            assert (await publisher.publish({"n": "inside"})).success
        token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(upstream)))
        try:
            sampled = await publisher.publish({"n": "sampled"})
        finally:
            otel_context.detach(token)
        inside: list[trace.Span] = []
        contexts = await consume(sqs, "mixed", 3, inside=inside)
    provider.shutdown()
    by_body = {c.message["n"]: c for c in contexts}
    spans = exporter.get_finished_spans()
    assert {s.context.trace_id for s in spans} == {upstream.trace_id}
    # The unsampled ones still carry their context, so the consumer follows the decision ...
    assert not sampled_flag(by_body["root"]) and not sampled_flag(by_body["inside"])
    # ... an unsampled parent's own context, unchanged (no span of ours in between) ...
    checkout_context = checkout.get_span_context()
    parsed = parse_traceparent(
        by_body["inside"].message_attributes["traceparent"].string_value or ""
    )
    assert parsed == (checkout_context.trace_id, checkout_context.span_id, False)
    # ... and the handler runs inside it: its own spans follow the decision too.
    handler_spans = {
        c.message["n"]: span.get_span_context() for c, span in zip(contexts, inside, strict=True)
    }
    assert handler_spans["inside"].trace_id == checkout_context.trace_id
    assert not handler_spans["inside"].trace_flags.sampled
    assert not handler_spans["root"].trace_flags.sampled
    # The sampled message crosses from publisher to consumer as before.
    [send] = named(exporter, "send mixed")
    [process] = named(exporter, "process mixed")
    assert send.parent is not None and send.parent.span_id == upstream.span_id
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    assert process.attributes is not None
    assert process.attributes["messaging.message.id"] == sampled.message_id
    assert handler_spans["sampled"].span_id == process.context.span_id
    # A receive is a root of its own (linked to the producers), which this sampler drops; the
    # delete is the sampled process span's child, so it is recorded with it.
    assert not named(exporter, "receive mixed")
    # Spans started at all: a send for the root (the sampler must decide) and for the sampled
    # message; process and delete only for the sampled one; none inside the unsampled trace.
    assert sampler.asked["send mixed"] == 2
    assert sampler.asked["process mixed"] == 1
    assert sampler.asked["delete mixed"] == 1
    [delete] = named(exporter, "delete mixed")
    assert delete.parent is not None and delete.parent.span_id == process.context.span_id


async def test_sampling_decisions_hold_across_the_queue() -> None:
    # Per message, the consumer follows the publisher's decision: a process (and settle) span
    # exactly for the messages whose send span was sampled, in the same trace.
    provider, exporter = provider_with(ParentBased(TraceIdRatioBased(0.5)))
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "ratio")
        results = await sqs.create_publisher("ratio").publish_many({"n": n} for n in range(40))
        assert all(r.success for r in results)
        contexts = await consume(sqs, "ratio", 40)
    provider.shutdown()
    sampled = {
        c.message_id
        for c in contexts
        if sampled_flag(c)  # the decision the message carries
    }
    assert 0 < len(sampled) < 40  # 2^-40 odds of failing by chance
    sends = {
        s.attributes["messaging.message.id"] for s in named(exporter, "send ratio") if s.attributes
    }
    processes = named(exporter, "process ratio")
    assert sends == sampled
    assert {s.attributes["messaging.message.id"] for s in processes if s.attributes} == sampled
    send_traces = {s.context.trace_id for s in named(exporter, "send ratio")}
    assert {s.context.trace_id for s in processes} == send_traces
    settles = named(exporter, "delete ratio")
    assert settles and {s.context.trace_id for s in settles} <= send_traces
    # Receives are roots the sampler decides on; those recorded link only to sampled sends.
    linked = {link.context.trace_id for r in named(exporter, "receive ratio") for link in r.links}
    assert linked <= send_traces


async def test_without_an_sdk_an_upstream_context_still_crosses_the_queue() -> None:
    # Tracing on with the API's no-op provider (no SDK in this process): nothing is recorded
    # and a message published outside any trace carries none, but one published inside an
    # upstream trace carries that context, sampled or not, and its handler runs inside it.
    def upstream(sampled: bool) -> trace.SpanContext:
        return trace.SpanContext(
            0x0AF7651916CD43DD8448EB211C80319C,
            0xB7AD6B7169203331 if sampled else 0x53995C3F42CD8AD8,
            is_remote=True,
            trace_flags=trace.TraceFlags(int(sampled)),
        )

    tracing = Tracing(tracer_provider=trace.NoOpTracerProvider())
    async with EnterpriseSQS(backend="memory://", tracing=tracing) as sqs:
        await make_queue(sqs, "noop")
        publisher = sqs.create_publisher("noop")
        assert (await publisher.publish({"n": "plain"})).success
        for sampled in (True, False):
            parent = trace.set_span_in_context(trace.NonRecordingSpan(upstream(sampled)))
            token = otel_context.attach(parent)
            try:
                assert (await publisher.publish({"n": sampled})).success
            finally:
                otel_context.detach(token)
        inside: list[trace.Span] = []
        contexts = await consume(sqs, "noop", 3, inside=inside)
    by_body = {c.message["n"]: c for c in contexts}
    handler = {c.message["n"]: s.get_span_context() for c, s in zip(contexts, inside, strict=True)}
    assert "traceparent" not in by_body["plain"].message_attributes
    assert not handler["plain"].is_valid
    for sampled in (True, False):
        expected = upstream(sampled)
        carried = by_body[sampled].message_attributes["traceparent"].string_value or ""
        assert parse_traceparent(carried) == (expected.trace_id, expected.span_id, sampled)
        assert (handler[sampled].trace_id, handler[sampled].span_id) == (
            expected.trace_id,
            expected.span_id,
        )


async def test_a_duplicate_the_publisher_suppressed_ends_its_send_span(spans: Spans) -> None:
    provider, exporter = spans
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "once")
        publisher = sqs.create_publisher("once", enable_deduplication=True)
        first = await publisher.publish({"order": 7})
        again = await publisher.publish({"order": 7})
    assert again.duplicate and again.message_id == first.message_id
    sends = named(exporter, "send once")
    assert len(sends) == 2, "both publishes were traced, and both spans ended"
    duplicate = [s for s in sends if s.attributes and s.attributes.get("esqs.duplicate")]
    assert len(duplicate) == 1
    assert duplicate[0].attributes is not None
    assert duplicate[0].attributes["messaging.message.id"] == first.message_id


async def test_a_cancelled_publish_still_ends_its_send_span(spans: Spans) -> None:
    provider, exporter = spans
    async with EnterpriseSQS(backend="memory://", tracing=Tracing(tracer_provider=provider)) as sqs:
        await make_queue(sqs, "slow")
        publisher = sqs.create_publisher("slow", linger=1)  # the batch waits: the call is parked
        task = asyncio.create_task(publisher.publish({"n": 1}))
        while publisher.pending == 0:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [send] = named(exporter, "send slow")
        assert send.status.status_code is StatusCode.ERROR
        assert send.attributes is not None
        assert send.attributes["error.type"] == "CancelledError"
