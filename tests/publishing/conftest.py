"""Publisher tests run on the embedded engine and on the AWS backend against a moto server."""

from __future__ import annotations

import itertools
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
def publishing_moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(params=["memory", "moto"])
async def sqs(request: pytest.FixtureRequest) -> AsyncIterator[EnterpriseSQS]:
    retry = RetryConfig(max_retries=3)
    if request.param == "memory":
        client = EnterpriseSQS(EnterpriseSQSConfig(backend="memory://", retry=retry))
    else:
        url: str = request.getfixturevalue("publishing_moto_url")
        reset_moto(url)
        client = EnterpriseSQS(
            EnterpriseSQSConfig(
                backend=url,
                region="us-east-1",
                credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
                retry=retry,
            )
        )
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def unique() -> str:
    return f"p{os.getpid() % 10000}x{next(_counter)}"
