"""Every fate of a message, on the embedded engine and on moto server: success → deleted;
ValidationError → the DLQ (or deleted, logged, counted); any other error or a timeout → retried
through SQS with a backoff visibility; Retry(delay=...) → that delay; maxReceiveCount → SQS
moves it to the DLQ."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from typing import Any

import pydantic
import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.errors import HandlerTimeoutError, Retry, ValidationError
from tests.consuming.conftest import make_queue, poll
from tests.consuming.helpers import Recorder, counts, drain


async def test_success_deletes_the_message_and_the_handler_sees_body_and_context(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(sqs, unique)
    publisher = sqs.create_publisher(url)
    sent = await publisher.publish({"type": "order-created", "id": 7}, attributes={"tenant": "a"})
    seen: list[tuple[Any, MessageContext]] = []

    async def handler(message: Any, context: MessageContext) -> None:
        seen.append((message, context))

    consumer = sqs.create_consumer(url, **poll(sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 1)
    message, context = seen[0]
    assert message == {"type": "order-created", "id": 7}
    assert context.message_id == sent.message_id
    assert context.receive_count == 1
    assert context.message_attributes["tenant"].string_value == "a"
    assert context.sent_timestamp is not None
    assert context.queue.url == url
    assert context.group_id is None
    assert consumer.stats.processed == 1
    assert consumer.stats.in_flight == 0
    assert await counts(sqs, url) == (0, 0)


async def test_validation_error_sends_the_original_message_to_the_dlq(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, dlq = await make_queue(sqs, unique, dlq=True)
    assert dlq is not None
    await sqs.create_publisher(url).publish({"bad": True}, attributes={"source": "test"})
    calls = 0

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal calls
        calls += 1
        raise ValidationError("missing field 'type'")

    consumer = sqs.create_consumer(url, **poll(sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("dead_lettered") == 1)
    assert calls == 1, "a non-retryable message must not be retried"
    assert consumer.stats.dead_lettered == 1
    moved = await drain(sqs, dlq, expect=1)
    assert [json.loads(m.body) for m in moved] == [{"bad": True}]
    assert moved[0].message_attributes["source"].string_value == "test"
    assert await counts(sqs, url) == (0, 0)


async def test_validation_error_without_a_dlq_is_deleted_logged_and_counted(
    sqs: EnterpriseSQS, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = await make_queue(sqs, unique)
    await sqs.create_publisher(url).publish({"bad": True})

    def handler(message: Any, context: MessageContext) -> None:  # a sync handler, in a thread
        raise ValidationError("never valid")

    consumer = sqs.create_consumer(url, **poll(sqs))
    recorder = Recorder(consumer)
    with caplog.at_level(logging.WARNING, logger="enterprise_sqs"):
        async with consumer:
            await consumer.start(handler)
            await recorder.wait(lambda r: r.count("discarded") == 1)
    assert consumer.stats.discarded == 1
    assert any("no dead-letter queue" in r.getMessage() for r in caplog.records)
    assert await counts(sqs, url) == (0, 0)


async def test_an_error_is_retried_through_sqs_and_then_succeeds(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(sqs, unique)
    await sqs.create_publisher(url).publish({"n": 1})
    attempts: list[int] = []

    async def handler(message: Any, context: MessageContext) -> None:
        attempts.append(context.receive_count)
        if len(attempts) < 3:
            raise ConnectionError("downstream unavailable")

    # A visibility timeout of 10 minutes: only the backoff (0 in test mode) brings it back soon.
    consumer = sqs.create_consumer(url, **poll(sqs), visibility_timeout_seconds=600)
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 1)
    assert attempts == [1, 2, 3]
    assert consumer.stats.retried == 2
    assert consumer.stats.failed == 2
    assert [e.delay for e in recorder.of("retried")] == [0, 0]
    assert await counts(sqs, url) == (0, 0)


async def test_retry_with_a_delay_hides_the_message_for_that_long(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(sqs, unique)
    await sqs.create_publisher(url).publish({"n": 1})

    async def handler(message: Any, context: MessageContext) -> None:
        raise Retry(delay=300, reason="rate limited upstream")

    consumer = sqs.create_consumer(url, **poll(sqs), visibility_timeout_seconds=1)
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("retried") == 1)
    assert recorder.of("retried")[0].delay == 300
    assert consumer.stats.failed == 0, "a Retry is a request, not a failure"
    assert await counts(sqs, url) == (0, 1)
    assert await drain(sqs, url, wait=0) == []


async def test_after_max_receive_count_sqs_moves_the_message_to_the_dlq(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, dlq = await make_queue(sqs, unique, dlq=True, max_receive_count=2)
    assert dlq is not None
    await sqs.create_publisher(url).publish({"poison": True})

    async def handler(message: Any, context: MessageContext) -> None:
        raise RuntimeError("always fails")

    consumer = sqs.create_consumer(url, **poll(sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("retried") == 2)
        moved = await drain(sqs, dlq, wait=5, expect=1)
    assert [json.loads(m.body) for m in moved] == [{"poison": True}]
    assert consumer.stats.received == 2


async def test_a_handler_past_its_timeout_is_retried(sqs: EnterpriseSQS, unique: str) -> None:
    url, _ = await make_queue(sqs, unique)
    await sqs.create_publisher(url).publish({"n": 1})
    release = asyncio.Event()
    attempts = 0

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await release.wait()  # never set: only the timeout ends this attempt

    consumer = sqs.create_consumer(url, **poll(sqs), handler_timeout=0.2)
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") == 1)
    timed_out = recorder.of("timed_out")
    assert len(timed_out) == 1
    assert isinstance(timed_out[0].error, HandlerTimeoutError)
    assert consumer.stats.timed_out == 1
    assert attempts == 2


@dataclasses.dataclass
class Order:
    id: int
    total: float


class Invoice(pydantic.BaseModel):
    number: int


async def test_declared_types_are_decoded_and_invalid_bodies_are_not_retried(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url, dlq = await make_queue(sqs, unique, dlq=True)
    assert dlq is not None
    publisher = sqs.create_publisher(url)
    await publisher.publish({"id": 1, "total": 9.5})
    await publisher.publish({"id": 2})  # missing total
    await publisher.publish("not json at all")
    orders: list[Order] = []
    thread_names: set[str] = set()

    def handler(message: Order, context: MessageContext) -> None:
        thread_names.add(threading.current_thread().name)
        orders.append(message)

    consumer = sqs.create_consumer(url, **poll(sqs), message_type=Order)
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") + r.count("dead_lettered") == 3)
    assert orders == [Order(id=1, total=9.5)]
    assert consumer.stats.dead_lettered == 2
    assert threading.main_thread().name not in thread_names
    assert {m.body for m in await drain(sqs, dlq, expect=2)} == {'{"id":2}', "not json at all"}

    await publisher.publish({"number": "x"})
    invoices = sqs.create_consumer(url, **poll(sqs), message_type=Invoice)
    recorder = Recorder(invoices)

    async def invoice_handler(message: Invoice, context: MessageContext) -> None:
        raise AssertionError("an invalid Invoice must not reach the handler")

    async with invoices:
        await invoices.start(invoice_handler)
        await recorder.wait(lambda r: r.count("dead_lettered") == 1)
    assert isinstance(recorder.of("dead_lettered")[0].error, ValidationError)


async def test_pydantic_validation_errors_raised_by_handlers_are_not_retried(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, _ = await make_queue(memory_sqs, unique)
    await memory_sqs.create_publisher(url).publish({"number": "x"})

    async def handler(message: Any, context: MessageContext) -> None:
        Invoice.model_validate(message)

    consumer = memory_sqs.create_consumer(url, **poll(memory_sqs))
    recorder = Recorder(consumer)
    async with consumer:
        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("discarded") == 1)
    assert consumer.stats.retried == 0
