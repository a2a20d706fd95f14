"""Message move tasks (DLQ redrive): StartMessageMoveTask, ListMessageMoveTasks,
CancelMessageMoveTask.

moto has none of the three operations, so every test here is a marked deviation.
"""

from __future__ import annotations

import asyncio

import pytest

from enterprise_sqs.errors import InvalidParameterValue, ResourceNotFound, SenderError
from enterprise_sqs.models import MoveTask
from tests.contract.conftest import Harness
from tests.contract.messaging import arn_of, counts, receive, receive_all, redrive_policy, send

pytestmark = pytest.mark.moto_deviation("moto does not implement message move tasks")

TERMINAL = {"COMPLETED", "CANCELLED", "FAILED"}


async def _fill_dlq(sqs: Harness, n: int) -> tuple[str, str, set[str]]:
    """A source queue whose DLQ holds ``n`` dead-lettered messages; returns their ids."""
    dlq = await sqs.create("dlq")
    source = await sqs.create("src", RedrivePolicy=redrive_policy(await arn_of(sqs, dlq), 1))
    ids = {(await send(sqs, source, f"m{i}")).message_id for i in range(n)}
    await receive_all(sqs, source, visibility_timeout=0)
    for _ in range(5):  # receives beyond maxReceiveCount move the messages along
        await receive(sqs, source, 10, visibility_timeout=0)
        if await counts(sqs, dlq) == (n, 0, 0):
            break
    assert await counts(sqs, dlq) == (n, 0, 0)
    return source, dlq, ids


async def _until(sqs: Harness, source_arn: str, statuses: set[str]) -> MoveTask:
    """Let time pass until the newest task of ``source_arn`` reaches one of ``statuses``."""
    for _ in range(60):
        tasks = await sqs.backend.list_message_move_tasks(source_arn)
        if tasks and tasks[0].status in statuses:
            return tasks[0]
        await sqs.advance(1)
        await asyncio.sleep(0.01)  # let a background mover run
    raise AssertionError(f"move task never reached {statuses}: {tasks}")


async def test_move_task_returns_messages_to_their_source_with_new_ids(sqs: Harness) -> None:
    source, dlq, ids = await _fill_dlq(sqs, 3)
    dlq_arn = await arn_of(sqs, dlq)
    handle = await sqs.backend.start_message_move_task(dlq_arn)
    assert handle
    await _until(sqs, dlq_arn, {"COMPLETED"})
    back = await receive_all(sqs, source)
    assert sorted(m.body for m in back) == ["m0", "m1", "m2"]
    assert not ({m.message_id for m in back} & ids), "moved messages get new MessageIds"
    assert await counts(sqs, dlq) == (0, 0, 0)


async def test_move_task_to_an_explicit_destination(sqs: Harness) -> None:
    source, dlq, _ = await _fill_dlq(sqs, 2)
    elsewhere = await sqs.create("elsewhere")
    dlq_arn = await arn_of(sqs, dlq)
    await sqs.backend.start_message_move_task(dlq_arn, destination_arn=await arn_of(sqs, elsewhere))
    await _until(sqs, dlq_arn, {"COMPLETED"})
    assert sorted(m.body for m in await receive_all(sqs, elsewhere)) == ["m0", "m1"]
    assert await receive(sqs, source) == []


async def test_list_move_tasks_reports_status_and_progress(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 3)
    dlq_arn = await arn_of(sqs, dlq)
    await sqs.backend.start_message_move_task(dlq_arn, max_messages_per_second=100)
    task = await _until(sqs, dlq_arn, {"COMPLETED"})
    assert task.source_arn == dlq_arn
    assert task.approximate_number_of_messages_moved == 3
    assert task.approximate_number_of_messages_to_move == 3
    assert task.started_timestamp > 0
    assert task.task_handle is None  # AWS shows the handle only while a task runs


async def test_list_move_tasks_of_a_queue_without_tasks_is_empty(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 1)
    assert await sqs.backend.list_message_move_tasks(await arn_of(sqs, dlq)) == []


async def test_only_one_active_task_per_source_queue(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 5)
    dlq_arn = await arn_of(sqs, dlq)
    await sqs.backend.start_message_move_task(dlq_arn, max_messages_per_second=1)
    (running,) = await sqs.backend.list_message_move_tasks(dlq_arn)
    assert running.status == "RUNNING"
    assert running.task_handle
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.start_message_move_task(dlq_arn)
    assert caught.value.message == (
        "There is already a task running. Only one active task is allowed for a source queue "
        "arn at a given time."
    )


async def test_cancel_stops_a_running_task(sqs: Harness) -> None:
    source, dlq, _ = await _fill_dlq(sqs, 5)
    dlq_arn = await arn_of(sqs, dlq)
    handle = await sqs.backend.start_message_move_task(dlq_arn, max_messages_per_second=1)
    moved = await sqs.backend.cancel_message_move_task(handle)
    assert 0 <= moved < 5
    task = await _until(sqs, dlq_arn, {"CANCELLED"})
    assert task.status == "CANCELLED"
    in_source = len(await receive_all(sqs, source))
    in_dlq = (await counts(sqs, dlq))[0]
    assert in_source + in_dlq == 5, "a cancelled move neither loses nor duplicates messages"
    assert in_dlq > 0


async def test_move_from_a_queue_that_is_not_a_dlq_is_refused(sqs: Harness) -> None:
    plain = await sqs.create("plain")
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.start_message_move_task(await arn_of(sqs, plain))
    assert caught.value.message == "Source queue must be configured as a Dead Letter Queue."


async def test_move_rate_over_500_per_second_is_refused(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 1)
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.start_message_move_task(
            await arn_of(sqs, dlq), max_messages_per_second=501
        )


async def test_move_rate_of_500_per_second_is_accepted(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 1)
    assert await sqs.backend.start_message_move_task(
        await arn_of(sqs, dlq), max_messages_per_second=500
    )


async def test_move_from_a_missing_queue_raises_resource_not_found(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 1)
    missing = (await arn_of(sqs, dlq)) + "-missing"
    with pytest.raises(ResourceNotFound):
        await sqs.backend.start_message_move_task(missing)


async def test_move_to_a_missing_destination_raises_resource_not_found(sqs: Harness) -> None:
    _, dlq, _ = await _fill_dlq(sqs, 1)
    dlq_arn = await arn_of(sqs, dlq)
    with pytest.raises(ResourceNotFound) as caught:
        await sqs.backend.start_message_move_task(dlq_arn, destination_arn=dlq_arn + "-missing")
    assert "DestinationArn" in caught.value.message


async def test_cancel_with_a_malformed_handle_is_refused(sqs: Harness) -> None:
    await _fill_dlq(sqs, 1)
    with pytest.raises(SenderError):
        await sqs.backend.cancel_message_move_task("not-a-task-handle")
