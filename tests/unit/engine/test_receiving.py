"""Long polling wake-ups, ReceiveRequestAttemptId, concurrent receivers, the in-flight limit."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from enterprise_sqs import DeleteEntry, ManualClock, SendEntry
from enterprise_sqs.engine import receiving
from enterprise_sqs.engine.backend import EngineBackend
from enterprise_sqs.errors import OverLimit

# A long poll that is not woken would wait 20 s; the tests give up far sooner than that, so a
# missing wake-up fails instead of passing slowly.
WAKE_DEADLINE = 10.0


async def _waiting_receive(engine: EngineBackend, url: str) -> asyncio.Task[list[object]]:
    task: asyncio.Task[list[object]] = asyncio.create_task(
        engine.receive(url, wait_time_seconds=20)  # type: ignore[arg-type]
    )
    # let the receive find the queue empty and start waiting
    for _ in range(50):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert not task.done()
    return task


async def test_long_poll_wakes_when_a_message_is_sent(engine: EngineBackend) -> None:
    url = await engine.create_queue("wake-on-send")
    task = await _waiting_receive(engine, url)
    sent = await engine.send_message(url, SendEntry(id="a", body="hello"))
    received = await asyncio.wait_for(task, WAKE_DEADLINE)
    assert [m.message_id for m in received] == [sent.message_id]  # type: ignore[attr-defined]


async def test_long_poll_wakes_when_the_clock_makes_a_message_visible(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("wake-on-clock")
    await engine.send_message(url, SendEntry(id="a", body="delayed", delay_seconds=30))
    task = await _waiting_receive(engine, url)
    clock.advance(30)
    received = await asyncio.wait_for(task, WAKE_DEADLINE)
    assert [m.body for m in received] == ["delayed"]  # type: ignore[attr-defined]


async def test_long_poll_wakes_when_visibility_is_set_to_zero(engine: EngineBackend) -> None:
    url = await engine.create_queue("wake-on-visibility")
    await engine.send_message(url, SendEntry(id="a", body="released"))
    (held,) = await engine.receive(url)
    task = await _waiting_receive(engine, url)
    await engine.change_visibility(url, held.receipt_handle, 0)
    received = await asyncio.wait_for(task, WAKE_DEADLINE)
    assert [m.body for m in received] == ["released"]  # type: ignore[attr-defined]


async def test_fifo_long_poll_wakes_when_a_delete_frees_the_group(engine: EngineBackend) -> None:
    url = await engine.create_queue(
        "wake-on-delete.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    for body in ("first", "second"):
        await engine.send_message(url, SendEntry(id="a", body=body, group_id="g"))
    (first,) = await engine.receive(url)  # the group is now blocked behind "first"
    task = await _waiting_receive(engine, url)
    await engine.delete_message(url, first.receipt_handle)
    received = await asyncio.wait_for(task, WAKE_DEADLINE)
    assert [m.body for m in received] == ["second"]  # type: ignore[attr-defined]


async def test_queue_wait_time_applies_when_the_call_gives_none(engine: EngineBackend) -> None:
    url = await engine.create_queue("queue-wait", {"ReceiveMessageWaitTimeSeconds": "20"})
    task = asyncio.create_task(engine.receive(url))
    await asyncio.sleep(0.05)
    assert not task.done(), "the queue's ReceiveMessageWaitTimeSeconds makes receive wait"
    await engine.send_message(url, SendEntry(id="a", body="now"))
    assert [m.body for m in await asyncio.wait_for(task, WAKE_DEADLINE)] == ["now"]


async def test_closing_the_backend_ends_a_waiting_long_poll(clock: ManualClock) -> None:
    from enterprise_sqs.errors import ClientClosedError

    engine = EngineBackend(None, clock=clock)
    url = await engine.create_queue("closing")
    task = await _waiting_receive(engine, url)
    await engine.aclose()
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(task, WAKE_DEADLINE)


async def test_receive_request_attempt_id_returns_the_same_messages_and_handles(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("attempt.fifo", {"FifoQueue": "true"})
    for i in range(4):
        await engine.send_message(
            url, SendEntry(id=str(i), body=f"m{i}", group_id=f"g{i % 2}", deduplication_id=str(i))
        )
    first = await engine.receive(url, max_messages=2, receive_request_attempt_id="try-1")
    clock.advance(10)
    again = await engine.receive(url, max_messages=2, receive_request_attempt_id="try-1")
    assert [(m.message_id, m.receipt_handle) for m in again] == [
        (m.message_id, m.receipt_handle) for m in first
    ]
    other = await engine.receive(url, max_messages=10, receive_request_attempt_id="try-2")
    assert {m.message_id for m in other}.isdisjoint(m.message_id for m in first)
    # once a message of the attempt is deleted, the attempt id no longer replays it
    await engine.delete_message(url, first[0].receipt_handle)
    replay = await engine.receive(url, max_messages=2, receive_request_attempt_id="try-1")
    assert first[0].message_id not in {m.message_id for m in replay}


async def test_concurrent_receivers_never_get_the_same_message(engine: EngineBackend) -> None:
    url = await engine.create_queue("crowded")
    for start in range(0, 300, 10):
        await engine.send_batch(
            url, [SendEntry(id=str(i), body=f"job {start + i}") for i in range(10)]
        )
    seen: list[str] = []

    async def consumer() -> None:
        while True:
            batch = await engine.receive(url, max_messages=3, visibility_timeout=600)
            if not batch:
                return
            seen.extend(m.message_id for m in batch)
            result = await engine.delete_batch(
                url,
                [
                    DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                    for i, m in enumerate(batch)
                ],
            )
            assert result.failed == []

    await asyncio.gather(*(consumer() for _ in range(25)))
    assert len(seen) == 300
    assert len(set(seen)) == 300


async def test_too_many_in_flight_messages_is_over_limit_on_standard_queues(
    engine: EngineBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "MAX_INFLIGHT", 5)
    url = await engine.create_queue("limited")
    fifo = await engine.create_queue("limited.fifo", {"FifoQueue": "true"})
    for i in range(6):
        await engine.send_message(url, SendEntry(id=str(i), body=f"m{i}"))
        await engine.send_message(
            fifo, SendEntry(id=str(i), body=f"m{i}", group_id=str(i), deduplication_id=str(i))
        )
    assert len(await engine.receive(url, max_messages=5)) == 5
    with pytest.raises(OverLimit):
        await engine.receive(url)
    assert len(await engine.receive(fifo, max_messages=5)) == 5
    assert await engine.receive(fifo) == []  # FIFO: no error, just nothing more


async def test_long_poll_on_a_file_wakes_when_another_process_sends(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    engine = EngineBackend(str(path))
    try:
        url = await engine.create_queue("cross-process")
        task = await _waiting_receive(engine, url)
        script = (
            "import asyncio, sys\n"
            "from enterprise_sqs import SendEntry\n"
            "from enterprise_sqs.engine.backend import EngineBackend\n"
            "async def main():\n"
            "    b = EngineBackend(sys.argv[1])\n"
            "    await b.send_message(sys.argv[2], SendEntry(id='a', body='from afar'))\n"
            "    await b.aclose()\n"
            "asyncio.run(main())\n"
        )
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(path), url)
        assert await proc.wait() == 0
        received = await asyncio.wait_for(task, WAKE_DEADLINE)
        assert [m.body for m in received] == ["from afar"]  # type: ignore[attr-defined]
    finally:
        await engine.aclose()


async def test_a_receive_cancelled_while_claiming_gives_its_messages_back(
    tmp_path: Path,
) -> None:
    engine = EngineBackend(str(tmp_path / "cancel.db"), clock=ManualClock(start=1_700_000_000.0))
    try:
        url = await engine.create_queue("cancel-claim", {"VisibilityTimeout": "300"})
        await engine.send_message(url, SendEntry(id="a", body="precious"))
        # Hold the worker thread so the receive's claim is queued behind it, then cancel the
        # receive: the claim still runs, and must hand its message straight back.
        engine._store.submit(time.sleep, 0.2)
        task = asyncio.create_task(engine.receive(url, wait_time_seconds=0))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(3):  # the give-back is a moment behind; without it: 300 s invisible
            again = await engine.receive(url, wait_time_seconds=1)
            if again:
                break
        assert [m.body for m in again] == ["precious"]
        assert engine.cancel_safe_receive
    finally:
        await engine.aclose()
