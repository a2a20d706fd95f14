"""Fixtures for the engine's own unit tests: an in-memory or file engine on a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from enterprise_sqs import ManualClock
from enterprise_sqs.engine.backend import EngineBackend


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture(params=["memory", "sqlite"])
async def engine(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[EngineBackend]:
    path = None if request.param == "memory" else str(tmp_path / "engine.db")
    backend = EngineBackend(path, clock=clock)
    try:
        yield backend
    finally:
        await backend.aclose()
