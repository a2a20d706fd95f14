"""Real processes sharing one SQLite file: exclusive delivery, and durability under SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from enterprise_sqs import DeleteEntry, SendEntry, open_backend

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _worker(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]  # kwargs pass through
        [sys.executable, "-m", "tests.support.engine_worker", *args],
        cwd=ROOT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        **kwargs,
    )


async def test_two_processes_consuming_one_file_never_share_a_message_and_lose_none(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shared.db"
    backend = open_backend(f"sqlite:///{db}")
    queue = await backend.create_queue("work")
    sent: set[str] = set()
    for start in range(0, 2000, 10):
        result = await backend.send_batch(
            queue, [SendEntry(id=str(i), body=f"job {start + i}") for i in range(10)]
        )
        result.raise_for_failures()
        sent.update(s.message_id for s in result.successful)
    await backend.aclose()

    outs = [tmp_path / f"worker{i}.txt" for i in range(2)]
    workers = [_worker("consume", str(db), queue, str(out)) for out in outs]
    for out in outs:
        while not Path(f"{out}.ready").exists():
            assert all(w.poll() is None for w in workers), "a worker died while starting"
            await asyncio.sleep(0.01)
    Path(f"{db}.go").touch()
    for worker in workers:
        assert worker.wait(timeout=90) == 0

    seen = [out.read_text().split() for out in outs]
    assert all(seen), "both workers should have received messages"
    first, second = (set(ids) for ids in seen)
    assert not first & second, "a message was held by both processes"
    assert len(seen[0]) == len(first) and len(seen[1]) == len(second), "a message came twice"
    assert first | second == sent

    reopened = open_backend(f"sqlite:///{db}")
    attributes = await reopened.get_queue_attributes(queue)
    await reopened.aclose()
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


async def test_sigkill_mid_send_keeps_every_acknowledged_message(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    backend = open_backend(f"sqlite:///{db}")
    queue = await backend.create_queue("durable")
    await backend.aclose()

    sender = _worker("send", str(db), queue, stdout=subprocess.PIPE)
    assert sender.stdout is not None
    acknowledged: list[str] = []
    while len(acknowledged) < 3000:
        line = sender.stdout.readline()
        assert line, f"sender stopped early with code {sender.poll()}"
        acknowledged.append(line.strip())
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    sender.stdout.close()
    assert sender.returncode == -signal.SIGKILL

    reopened = open_backend(f"sqlite:///{db}")
    stored: set[str] = set()
    while True:
        messages = await reopened.receive(queue, max_messages=10, wait_time_seconds=0)
        if not messages:
            break
        stored.update(m.message_id for m in messages)
        result = await reopened.delete_batch(
            queue,
            [
                DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                for i, m in enumerate(messages)
            ],
        )
        result.raise_for_failures()
    await reopened.aclose()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged messages were lost"
