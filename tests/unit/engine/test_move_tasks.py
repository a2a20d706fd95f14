"""Message move tasks keep to their rate on the engine's clock and report progress."""

from __future__ import annotations

import asyncio
import json

from enterprise_sqs import ManualClock, MoveTask, SendEntry
from enterprise_sqs.engine.backend import EngineBackend


async def _dead_lettered(engine: EngineBackend, n: int) -> tuple[str, str, str]:
    dlq = await engine.create_queue("dlq")
    dlq_arn = (await engine.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    source = await engine.create_queue(
        "source",
        {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})},
    )
    for i in range(n):
        await engine.send_message(source, SendEntry(id=str(i), body=f"m{i}"))
    while await engine.receive(source, max_messages=10, visibility_timeout=0):
        pass
    return source, dlq, dlq_arn


async def _settled(engine: EngineBackend, arn: str, moved: int) -> MoveTask:
    """Wait (on the event loop, not the clock) until the task has moved ``moved`` messages."""
    for _ in range(500):
        (task,) = await engine.list_message_move_tasks(arn)
        if task.approximate_number_of_messages_moved >= moved:
            await asyncio.sleep(0.01)  # would a runner that ignores its rate move more?
            (task,) = await engine.list_message_move_tasks(arn)
            return task
        await asyncio.sleep(0.001)
    raise AssertionError(f"the task never moved {moved} messages")


async def test_move_task_moves_at_most_its_rate_per_clock_second(
    engine: EngineBackend, clock: ManualClock
) -> None:
    source, dlq, dlq_arn = await _dead_lettered(engine, 5)
    handle = await engine.start_message_move_task(dlq_arn, max_messages_per_second=2)
    task = await _settled(engine, dlq_arn, 2)
    assert (task.status, task.approximate_number_of_messages_moved) == ("RUNNING", 2)
    assert task.approximate_number_of_messages_to_move == 5
    assert task.task_handle == handle
    assert task.max_number_of_messages_per_second == 2
    clock.advance(1)
    task = await _settled(engine, dlq_arn, 4)
    assert task.approximate_number_of_messages_moved == 4
    clock.advance(1)
    task = await _settled(engine, dlq_arn, 5)
    clock.advance(1)
    for _ in range(500):
        (task,) = await engine.list_message_move_tasks(dlq_arn)
        if task.status != "RUNNING":
            break
        await asyncio.sleep(0.001)
    assert task.status == "COMPLETED"
    assert task.task_handle is None
    back = await engine.receive(source, max_messages=10, attribute_names=["All"])
    assert sorted(m.body for m in back) == [f"m{i}" for i in range(5)]
    assert all("DeadLetterQueueSourceArn" not in m.attributes for m in back)
    assert await engine.receive(dlq) == []


async def test_cancel_reports_what_was_moved_and_stops(
    engine: EngineBackend, clock: ManualClock
) -> None:
    _, dlq, dlq_arn = await _dead_lettered(engine, 4)
    handle = await engine.start_message_move_task(dlq_arn, max_messages_per_second=1)
    await _settled(engine, dlq_arn, 1)
    assert await engine.cancel_message_move_task(handle) == 1
    clock.advance(10)
    await asyncio.sleep(0.01)
    (task,) = await engine.list_message_move_tasks(dlq_arn)
    assert (task.status, task.approximate_number_of_messages_moved) == ("CANCELLED", 1)
    assert len(await engine.receive(dlq, max_messages=10)) == 3
