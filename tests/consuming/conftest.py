"""Consumer tests run on the embedded engine and on the AWS backend against a moto server."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from enterprise_sqs import Credentials
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.resilience import set_testing
from tests.support.moto import moto_server, reset_moto

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _zero_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture(scope="session")
def consuming_moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def moto_client(url: str) -> EnterpriseSQS:
    return EnterpriseSQS(
        EnterpriseSQSConfig(
            backend=url,
            region="us-east-1",
            credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
            retry=RetryConfig(max_retries=3),
        )
    )


@pytest.fixture(params=["memory", "moto"])
async def sqs(request: pytest.FixtureRequest) -> AsyncIterator[EnterpriseSQS]:
    if request.param == "memory":
        client = EnterpriseSQS(
            EnterpriseSQSConfig(backend="memory://", retry=RetryConfig(max_retries=3))
        )
    else:
        url: str = request.getfixturevalue("consuming_moto_url")
        reset_moto(url)
        client = moto_client(url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def memory_sqs() -> AsyncIterator[EnterpriseSQS]:
    async with EnterpriseSQS(
        EnterpriseSQSConfig(backend="memory://", retry=RetryConfig(max_retries=3))
    ) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return f"c{os.getpid() % 10000}x{next(_counter)}"


async def make_queue(
    sqs: EnterpriseSQS,
    name: str,
    *,
    fifo: bool = False,
    dlq: bool = False,
    max_receive_count: int = 3,
    **attributes: str,
) -> tuple[str, str | None]:
    """Create ``name`` (with ``name-dlq`` as its DLQ if asked); return both URLs."""
    client = sqs.get_sqs_client()
    suffix = ".fifo" if fifo else ""
    base = {"FifoQueue": "true"} if fifo else {}
    dlq_url = None
    if dlq:
        dlq_url = await client.create_queue(f"{name}-dlq{suffix}", dict(base))
        arn = (await client.get_queue_attributes(dlq_url, ["QueueArn"]))["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count}
        )
    url = await client.create_queue(f"{name}{suffix}", {**base, **attributes})
    return url, dlq_url


def poll(sqs: EnterpriseSQS) -> dict[str, int]:
    """Polling options that keep tests quick: on the in-process engine short polls 20 ms apart
    (a stop never waits for a long poll); on moto 1 s long polls (moto is slow to ask)."""
    if sqs.get_sqs_client().name.startswith(("memory", "sqlite")):
        return {"wait_time_seconds": 0, "polling_interval": 20}
    return {"wait_time_seconds": 1}
