"""The seed's publisher examples ("Comprehensive Error Handling", "Load Testing", the unit-test
example), written in Python against this API, run as tests."""

from __future__ import annotations

import time
from typing import Any

from enterprise_sqs import open_backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.errors import CircuitOpenError, ServiceUnavailable
from enterprise_sqs.publishing.publisher import Publisher
from enterprise_sqs.resilience import FaultyBackend


class PublishingFailedError(Exception):
    pass


async def publish_with_error_handling(
    publisher: Publisher, message: Any, fallback: list[Any]
) -> dict[str, Any]:
    """The seed's publishWithErrorHandling, with typed errors instead of string matching."""
    result = await publisher.publish(message)
    if result.success:
        if result.duplicate:
            return {"success": True, "duplicate": True}
        return {"success": True, "message_id": result.message_id}
    if isinstance(result.error, CircuitOpenError):
        fallback.append(message)  # handleCircuitBreakerOpen(message)
        return {"success": False, "fallback": True}
    raise PublishingFailedError(f"Publishing failed: {result.error}") from result.error


async def test_error_handling_example_success_and_duplicate_paths() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        publisher = sqs.create_publisher(
            "critical-orders.fifo",
            create_queue=True,
            message_group_id="order-processing",
            enable_deduplication=True,
            deduplication_strategy="content",
        )
        fallback: list[Any] = []
        first = await publish_with_error_handling(publisher, {"type": "order-created"}, fallback)
        again = await publish_with_error_handling(publisher, {"type": "order-created"}, fallback)
        assert first["success"]
        assert first["message_id"]
        assert again == {"success": True, "duplicate": True}
        assert fallback == []


async def test_error_handling_example_falls_back_when_the_breaker_opens() -> None:
    faulty = FaultyBackend(open_backend("memory://"))
    config = EnterpriseSQSConfig(
        circuit_breaker=CircuitBreakerConfig(failure_threshold=3, timeout=60, monitoring_period=30),
        retry=RetryConfig(max_retries=0),
    )
    async with EnterpriseSQS(config, backend=faulty) as sqs:
        publisher = sqs.create_publisher("events", create_queue=True, linger=0)
        assert (await publisher.publish({"n": 0})).success
        faulty.fail(ServiceUnavailable, operations={"send_batch"})
        fallback: list[Any] = []
        outcomes = []
        for n in range(1, 6):
            try:
                outcomes.append(await publish_with_error_handling(publisher, {"n": n}, fallback))
            except PublishingFailedError as exc:
                outcomes.append({"failed": True, "cause": type(exc.__cause__)})
        # three real failures open the breaker; the next publishes fail fast into the fallback
        assert outcomes[:3] == [{"failed": True, "cause": ServiceUnavailable}] * 3
        assert outcomes[3:] == [{"success": False, "fallback": True}] * 2
        assert fallback == [{"n": 4}, {"n": 5}]
        assert sqs.get_sqs_client().get_circuit_breaker_status().state.value == "OPEN"


async def test_unit_test_examples_from_the_seed() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        publisher = sqs.create_publisher("test-queue.fifo", create_queue=True, message_group_id="t")
        result = await publisher.publish({"type": "test"})
        assert result.success is True
        assert result.message_id is not None

        invalid = sqs.create_publisher("invalid-queue")
        result = await invalid.publish({"type": "test"})
        assert result.success is False
        assert result.error is not None


async def test_load_test_example_publishes_a_thousand_messages() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        publisher = sqs.create_publisher("load-test-queue", create_queue=True)
        start = time.perf_counter()
        results = await publisher.publish_many(
            {"id": i, "data": f"message-{i}"} for i in range(1000)
        )
        elapsed = time.perf_counter() - start
        successful = sum(r.success for r in results)
        throughput = successful / elapsed
        assert successful == 1000
        assert throughput > 0
        attributes = await sqs.get_sqs_client().get_queue_attributes(
            results[0].queue_url or "", ["ApproximateNumberOfMessages"]
        )
        assert attributes["ApproximateNumberOfMessages"] == "1000"
