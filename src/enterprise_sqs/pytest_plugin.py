"""pytest fixtures for testing code that uses Enterprise SQS (the ``testing`` extra: pytest and
pytest-asyncio). Turn them on in your ``conftest.py``::

    pytest_plugins = ["enterprise_sqs.pytest_plugin"]

- ``esqs``: an :class:`~enterprise_sqs.EnterpriseSQS` on the embedded engine (``memory://``:
  SQS's rules, nothing to install or clean up), with retry backoff off, closed after the test.
  Ask for ``esqs_clock`` as well and the client runs on that
  :class:`~enterprise_sqs.clock.ManualClock`: visibility timeouts, delays and the five-minute
  deduplication window pass when the test says so, without sleeping.
- ``esqs_clock``: that :class:`~enterprise_sqs.clock.ManualClock`.
- ``esqs_server`` (one per session): ``esqs serve`` in a subprocess, for code under test that
  talks the SQS wire protocol (boto3, another language's SDK) —
  :class:`~enterprise_sqs.testing.EsqsServer`; its ``url`` is the endpoint, any credentials do.

To wait for a consumer's outcomes, see :class:`~enterprise_sqs.testing.ConsumerRecorder`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

try:
    import pytest_asyncio
except ImportError as exc:  # the fixtures are async: say which extra brings what they need
    raise ImportError(
        "enterprise_sqs.pytest_plugin needs pytest-asyncio: pip install 'enterprise-sqs[testing]'"
    ) from exc

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import ManualClock
from enterprise_sqs.resilience.retry import is_testing, set_testing
from enterprise_sqs.testing import EsqsServer, start_esqs_server

__all__ = ["esqs", "esqs_clock", "esqs_server"]


@pytest.fixture
def esqs_clock() -> ManualClock:
    """A clock that moves only when the test advances it."""
    return ManualClock()


@pytest_asyncio.fixture
async def esqs(request: pytest.FixtureRequest) -> AsyncIterator[EnterpriseSQS]:
    """A client on ``memory://`` with retry backoff off (on ``esqs_clock`` if the test asks for
    it), closed after the test."""
    clock = request.getfixturevalue("esqs_clock") if "esqs_clock" in request.fixturenames else None
    previous = is_testing()
    set_testing(True)
    sqs = EnterpriseSQS(backend="memory://", clock=clock)
    try:
        yield sqs
    finally:
        await sqs.aclose()
        set_testing(previous)


@pytest.fixture(scope="session")
def esqs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EsqsServer]:
    """``esqs serve`` for the whole session, queues kept in a temporary directory."""
    with start_esqs_server(tmp_path_factory.mktemp("esqs-serve")) as server:
        yield server
