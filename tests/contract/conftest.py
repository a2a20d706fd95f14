"""The contract suite: every test here runs against every backend.

- ``memory``: the embedded engine in memory, with a manual clock;
- ``sqlite``: the embedded engine on a SQLite file, with a manual clock;
- ``moto``: the AWS backend (aiobotocore) against a moto server these tests start themselves;
- ``serve``: the AWS backend against ``esqs serve`` (the engine over HTTP, SigV4 required), started
  as a subprocess on a temporary data directory. Like moto, its clock cannot be moved.

A test that moto is known to get wrong carries ``@pytest.mark.moto_deviation("why")``: on moto it
is expected to fail (strictly: if moto starts passing, the mark must go). The mark does not apply
to ``serve``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from enterprise_sqs import Backend, Credentials, ManualClock, open_backend
from tests.support.esqs_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, esqs_server
from tests.support.moto import moto_server, reset_moto

BACKEND_KINDS = os.environ.get("ESQS_CONTRACT_BACKENDS", "memory,sqlite,moto,serve").split(",")

# Longest real wait a time-dependent test may take on a backend whose clock we cannot move.
MAX_REAL_WAIT_SECONDS = 3.0

_counter = itertools.count()


class Harness:
    """One backend under test, with the helpers the contract tests share."""

    def __init__(self, kind: str, backend: Backend, clock: ManualClock | None) -> None:
        self.kind = kind
        self.backend = backend
        self.clock = clock
        self.prefix = f"c{os.getpid() % 10000}x{next(_counter)}"

    @property
    def is_engine(self) -> bool:
        return self.clock is not None

    def name(self, stem: str = "q", *, fifo: bool = False) -> str:
        """A queue name unique to this test."""
        return f"{self.prefix}-{stem}" + (".fifo" if fifo else "")

    async def create(self, stem: str = "q", *, fifo: bool = False, **attributes: str) -> str:
        """Create a queue unique to this test and return its URL."""
        attrs = dict(attributes)
        if fifo:
            attrs.setdefault("FifoQueue", "true")
        return await self.backend.create_queue(self.name(stem, fifo=fifo), attrs)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: instantly on the engine, really (if short enough) elsewhere."""
        if self.clock is not None:
            self.clock.advance(seconds)
            await asyncio.sleep(0)
            return
        if seconds > MAX_REAL_WAIT_SECONDS:
            pytest.skip(f"needs {seconds} s to pass; only the engine's clock can be moved")
        await asyncio.sleep(seconds)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def serve_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with esqs_server(tmp_path_factory.mktemp("esqs-serve"), auth=True) as server:
        yield server.url


@pytest.fixture(params=BACKEND_KINDS)
async def sqs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    kind: str = request.param
    marker = request.node.get_closest_marker("moto_deviation")
    clock: ManualClock | None = None
    if kind == "memory":
        clock = ManualClock(start=time.time())
        backend = open_backend("memory://", clock=clock)
    elif kind == "sqlite":
        clock = ManualClock(start=time.time())
        backend = open_backend(f"sqlite:///{tmp_path / 'contract.db'}", clock=clock)
    elif kind == "moto":
        url: str = request.getfixturevalue("moto_url")
        reset_moto(url)
        backend = open_backend(
            url,
            region="us-east-1",
            credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
        )
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            request.applymarker(pytest.mark.xfail(reason=f"moto deviates: {reason}", strict=True))
    elif kind == "serve":
        backend = open_backend(
            request.getfixturevalue("serve_url"),
            region="us-east-1",
            credentials=Credentials(
                access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY
            ),
        )
    else:
        raise ValueError(f"unknown contract backend kind {kind!r}")
    harness = Harness(kind, backend, clock)
    try:
        yield harness
    finally:
        await backend.aclose()
