"""OpenTelemetry: a real SDK (in-memory exporter) sees one trace cross from publisher to consumer,
with the messaging conventions; the 10-attribute limit and X-Ray headers are respected."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability import Tracing
from enterprise_sqs.observability.tracing import parse_xray_header
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue

Spans = tuple[TracerProvider, InMemorySpanExporter]


def named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


async def consume(sqs: EnterpriseSQS, queue: str, count: int) -> list[MessageContext]:
    seen: list[MessageContext] = []

    async def handler(message: Any, context: MessageContext) -> None:
        seen.append(context)

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
