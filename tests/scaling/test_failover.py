"""Multi-region failover over real parts: region A is AWSBackend → TCP proxy → moto server,
region B the embedded engine. The proxy cuts A off; the publisher fails over, and back."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.consuming.multi import MultiQueueConsumer
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.publishing.failover import FailoverPublisher
from tests.support.moto import reset_moto
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.slow

QUEUE = "orders.fifo"
BREAKER = CircuitBreakerConfig(failure_threshold=2, timeout=0.3, monitoring_period=30)
RETRY = RetryConfig(max_retries=1)


@pytest.fixture
async def regions(
    scaling_moto_url: str,
) -> AsyncIterator[tuple[TcpProxy, EnterpriseSQS, EnterpriseSQS]]:
    reset_moto(scaling_moto_url)
    parts = urlsplit(scaling_moto_url)
    assert parts.hostname is not None and parts.port is not None
    async with TcpProxy(parts.hostname, parts.port) as proxy:
        east = EnterpriseSQS(
            EnterpriseSQSConfig(
                backend=proxy.url,
                region="us-east-1",
                credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
                circuit_breaker=BREAKER,
                retry=RETRY,
            )
        )
        west = EnterpriseSQS(
            EnterpriseSQSConfig(
                backend="memory://", region="us-west-2", circuit_breaker=BREAKER, retry=RETRY
            )
        )
        for client in (east, west):
            await client.get_sqs_client().create_queue(QUEUE, {"FifoQueue": "true"})
        try:
            yield proxy, east, west
        finally:
            await east.aclose()
            await west.aclose()


async def consume_everything(
    clients: list[EnterpriseSQS], expected: int
) -> list[tuple[str, str | None, str]]:
    """Read every region with one consumer: (body, deduplication id, region's queue URL)."""
    got: list[tuple[str, str | None, str]] = []
    done = asyncio.Event()

    async def handler(message: Any, context: Any) -> None:
        got.append((str(message["n"]), context.deduplication_id, context.queue.url))
        if len(got) >= expected:
            done.set()

    consumer = MultiQueueConsumer(
        [(c, QUEUE) for c in clients], concurrency=4, wait_time_seconds=0, polling_interval=10
    )
    await consumer.start(handler)
    await asyncio.wait_for(done.wait(), 30)
    await consumer.stop()
    return got


async def test_failover_and_failback_deliver_each_message_exactly_once_on_one_side(
    regions: tuple[TcpProxy, EnterpriseSQS, EnterpriseSQS],
) -> None:
    proxy, east, west = regions
    publisher = FailoverPublisher(
        {"us-east-1": east, "us-west-2": west},
        QUEUE,
        message_group_id="orders",
        probe_interval=0.05,
    )
    where: dict[int, str | None] = {}

    async def send(numbers: range) -> None:
        for n in numbers:  # one at a time: order within the group is the point
            result = await publisher.publish({"n": n}, deduplication_id=f"order-{n}")
            assert result.success, result
            where[n] = result.destination

    await send(range(10))
    assert set(where.values()) == {"us-east-1"}

    await proxy.set_mode("refuse")
    await send(range(10, 20))
    assert {where[n] for n in range(10, 20)} == {"us-west-2"}
    assert publisher.active == "us-west-2" and publisher.failovers == 1

    await proxy.set_mode("forward")
    for _ in range(400):  # the probe fails back once the breaker's 0.3 s timeout has passed
        if publisher.active == "us-east-1":
            break
        await asyncio.sleep(0.025)
    assert publisher.active == "us-east-1" and publisher.failbacks == 1
    await send(range(20, 30))
    assert {where[n] for n in range(20, 30)} == {"us-east-1"}

    # A message resent to the same region keeps its deduplication id: the queue drops it.
    again = await publisher.publish({"n": 25}, deduplication_id="order-25")
    assert again.success and again.destination == "us-east-1"

    got = await consume_everything([east, west], expected=30)
    await asyncio.sleep(0.2)  # room for a duplicate to show up, were there one
    counts = Counter(body for body, _, _ in got)
    assert counts == Counter(str(n) for n in range(30)), counts
    urls = {
        "us-east-1": await east.get_sqs_client().get_queue_url(QUEUE),
        "us-west-2": await west.get_sqs_client().get_queue_url(QUEUE),
    }
    assert urls["us-east-1"] != urls["us-west-2"]
    for body, dedup_id, url in got:
        assert dedup_id == f"order-{body}"  # preserved across the failover
        assert url == urls[str(where[int(body)])]  # it landed where the result said
    await publisher.aclose()


async def test_every_region_down_returns_the_failure(
    regions: tuple[TcpProxy, EnterpriseSQS, EnterpriseSQS],
) -> None:
    proxy, east, west = regions
    publisher = FailoverPublisher([east, west], QUEUE, message_group_id="g", probe_interval=0.05)
    assert publisher.destinations == ["us-east-1", "us-west-2"]
    await proxy.set_mode("refuse")
    west.get_sqs_client().breaker().force_open()
    result = await publisher.publish({"n": 1})
    assert not result.success and result.error is not None
    await publisher.aclose()


def test_failover_needs_two_clients() -> None:
    with pytest.raises(ConfigurationError, match="two or more"):
        FailoverPublisher([EnterpriseSQS()], QUEUE)
