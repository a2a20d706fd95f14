"""Receiving: ReceiveMessage, where the store runs its jobs (the worker thread for a file).

A receive sweeps expired messages now and then, refuses past the in-flight limit, selects the
next visible messages (FIFO: group-first, skipping groups with a message in flight), moves those
past ``maxReceiveCount`` to the dead-letter queue instead of delivering them, and claims the rest
under the write lock (``BEGIN IMMEDIATE``), so no two receivers, in this process or another, hold
one message. ``ReceiveRequestAttemptId`` replays an earlier answer within five minutes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from enterprise_sqs.checksums import decode_attributes, md5_of_attributes
from enterprise_sqs.engine import fifo, receipts
from enterprise_sqs.engine.context import Engine, QueueRecord
from enterprise_sqs.engine.messages import COLUMNS, move_rows, unpack_attributes
from enterprise_sqs.engine.validation import (
    check_attempt_id,
    check_max_messages,
    check_receive_attribute_names,
    check_visibility_timeout,
)
from enterprise_sqs.errors import (
    InvalidParameterValue,
    OverLimit,
)
from enterprise_sqs.models import (
    MessageAttributeValue,
    ReceivedMessage,
)

__all__ = ["MAX_INFLIGHT", "ReceiveOutcome", "receive"]

MAX_INFLIGHT = 120_000
RETENTION_SWEEP_SECONDS = 30.0
ATTEMPT_WINDOW_SECONDS = 300.0

_CLAIM = (
    "UPDATE messages SET visible_at = ?, received_at = ?, receive_count = ?,"
    " first_receive_ms = ? WHERE id = ?"
)


class ReceiveOutcome(NamedTuple):
    messages: list[ReceivedMessage]
    queue_id: int
    queue_wait_seconds: int
    next_visible_at: float | None
    dlq_id: int | None
    data_version: int | None = None


class _Filter(NamedTuple):
    everything: bool
    names: frozenset[str]
    prefixes: tuple[str, ...]


def _attribute_filter(names: Sequence[str]) -> _Filter | None:
    if isinstance(names, str):
        names = (names,)
    if not names:
        return None
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidParameterValue("MessageAttributeNames must be non-empty strings.")
    if "All" in names or ".*" in names:
        return _Filter(True, frozenset(), ())
    prefixes = tuple(name[:-1] for name in names if name.endswith(".*"))
    return _Filter(False, frozenset(n for n in names if not n.endswith(".*")), prefixes)


def _housekeeping(engine: Engine, queue: QueueRecord, now: float) -> None:
    if now - engine.swept.get(queue.id, -1e18) >= RETENTION_SWEEP_SECONDS:
        engine.conn.execute(
            "DELETE FROM messages WHERE queue_id = ? AND enqueued_at < ?",
            (queue.id, now - queue.retention),
        )
        engine.swept[queue.id] = now


def _inflight_allows(engine: Engine, queue: QueueRecord, now: float, want: int) -> bool:
    """Whether fewer than MAX_INFLIGHT messages are in flight, counting only when an upper
    bound kept since the last count says the limit may be near."""
    bound = engine.inflight_bound.get(queue.id)
    if bound is None or bound + want > MAX_INFLIGHT:
        (bound,) = engine.conn.execute(
            "SELECT count(*) FROM messages "
            "WHERE queue_id = ? AND visible_at > ? AND received_at IS NOT NULL",
            (queue.id, now),
        ).fetchone()
        engine.inflight_bound[queue.id] = bound
    return bound < MAX_INFLIGHT


def receive(
    engine: Engine,
    url: str,
    max_messages: int,
    visibility_timeout: int | None,
    attribute_names: Sequence[str],
    message_attribute_names: Sequence[str],
    attempt_id: str | None,
    want_next: bool,
) -> ReceiveOutcome:
    check_max_messages(max_messages)
    if visibility_timeout is not None:
        check_visibility_timeout(visibility_timeout)
    system_names = check_receive_attribute_names(attribute_names) if attribute_names else None
    attr_filter = _attribute_filter(message_attribute_names)
    queue = engine.queue_for_url(url)
    if attempt_id is not None:
        check_attempt_id(attempt_id)
        if not queue.fifo:
            attempt_id = None  # standard queues ignore it, as SQS does
    now = engine.clock.time()
    timeout = queue.visibility_timeout if visibility_timeout is None else visibility_timeout
    engine.begin()
    _housekeeping(engine, queue, now)
    if attempt_id is not None:
        replay = _replay_attempt(engine, queue, attempt_id, now)
        if replay is not None:
            engine.commit()
            return ReceiveOutcome(
                _render(engine, queue, replay, system_names, attr_filter),
                queue.id,
                queue.wait_seconds,
                None,
                None,
            )
    if not _inflight_allows(engine, queue, now, max_messages):
        engine.commit()
        if queue.fifo:
            return ReceiveOutcome([], queue.id, queue.wait_seconds, None, None)
        raise OverLimit(
            f"Too many messages in flight for queue {queue.name}: the limit is {MAX_INFLIGHT}."
        )
    if queue.fifo:
        rows = fifo.select(engine, queue, now, max_messages, COLUMNS)
    else:
        rows = engine.conn.execute(
            f"SELECT {COLUMNS} FROM messages WHERE queue_id = ? AND visible_at <= ? "
            "AND enqueued_at >= ? ORDER BY visible_at LIMIT ?",
            (queue.id, now, now - queue.retention, max_messages),
        ).fetchall()
    dlq_id = None
    if rows and queue.dlq_arn is not None:
        rows, dlq_id = _redrive(engine, queue, rows, now)
    now_ms = int(now * 1000)
    visible_at = now + timeout
    claimed = []
    updates = []
    for row in rows:
        count = row[10] + 1
        first = row[11] if row[11] is not None else now_ms
        updates.append((visible_at, now, count, first, row[2]))
        claimed.append((row, count, first))
    if updates:
        engine.conn.executemany(_CLAIM, updates)
        engine.inflight_bound[queue.id] = engine.inflight_bound.get(queue.id, 0) + len(updates)
    if attempt_id is not None:
        engine.conn.execute(
            "INSERT OR REPLACE INTO receive_attempts (queue_id, attempt_id, expires_at, handles) "
            "VALUES (?, ?, ?, ?)",
            (
                queue.id,
                attempt_id,
                now + ATTEMPT_WINDOW_SECONDS,
                json.dumps([[row[2], count, visible_at] for row, count, _ in claimed]),
            ),
        )
    next_visible = None
    data_version = None
    if not claimed and want_next:
        (next_visible,) = engine.conn.execute(
            "SELECT min(visible_at) FROM messages WHERE queue_id = ? AND visible_at > ?",
            (queue.id, now),
        ).fetchone()
        if engine.durable:
            # read under the write lock: no other process can commit between this and our look
            (data_version,) = engine.conn.execute("PRAGMA data_version").fetchone()
    engine.commit()
    messages = _render(engine, queue, claimed, system_names, attr_filter)
    return ReceiveOutcome(
        messages, queue.id, queue.wait_seconds, next_visible, dlq_id, data_version
    )


def _redrive(
    engine: Engine, queue: QueueRecord, rows: list[tuple[Any, ...]], now: float
) -> tuple[list[tuple[Any, ...]], int | None]:
    """Move the rows whose next receive would pass maxReceiveCount to the DLQ; keep the rest."""
    over = [row for row in rows if row[10] + 1 > queue.max_receive_count]
    if not over:
        return rows, None
    assert queue.dlq_arn is not None  # only called for queues with a RedrivePolicy
    dlq = engine.queue_by_arn(queue.dlq_arn)
    if dlq is None or dlq.id == queue.id:
        return rows, None  # a missing DLQ keeps messages where they are, as SQS does
    move_rows(engine, over, dlq, now, source_arn=queue.arn, new_message_id=False)
    kept = [row for row in rows if row[10] + 1 <= queue.max_receive_count]
    return kept, dlq.id


def _replay_attempt(
    engine: Engine, queue: QueueRecord, attempt_id: str, now: float
) -> list[tuple[tuple[Any, ...], int, int]] | None:
    """The messages of an earlier receive with this attempt id, if all are still as it left
    them (not deleted, not received again, visibility unchanged) and within 5 minutes."""
    found = engine.conn.execute(
        "SELECT handles FROM receive_attempts "
        "WHERE queue_id = ? AND attempt_id = ? AND expires_at > ?",
        (queue.id, attempt_id, now),
    ).fetchone()
    if found is None:
        return None
    claimed = []
    for row_id, count, visible_at in json.loads(found[0]):
        row = engine.conn.execute(
            f"SELECT {COLUMNS} FROM messages WHERE id = ? AND queue_id = ?", (row_id, queue.id)
        ).fetchone()
        if row is None or row[10] != count or row[0] != visible_at or row[0] <= now:
            return None
        claimed.append((row, count, row[11]))
    return claimed or None


def _render(
    engine: Engine,
    queue: QueueRecord,
    claimed: Sequence[tuple[tuple[Any, ...], int, int]],
    system_names: frozenset[str] | None,
    attr_filter: _Filter | None,
) -> list[ReceivedMessage]:
    secret = engine.secret
    out = []
    for row, count, first_ms in claimed:
        handle = receipts.encode(secret, queue.id, row[2], count, row[3])
        attributes: dict[str, str] = {}
        if system_names:
            attributes = _system_attributes(engine, queue, row, count, first_ms, system_names)
        message_attributes: dict[str, MessageAttributeValue] = {}
        md5_attrs = None
        packed = row[5]
        if attr_filter is not None and packed is not None:
            # rows written before attributes were stored encoded hold JSON text
            stored = (
                decode_attributes(packed) if type(packed) is bytes else unpack_attributes(packed)
            )
            if attr_filter.everything:
                message_attributes, md5_attrs = stored, row[7]
            else:
                message_attributes = {
                    name: value
                    for name, value in stored.items()
                    if name in attr_filter.names or name.startswith(attr_filter.prefixes)
                }
                md5_attrs = (
                    row[7]
                    if len(message_attributes) == len(stored)
                    else md5_of_attributes(message_attributes)
                )
        out.append(
            ReceivedMessage(
                message_id=row[3],
                receipt_handle=handle,
                body=row[4],
                md5_of_body=row[6],
                md5_of_message_attributes=md5_attrs,
                attributes=attributes,
                message_attributes=message_attributes,
            )
        )
    return out


def _system_attributes(
    engine: Engine,
    queue: QueueRecord,
    row: tuple[Any, ...],
    count: int,
    first_ms: int,
    names: frozenset[str],
) -> dict[str, str]:
    values: dict[str, str | None] = {
        "SenderId": engine.account_id,
        "SentTimestamp": str(row[9]),
        "ApproximateReceiveCount": str(count),
        "ApproximateFirstReceiveTimestamp": str(first_ms),
        "MessageGroupId": row[12],
        "AWSTraceHeader": row[8],
        "DeadLetterQueueSourceArn": row[15],
    }
    if queue.fifo:
        values["SequenceNumber"] = None if row[14] is None else fifo.render_sequence(row[14])
        values["MessageDeduplicationId"] = row[13]
    return {name: value for name, value in values.items() if name in names and value is not None}
