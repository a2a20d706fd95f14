"""Real worker processes on one SQLite queue: SIGTERM finishes in-flight work and loses nothing;
SIGKILL → another worker gets the messages after the visibility timeout; several workers process
every message exactly once when no visibility timeout expires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from enterprise_sqs.client import EnterpriseSQS
from tests.consuming.helpers import counts, drain

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _worker(db: Path, queue: str, out: Path, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.consumer_worker", str(db), queue, str(out), *options],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _lines(out: Path, kind: str) -> list[list[str]]:
    if not out.exists():
        return []
    return [line.split()[1:] for line in out.read_text().splitlines() if line.startswith(kind)]


def _wait_for(condition: object, what: str, timeout: float = 20.0) -> None:
    # Another process writes the file: polling it is the only way to watch it.
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]  # a zero-argument callable
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def _queue_with(db: Path, total: int) -> tuple[EnterpriseSQS, str]:
    sqs = EnterpriseSQS(backend=f"sqlite:///{db}")
    publisher = sqs.create_publisher("jobs", create_queue=True)
    results = await publisher.publish_many({"n": n} for n in range(total))
    assert all(r.success for r in results)
    return sqs, results[0].queue_url or ""


async def test_sigterm_finishes_in_flight_work_and_loses_nothing(tmp_path: Path) -> None:
    db, out, total = tmp_path / "q.db", tmp_path / "worker.txt", 20
    sqs, url = await _queue_with(db, total)
    worker = _worker(db, "jobs", out, "--hold", "0.5", "--concurrency", "4")
    try:
        _wait_for(lambda: len(_lines(out, "start")) >= 2, "the worker to start handlers")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()
    started = {n for n, _ in _lines(out, "start")}
    done = {n for (n,) in _lines(out, "done")}
    assert started == done, "a handler in flight at SIGTERM was not let finish"
    assert len(done) < total, "the worker should have stopped before the queue was empty"
    # Everything not done is back in the queue and visible at once: nothing lost, nothing hidden.
    assert await counts(sqs, url) == (total - len(done), 0)
    rest = {str(json.loads(m.body)["n"]) for m in await drain(sqs, url, wait=0)}
    assert rest | done == {str(n) for n in range(total)}
    assert not rest & done
    await sqs.aclose()


async def test_sigkill_leaves_messages_to_another_worker_after_the_visibility_timeout(
    tmp_path: Path,
) -> None:
    db, total = tmp_path / "q.db", 8
    sqs, _ = await _queue_with(db, total)
    first_out, second_out = tmp_path / "first.txt", tmp_path / "second.txt"
    first = _worker(db, "jobs", first_out, "--hold", "600", "--visibility", "2")
    try:
        _wait_for(lambda: len(_lines(first_out, "start")) >= 4, "the first worker to take work")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    held_by_killed = {n for n, _ in _lines(first_out, "start")}
    second = _worker(db, "jobs", second_out, "--visibility", "2")
    try:
        _wait_for(lambda: len(_lines(second_out, "done")) >= total, "the second worker", 30)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        second.kill()
    done = Counter(n for (n,) in _lines(second_out, "done"))
    assert set(done) == {str(n) for n in range(total)}
    receive_counts = {n: int(c) for n, c in _lines(second_out, "start")}
    assert all(receive_counts[n] >= 2 for n in held_by_killed), "came back only after a receive"
    await sqs.aclose()


async def test_several_workers_process_every_message_exactly_once(tmp_path: Path) -> None:
    db, total = tmp_path / "q.db", 150
    sqs, url = await _queue_with(db, total)
    outs = [tmp_path / f"w{i}.txt" for i in range(3)]
    workers = [_worker(db, "jobs", out, "--hold", "0.05", "--visibility", "60") for out in outs]
    try:

        def finished() -> int:
            return sum(len(_lines(out, "done")) for out in outs)

        _wait_for(lambda: finished() >= total, "every message to be processed", 40)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(timeout=30) == 0
    finally:
        for worker in workers:
            worker.kill()
    starts = Counter(n for out in outs for n, _ in _lines(out, "start"))
    assert set(starts) == {str(n) for n in range(total)}
    assert max(starts.values()) == 1, "a message was processed twice"
    assert sum(1 for out in outs if _lines(out, "done")) >= 2, "the work was shared"
    assert await counts(sqs, url) == (0, 0)
    await sqs.aclose()
