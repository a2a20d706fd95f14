"""Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask).

A task moves the messages a DLQ held when the task started back to the queues they came from
(each message's ``DeadLetterQueueSourceArn``) or to one ``DestinationArn``, at most
``MaxNumberOfMessagesPerSecond`` (1-500) a second on the engine's clock: ``rate`` messages at
once, then ``rate`` more each time the clock passes another second since the start. Moved messages
get a new MessageId. One active task per source queue.

The task's state lives in the store (so ``list`` sees it from any process); the backend drives
:func:`step` from an asyncio task that sleeps until the clock reaches the next second.
"""

from __future__ import annotations

import base64
import json
import math
import os
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from enterprise_sqs.engine import messages
from enterprise_sqs.engine.context import Engine, QueueRecord
from enterprise_sqs.engine.validation import invalid_value
from enterprise_sqs.errors import (
    InvalidParameterValue,
    ResourceNotFound,
    UnsupportedOperation,
)
from enterprise_sqs.models import MoveTask

__all__ = [
    "DEFAULT_RATE",
    "StepResult",
    "abandon",
    "cancel",
    "fail_orphans",
    "list_tasks",
    "start",
    "step",
]

DEFAULT_RATE = 500
MAX_RATE = 500
RUNNING = "RUNNING"


class StepResult(NamedTuple):
    finished: bool
    next_due: float
    woken: list[int]


def _source(engine: Engine, arn: str, parameter: str) -> QueueRecord:
    queue = engine.queue_by_arn(arn) if isinstance(arn, str) else None
    if queue is None:
        raise ResourceNotFound(
            f"The resource that you specified for the {parameter} parameter doesn't exist."
        )
    return queue


def _is_dlq(engine: Engine, queue: QueueRecord) -> bool:
    for (name,) in engine.conn.execute("SELECT name FROM queues").fetchall():
        record = engine.queue_by_name(name)
        if record is not None and record.dlq_arn == queue.arn:
            return True
    return False


def start(
    engine: Engine,
    source_arn: str,
    destination_arn: str | None,
    rate: int | None,
    owner: str,
) -> str:
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE
    ):
        raise invalid_value(
            rate, "MaxNumberOfMessagesPerSecond", f"Must be between 1 and {MAX_RATE}."
        )
    engine.begin()
    source = _source(engine, source_arn, "SourceArn")
    if destination_arn is not None:
        destination = _source(engine, destination_arn, "DestinationArn")
        if destination.id == source.id:
            raise InvalidParameterValue("The source and destination queues must differ.")
    if not _is_dlq(engine, source):
        raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
    active = engine.conn.execute(
        "SELECT 1 FROM move_tasks WHERE source_arn = ? AND status IN ('RUNNING', 'CANCELLING')",
        (source_arn,),
    ).fetchone()
    if active is not None:
        raise InvalidParameterValue(
            "There is already a task running. Only one active task is allowed for a source queue "
            "arn at a given time."
        )
    now = engine.clock.time()
    last_row, to_move = engine.conn.execute(
        "SELECT coalesce(max(id), 0), count(*) FROM messages "
        "WHERE queue_id = ? AND enqueued_at >= ?",
        (source.id, now - source.retention),
    ).fetchone()
    handle = base64.b64encode(
        json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
    ).decode()
    engine.conn.execute(
        "INSERT INTO move_tasks (handle, source_arn, dest_arn, rate, status, moved, to_move,"
        " started_ms, started_at, source_id, last_row, owner)"
        " VALUES (?, ?, ?, ?, 'RUNNING', 0, ?, ?, ?, ?, ?, ?)",
        (
            handle,
            source_arn,
            destination_arn,
            rate,
            to_move,
            int(now * 1000),
            now,
            source.id,
            last_row,
            owner,
        ),
    )
    engine.commit()
    return handle


def _finish(engine: Engine, handle: str, status: str, failure: str | None = None) -> None:
    engine.conn.execute(
        "UPDATE move_tasks SET status = ?, failure = ? WHERE handle = ?",
        (status, failure, handle),
    )


