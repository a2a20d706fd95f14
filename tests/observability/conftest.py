"""Observability tests: the embedded engine with a ManualClock (uptime and throughput move only
when a test says so), an OpenTelemetry SDK with an in-memory exporter, and moto behind a TCP
proxy where a real network outage matters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.resilience import set_testing


@pytest.fixture(autouse=True)
def _zero_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sqs(clock: ManualClock) -> AsyncIterator[EnterpriseSQS]:
    async with EnterpriseSQS(
        EnterpriseSQSConfig(backend="memory://", retry=RetryConfig(max_retries=2)), clock=clock
    ) as client:
        yield client


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


# Polling that keeps engine tests quick: short polls 10 ms apart, handlers retried at once.
FAST = {"wait_time_seconds": 0, "polling_interval": 10, "retry_base_delay": 0}


async def make_queue(sqs: EnterpriseSQS, name: str, *, dlq: bool = False) -> str:
    """Create ``name`` (with ``name-dlq`` as its dead-letter queue, maxReceiveCount 5)."""
    client = sqs.get_sqs_client()
    attributes: dict[str, str] = {}
    if dlq:
        dlq_url = await client.create_queue(f"{name}-dlq")
        arn = (await client.get_queue_attributes(dlq_url, ["QueueArn"]))["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})
    return await client.create_queue(name, attributes)
