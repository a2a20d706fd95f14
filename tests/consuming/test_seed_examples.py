"""The seed's consumer examples ("Consumer Configuration", "Consumer Error Handling",
"Throughput Optimization", "Horizontal Scaling", "Integration Testing"), written in Python
against this API, run as tests on the embedded engine."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.errors import ValidationError
from tests.consuming.helpers import Recorder, counts

logger = logging.getLogger("seed-example")


async def test_consumer_configuration_examples(memory_sqs: EnterpriseSQS) -> None:
    sqs = memory_sqs
    await sqs.get_sqs_client().create_queue("critical-orders.fifo", {"FifoQueue": "true"})
    await sqs.get_sqs_client().create_queue("events")
    reliable_consumer = sqs.create_consumer(
        "critical-orders.fifo",
        processing_mode="sequential",  # Sequential for critical operations
        batch_size=1,  # One message at a time
        max_messages=1,  # Single message processing
        wait_time_seconds=20,  # Long polling
        visibility_timeout_seconds=300,  # 5 minutes visibility timeout
        throttle_delay_ms=100,  # Small delay between messages
    )
    fast_consumer = sqs.create_consumer(
        "events",
        processing_mode="parallel",  # Parallel for high throughput
        batch_size=10,  # Process 10 messages at once
        max_messages=10,  # Receive up to 10 messages
        wait_time_seconds=20,  # Long polling
        visibility_timeout_seconds=60,  # 1 minute visibility timeout
        throttle_delay_ms=10,  # Minimal delay
    )
    orders = sqs.create_publisher("critical-orders.fifo", message_group_id="order-processing")
    events = sqs.create_publisher("events")
    for n in range(3):
        assert (await orders.publish({"type": "order-created", "n": n})).success
    assert all(r.success for r in await events.publish_many({"n": n} for n in range(20)))

    handled_orders: list[int] = []
    handled_events: list[int] = []

    async def order_handler(message: Any, context: MessageContext) -> None:
        handled_orders.append(message["n"])

    async def event_handler(message: Any, context: MessageContext) -> None:
        handled_events.append(message["n"])

    reliable, fast = Recorder(reliable_consumer), Recorder(fast_consumer)
    await reliable_consumer.start(order_handler)
    await fast_consumer.start(event_handler)
    await reliable.wait(lambda r: r.count("processed") == 3)
    await fast.wait(lambda r: r.count("processed") == 20)
    assert handled_orders == [0, 1, 2]
    assert sorted(handled_events) == list(range(20))
    # A stop lets a long poll in flight finish (up to 20 s here); abort it: the test is done.
    await reliable_consumer.stop(abort_receive=True)
    await fast_consumer.stop(abort_receive=True)


async def process_user_registration(message: Any) -> None:
    pass


async def process_order_created(message: Any) -> None:
    if message.get("fail"):
        raise TimeoutError("payment service timed out")


async def test_consumer_error_handling_example(memory_sqs: EnterpriseSQS) -> None:
    sqs = memory_sqs
    await sqs.get_sqs_client().create_queue("orders")
    consumer = sqs.create_consumer("orders", wait_time_seconds=0, polling_interval=20)
    outcomes: list[str] = []
    failed_once = False

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal failed_once
        start = time.monotonic()
        try:
            if not message or not message.get("type"):
                raise ValidationError("Invalid message format")
            match message["type"]:
                case "user-registration":
                    await process_user_registration(message)
                case "order-created":
                    if message.get("flaky") and not failed_once:
                        failed_once = True
                        await process_order_created({"fail": True})
                    await process_order_created(message)
                case _:
                    logger.warning("Unknown message type: %s", message["type"])
                    outcomes.append("skipped")
                    return  # Skip processing unknown message types
            outcomes.append(message["type"])
            logger.info("processed in %.1f ms", (time.monotonic() - start) * 1000)
        except ValidationError:
            # Validation errors - don't retry (re-raised: the consumer dead-letters or
            # discards it, logged and counted, instead of dropping it silently)
            outcomes.append("invalid")
            raise
        except TimeoutError:
            outcomes.append("timeout")  # Timeout errors - may be retried
            raise  # Re-raise to trigger SQS retry

    recorder = Recorder(consumer)
    await consumer.start(handler)
    publisher = sqs.create_publisher("orders")
    await publisher.publish({"type": "user-registration"})
    await publisher.publish({"type": "order-created", "flaky": True})
    await publisher.publish({"type": "newsletter"})
    await publisher.publish({"no-type": True})
    await recorder.wait(lambda r: r.count("processed") == 3 and r.count("discarded") == 1)
    await consumer.stop()
    assert sorted(outcomes) == sorted(
        ["user-registration", "timeout", "order-created", "skipped", "invalid"]
    )
    assert consumer.stats.retried == 1


async def test_throughput_and_horizontal_scaling_examples(memory_sqs: EnterpriseSQS) -> None:
    sqs = memory_sqs
    await sqs.get_sqs_client().create_queue("high-volume-queue")
    high_throughput_consumer = sqs.create_consumer(
        "high-volume-queue",
        processing_mode="parallel",
        batch_size=20,  # Process 20 messages in parallel
        max_messages=20,  # Receive up to 20 messages (two receives of 10: SQS's limit)
        wait_time_seconds=20,
        visibility_timeout_seconds=300,
        throttle_delay_ms=0,  # No throttling for maximum throughput
        polling_interval=100,  # Fast polling
    )
    seen: dict[int, str] = {}

    def create_consumer_instance(instance_id: int) -> Any:
        consumer = sqs.create_consumer(
            "high-volume-queue", processing_mode="parallel", batch_size=10, max_messages=10
        )

        async def handler(message: Any, context: MessageContext) -> None:
            logger.info("Instance %d processing: %s", instance_id, message)
            assert message["id"] not in seen
            seen[message["id"]] = f"instance-{instance_id}"

        return consumer, handler

    instances = [create_consumer_instance(i) for i in range(5)]
    for consumer, handler in instances:
        await consumer.start(handler)

    async def extra(message: Any, context: MessageContext) -> None:
        seen[message["id"]] = "high-throughput"

    await high_throughput_consumer.start(extra)
    publisher = sqs.create_publisher("high-volume-queue")
    assert all(r.success for r in await publisher.publish_many({"id": i} for i in range(300)))
    async with asyncio.timeout(20):
        while len(seen) < 300:  # polling a counter the consumer owns
            await asyncio.sleep(0.01)
    for consumer, _ in instances:
        await consumer.stop(abort_receive=True)
    await high_throughput_consumer.stop(abort_receive=True)
    assert sorted(seen) == list(range(300))


async def test_integration_testing_example(memory_sqs: EnterpriseSQS) -> None:
    sqs = memory_sqs
    await sqs.get_sqs_client().create_queue(
        "test-queue.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    publisher = sqs.create_publisher("test-queue.fifo", message_group_id="tests")
    consumer = sqs.create_consumer("test-queue.fifo", wait_time_seconds=1)
    processed_message: Any = None
    arrived = asyncio.Event()

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal processed_message
        processed_message = message
        arrived.set()

    await consumer.start(handler)
    await publisher.publish({"type": "test", "data": "hello"})
    await asyncio.wait_for(arrived.wait(), 10)  # wait for processing (an event, not a sleep)
    await consumer.stop()
    assert processed_message is not None
    assert processed_message["type"] == "test"
    url = await sqs.get_sqs_client().get_queue_url("test-queue.fifo")
    assert await counts(sqs, url) == (0, 0)
