"""Security tests: codecs on the embedded engine and on moto server (SQS, S3, KMS, STS)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import boto3
import pytest

from enterprise_sqs import Credentials
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.base import Codec
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.consuming.events import ConsumerEvent
from enterprise_sqs.resilience import set_testing
from tests.support.moto import moto_server, reset_moto

_counter = itertools.count()
MOTO_CREDENTIALS = Credentials(access_key_id="testing", secret_access_key="testing")


@pytest.fixture(autouse=True)
def _zero_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def boto(moto_url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def memory_client() -> EnterpriseSQS:
    return EnterpriseSQS(EnterpriseSQSConfig(backend="memory://", retry=RetryConfig(max_retries=2)))


def moto_client(url: str, credentials: Credentials = MOTO_CREDENTIALS) -> EnterpriseSQS:
    return EnterpriseSQS(
        EnterpriseSQSConfig(
            backend=url,
            region="us-east-1",
            credentials=credentials,
            retry=RetryConfig(max_retries=2),
        )
    )


@pytest.fixture
async def memory_sqs() -> AsyncIterator[EnterpriseSQS]:
    async with memory_client() as client:
        yield client


@pytest.fixture
async def moto_sqs(moto_url: str) -> AsyncIterator[EnterpriseSQS]:
    reset_moto(moto_url)
    async with moto_client(moto_url) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return f"s{os.getpid() % 10000}x{next(_counter)}"


async def make_queue(sqs: EnterpriseSQS, name: str, *, dlq: bool = False) -> tuple[str, str | None]:
    """Create ``name`` (with ``name-dlq`` as its dead-letter queue if asked)."""
    client = sqs.get_sqs_client()
    attributes: dict[str, str] = {}
    dlq_url = None
    if dlq:
        dlq_url = await client.create_queue(f"{name}-dlq", {})
        arn = (await client.get_queue_attributes(dlq_url, ["QueueArn"]))["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})
    return await client.create_queue(name, attributes), dlq_url


def is_engine(sqs: EnterpriseSQS) -> bool:
    return sqs.get_sqs_client().name.startswith(("memory", "sqlite"))


async def consume(
    sqs: EnterpriseSQS,
    queue: str,
    count: int,
    *,
    codecs: Sequence[Codec] = (),
    fates: frozenset[str] = frozenset({"processed", "dead_lettered", "discarded"}),
    **options: Any,
) -> tuple[list[Any], list[ConsumerEvent]]:
    """Run a consumer until ``count`` messages were settled (any fate); return the handled
    messages and the fate events (processed, dead_lettered, discarded, denied). ``fates``: the
    event kinds that mean "settled"."""
    handled: list[Any] = []
    events: list[ConsumerEvent] = []
    done = asyncio.Event()
    settled = set(fates)
    polling = (
        {"wait_time_seconds": 0, "polling_interval": 10}
        if is_engine(sqs)
        else {"wait_time_seconds": 1}
    )
    consumer = sqs.create_consumer(queue, codecs=list(codecs), **{**polling, **options})

    def observe(event: ConsumerEvent) -> None:
        events.append(event)
        if sum(e.kind in settled for e in events) >= count:
            done.set()

    consumer.subscribe(observe)

    async def handler(message: Any, context: Any) -> None:
        handled.append(message)

    await consumer.start(handler)
    try:
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await consumer.stop(abort_receive=True)
    return handled, [e for e in events if e.kind in settled | {"denied"}]
