"""Scaling and disaster-recovery tests: the embedded engine, plus real servers (moto, esqs serve)
and the TCP proxy where the behaviour depends on a real network."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.resilience import set_testing
from tests.support.moto import moto_server


@pytest.fixture(autouse=True)
def _zero_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture(scope="session")
def scaling_moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
async def sqs() -> AsyncIterator[EnterpriseSQS]:
    client = EnterpriseSQS(
        EnterpriseSQSConfig(backend="memory://", retry=RetryConfig(max_retries=2)),
        per_queue_breakers=True,
    )
    try:
        yield client
    finally:
        await client.aclose()
