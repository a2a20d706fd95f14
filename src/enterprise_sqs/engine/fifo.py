"""FIFO semantics: deduplication, sequence numbers, and which messages a receive may take.

- Deduplication: an id (explicit, or the SHA-256 of the body when ContentBasedDeduplication is
  on; an explicit id wins) is remembered for 5 minutes in its own table, so the window survives
  the message's deletion. Scope is the queue, or the message group when
  ``DeduplicationScope=messageGroup``. A duplicate is accepted and answered like the original,
  and never stored.
- Order: messages carry a per-queue sequence number; within a group they are delivered strictly
  in that order. While any message of a group is in flight, nothing later in the group is.
- Receive takes groups in the order of their oldest message and, within one group, as many
  messages as it can before moving to the next group (g1-m1, g1-m2, g1-m3, g2-m1).
"""

from __future__ import annotations

import hashlib
from typing import Any

from enterprise_sqs.engine.context import Engine, QueueRecord

__all__ = [
    "DEDUP_WINDOW_SECONDS",
    "content_dedup_id",
    "remember",
    "render_sequence",
    "seen",
    "select",
]

DEDUP_WINDOW_SECONDS = 300.0
# SQS sequence numbers are large (20 digits) and only ever grow; ours are an offset counter.
_SEQUENCE_BASE = 18_000_000_000_000_000_000


def render_sequence(seq: int) -> str:
    return str(_SEQUENCE_BASE + seq)


def content_dedup_id(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def seen(
    engine: Engine, queue: QueueRecord, scope: str, dedup_id: str, now: float
) -> tuple[str, int | None] | None:
    """The (message id, seq) a deduplication id was first accepted with, within the window."""
    row = engine.conn.execute(
        "SELECT message_id, seq FROM dedup "
        "WHERE queue_id = ? AND scope = ? AND dedup_id = ? AND expires_at > ?",
        (queue.id, scope, dedup_id, now),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def remember(
    engine: Engine,
    queue: QueueRecord,
    scope: str,
    dedup_id: str,
    now: float,
    message_id: str,
    seq: int,
) -> None:
    engine.conn.execute(
        "INSERT OR REPLACE INTO dedup (queue_id, scope, dedup_id, expires_at, message_id, seq) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (queue.id, scope, dedup_id, now + DEDUP_WINDOW_SECONDS, message_id, seq),
    )


def sweep(engine: Engine, queue: QueueRecord, now: float) -> None:
    """Forget deduplication ids and receive attempts past their 5-minute window."""
    engine.conn.execute("DELETE FROM dedup WHERE queue_id = ? AND expires_at <= ?", (queue.id, now))
    engine.conn.execute(
        "DELETE FROM receive_attempts WHERE queue_id = ? AND expires_at <= ?", (queue.id, now)
    )


def select(
    engine: Engine, queue: QueueRecord, now: float, limit: int, columns: str
) -> list[tuple[Any, ...]]:
    """The messages a FIFO receive delivers now, in delivery order (at most ``limit``).

    ``columns`` must start with ``visible_at, enqueued_at``; rows come back with them.
    """
    conn = engine.conn
    blocked = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT group_id FROM messages "
            "WHERE queue_id = ? AND visible_at > ? AND received_at IS NOT NULL",
            (queue.id, now),
        )
    }
    cutoff = now - queue.retention
    taken: list[tuple[Any, ...]] = []
    visited = blocked
    heads = conn.execute(
        "SELECT group_id FROM messages WHERE queue_id = ? AND seq IS NOT NULL ORDER BY seq",
        (queue.id,),
    )
    for (group_id,) in heads:
        if group_id in visited:
            continue
        visited.add(group_id)
        rows = conn.execute(
            f"SELECT {columns} FROM messages "
            "WHERE queue_id = ? AND group_id = ? AND seq IS NOT NULL ORDER BY seq LIMIT ?",
            (queue.id, group_id, limit - len(taken)),
        ).fetchall()
        for row in rows:
            if row[0] > now:  # delayed: nothing after it in the group may pass it
                break
            if row[1] < cutoff:  # past retention: gone, whatever the sweep has not yet removed
                continue
            taken.append(row)
        if len(taken) >= limit:
            break
    heads.close()
    return taken