def step(engine: Engine, handle: str) -> StepResult:
    """Move what the rate allows now; say when to come back."""
    engine.begin()
    row = engine.conn.execute(
        "SELECT status, dest_arn, rate, moved, started_at, source_id, last_row "
        "FROM move_tasks WHERE handle = ?",
        (handle,),
    ).fetchone()
    if row is None or row[0] != RUNNING:
        engine.commit()
        return StepResult(True, 0.0, [])
    _, dest_arn, rate, moved, started_at, source_id, last_row = row
    now = engine.clock.time()
    elapsed = max(0.0, now - started_at)
    next_due = started_at + math.floor(elapsed) + 1
    allowed = (rate or DEFAULT_RATE) * (math.floor(elapsed) + 1) - moved
    if allowed <= 0:
        engine.commit()
        return StepResult(False, next_due, [])
    source_name = engine.conn.execute(
        "SELECT name FROM queues WHERE id = ?", (source_id,)
    ).fetchone()
    source = None if source_name is None else engine.queue_by_name(source_name[0])
    if source is None:
        _finish(engine, handle, "FAILED", "AWS.SimpleQueueService.NonExistentQueue")
        engine.commit()
        return StepResult(True, 0.0, [])
    rows = engine.conn.execute(
        f"SELECT {messages.COLUMNS} FROM messages WHERE queue_id = ? AND id <= ? "
        "AND visible_at <= ? AND enqueued_at >= ? ORDER BY id LIMIT ?",
        (source.id, last_row, now, now - source.retention, allowed),
    ).fetchall()
    if not rows:
        _finish(engine, handle, "COMPLETED")
        engine.commit()
        return StepResult(True, 0.0, [])
    by_target: dict[str, list[tuple[Any, ...]]] = {}
    for message in rows:
        target = dest_arn or message[15]
        if target is None:
            _finish(engine, handle, "FAILED", "AWS.SimpleQueueService.NonExistentQueue")
            engine.commit()
            return StepResult(True, 0.0, [])
        by_target.setdefault(target, []).append(message)
    woken: list[int] = []
    for target_arn, group in by_target.items():
        target = engine.queue_by_arn(target_arn)
        if target is None:
            _finish(engine, handle, "FAILED", "AWS.SimpleQueueService.NonExistentQueue")
            engine.commit()
            return StepResult(True, 0.0, woken)
        messages.move_rows(engine, group, target, now, source_arn=None, new_message_id=True)
        woken.append(target.id)
    engine.conn.execute(
        "UPDATE move_tasks SET moved = moved + ? WHERE handle = ?", (len(rows), handle)
    )
    engine.commit()
    return StepResult(False, next_due, woken)


def _task(row: Sequence[Any]) -> MoveTask:
    handle, status, source_arn, dest_arn, rate, moved, to_move, failure, started_ms = row
    return MoveTask(
        status=status,
        source_arn=source_arn,
        task_handle=handle if status == RUNNING else None,
        destination_arn=dest_arn,
        max_number_of_messages_per_second=rate,
        approximate_number_of_messages_moved=moved,
        approximate_number_of_messages_to_move=to_move,
        failure_reason=failure,
        started_timestamp=started_ms,
    )


def list_tasks(engine: Engine, source_arn: str, max_results: int | None) -> list[MoveTask]:
    if max_results is not None and (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= 10
    ):
        raise invalid_value(max_results, "MaxResults", "Must be between 1 and 10, if provided.")
    _source(engine, source_arn, "SourceArn")
    rows = engine.conn.execute(
        "SELECT handle, status, source_arn, dest_arn, rate, moved, to_move, failure, started_ms "
        "FROM move_tasks WHERE source_arn = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
        (source_arn, max_results or 1),
    ).fetchall()
    return [_task(row) for row in rows]


def cancel(engine: Engine, handle: str) -> int:
    engine.begin()
    row = engine.conn.execute(
        "SELECT status, moved FROM move_tasks WHERE handle = ?", (handle,)
    ).fetchone()
    if row is None:
        raise ResourceNotFound("Task does not exist.")
    if row[0] != RUNNING:
        raise UnsupportedOperation(f"Only active tasks can be cancelled; this task is {row[0]}.")
    _finish(engine, handle, "CANCELLED")
    engine.commit()
    return int(row[1])


def abandon(engine: Engine, owner: str) -> None:
    """The backend running these tasks is closing: they stop here, as FAILED."""
    engine.begin()
    engine.conn.execute(
        "UPDATE move_tasks SET status = 'FAILED', failure = ? "
        "WHERE owner = ? AND status = 'RUNNING'",
        ("The engine running the task was closed.", owner),
    )
    engine.commit()


def fail_orphans(engine: Engine) -> None:
    """Mark RUNNING tasks whose process is gone as FAILED (a task runs in the process that
    started it; it does not outlive that process)."""
    engine.begin()
    for handle, owner in engine.conn.execute(
        "SELECT handle, owner FROM move_tasks WHERE status = 'RUNNING'"
    ).fetchall():
        pid = int(str(owner).split(":", 1)[0]) if owner else 0
        alive = True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except (PermissionError, OSError):
            alive = True
        if pid <= 0 or not alive:
            _finish(engine, handle, "FAILED", "The process running the task stopped.")
    engine.commit()
