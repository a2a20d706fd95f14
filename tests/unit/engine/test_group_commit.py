"""The file store's group commit: jobs that queue up share one transaction, and a failing job
takes back exactly its own writes while the others' stay."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from enterprise_sqs.engine.store import Store


class _BoomError(Exception):
    pass


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(str(tmp_path / "group.db"))
    await store.run(_create_scratch, store)
    try:
        yield store
    finally:
        await store.close()


def _create_scratch(store: Store) -> None:
    assert store.conn is not None
    store.conn.execute("CREATE TABLE scratch (name TEXT NOT NULL)")


def _job(store: Store, name: str, *, writes: bool, fails: bool) -> Callable[[], str]:
    """A job shaped like the engine's: its own transaction unless the store groups it."""

    def run() -> str:
        conn = store.conn
        assert conn is not None
        if not store.grouped:
            conn.execute("BEGIN IMMEDIATE")
        if writes:
            conn.execute("INSERT INTO scratch (name) VALUES (?)", (name,))
        if fails:
            raise _BoomError(name)
        if not store.grouped:
            conn.execute("COMMIT")
        return name

    return run


def _names(store: Store) -> list[str]:
    assert store.conn is not None
    return sorted(row[0] for row in store.conn.execute("SELECT name FROM scratch"))


async def _as_one_group(store: Store, jobs: list[Callable[[], str]]) -> list[object]:
    """Hold the worker on a first job until every job is queued, so they run as one group."""
    release = threading.Event()
    held = asyncio.ensure_future(store.run(release.wait, 10))
    tasks = [asyncio.ensure_future(store.run(job)) for job in jobs]
    await asyncio.sleep(0)  # every task has queued its job
    release.set()
    assert await held is True
    return list(await asyncio.gather(*tasks, return_exceptions=True))


@pytest.mark.parametrize("fails_after_writing", [False, True])
async def test_a_failing_job_in_a_group_undoes_only_its_own_writes(
    store: Store, fails_after_writing: bool
) -> None:
    jobs = [
        _job(store, "a", writes=True, fails=False),
        _job(store, "b", writes=fails_after_writing, fails=True),
        _job(store, "c", writes=True, fails=False),
        _job(store, "d", writes=False, fails=True),
        _job(store, "e", writes=True, fails=False),
    ]
    results = await _as_one_group(store, jobs)
    assert results[0] == "a"
    assert isinstance(results[1], _BoomError)
    assert results[2] == "c"
    assert isinstance(results[3], _BoomError)
    assert results[4] == "e"
    assert await store.run(_names, store) == ["a", "c", "e"]


async def test_a_group_of_successful_jobs_commits_them_all(store: Store) -> None:
    names = [f"m{i}" for i in range(20)]
    results = await _as_one_group(
        store, [_job(store, name, writes=True, fails=False) for name in names]
    )
    assert results == names
    assert await store.run(_names, store) == sorted(names)
