"""Queue administration: create, look up, delete, list, attributes, purge, tags, DLQ sources.

Every function runs on the store's worker thread with the :class:`Engine` as first argument and
commits its own transaction. Time rules: a deleted name is reusable 60 s later
(``QueueDeletedRecently``); one purge per queue per 60 s (``PurgeQueueInProgress``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence

from enterprise_sqs.engine import attributes as attrs_mod
from enterprise_sqs.engine.context import Engine, QueueRecord
from enterprise_sqs.engine.validation import check_queue_name, invalid_value
from enterprise_sqs.errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueAlreadyExists,
    QueueDeletedRecently,
    QueueDoesNotExist,
)
from enterprise_sqs.models import QueuePage

__all__ = [
    "create_queue",
    "delete_queue",
    "get_queue_attributes",
    "get_queue_url",
    "list_dead_letter_source_queues",
    "list_queue_tags",
    "list_queues",
    "purge_queue",
    "set_queue_attributes",
    "tag_queue",
    "untag_queue",
]

RECENTLY_DELETED_SECONDS = 60.0
PURGE_INTERVAL_SECONDS = 60.0
MAX_TAGS = 50


def _check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidParameterValue("Tags must be a mapping of tag keys to values.")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidParameterValue(
                f"Tag key {key!r} is invalid: keys are 1 to 128 characters long."
            )
        if not isinstance(value, str) or len(value) > 256:
            raise InvalidParameterValue(
                f"Tag value for key {key!r} is invalid: values are strings of at most 256 "
                "characters."
            )
    return dict(tags)


def _check_redrive(engine: Engine, name: str, fifo: bool, changes: Mapping[str, str]) -> None:
    """The DLQ a RedrivePolicy names must exist, have the source's type and allow the source."""
    redrive = changes.get("RedrivePolicy")
    if not redrive:
        return
    target = json.loads(redrive)["deadLetterTargetArn"]
    dlq = engine.queue_by_arn(target)
    if dlq is None:
        raise QueueDoesNotExist(f"Could not find DLQ for {target}")
    if dlq.fifo != fifo:
        raise invalid_value(
            redrive,
            "RedrivePolicy",
            "Dead-letter queue must be same type of queue as the source.",
        )
    if not attrs_mod.redrive_allows(dlq.redrive_allow, engine.arn(name)):
        raise invalid_value(
            redrive,
            "RedrivePolicy",
            f"Queue {engine.arn(name)} is not allowed to use {target} as a dead-letter queue: "
            "the dead-letter queue's RedriveAllowPolicy does not allow it.",
        )


def create_queue(
    engine: Engine,
    name: str,
    attributes: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
) -> str:
    fifo_flag = (attributes or {}).get("FifoQueue") if isinstance(attributes, Mapping) else None
    fifo = isinstance(fifo_flag, str) and fifo_flag.lower() == "true"
    check_queue_name(name, fifo=fifo)
    changes = attrs_mod.normalize(attributes, fifo=fifo, creating=True)
    tag_map = _check_tags(tags or {})
    now = engine.clock.time()
    engine.begin()
    existing = engine.queue_by_name(name)
    if existing is not None:
        for key, value in changes.items():
            current = existing.attributes.get(key, "" if key != "FifoQueue" else "false")
            if current != value:
                raise QueueAlreadyExists(
                    "A queue already exists with the same name and a different value for "
                    f"attribute {key}"
                )
        engine.commit()
        return existing.url
    deleted = engine.conn.execute(
        "SELECT deleted_at FROM deleted_queues WHERE name = ?", (name,)
    ).fetchone()
    if deleted is not None and now - deleted[0] < RECENTLY_DELETED_SECONDS:
        raise QueueDeletedRecently(
            "You must wait 60 seconds after deleting a queue before you can create another "
            "with the same name."
        )
    _check_redrive(engine, name, fifo, changes)
    changes.pop("FifoQueue", None)
    stored = attrs_mod.apply(attrs_mod.defaults(fifo=fifo), changes)
    engine.conn.execute("DELETE FROM deleted_queues WHERE name = ?", (name,))
    engine.conn.execute(
        "INSERT INTO queues (name, fifo, attributes, tags, created, modified) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (name, int(fifo), json.dumps(stored), json.dumps(tag_map), now, now),
    )
    engine.commit()
    return engine.url(name)


def get_queue_url(engine: Engine, name: str, owner_account_id: str | None) -> str:
    if owner_account_id is not None and owner_account_id != engine.account_id:
        raise QueueDoesNotExist("The specified queue does not exist.")
    if not isinstance(name, str) or not name:
        raise QueueDoesNotExist("The specified queue does not exist.")
    record = engine.queue_by_name(name)
    if record is None:
        raise QueueDoesNotExist("The specified queue does not exist.")
    return record.url


def delete_queue(engine: Engine, url: str) -> int:
    engine.begin()
    queue = engine.queue_for_url(url)
    conn = engine.conn
    conn.execute("DELETE FROM messages WHERE queue_id = ?", (queue.id,))
    conn.execute("DELETE FROM dedup WHERE queue_id = ?", (queue.id,))
    conn.execute("DELETE FROM receive_attempts WHERE queue_id = ?", (queue.id,))
    conn.execute("DELETE FROM queues WHERE id = ?", (queue.id,))
    conn.execute(
        "INSERT OR REPLACE INTO deleted_queues (name, deleted_at) VALUES (?, ?)",
        (queue.name, engine.clock.time()),
    )
    engine.commit()
    engine.forget(queue.name)
    return queue.id


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": name}).encode()).decode()


def _decode_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError) as exc:
        raise InvalidParameterValue("Invalid NextToken value.") from exc
    if not isinstance(after, str):
        raise InvalidParameterValue("Invalid NextToken value.")
    return after


def _page(
    names: list[str], engine: Engine, max_results: int | None, next_token: str | None
) -> QueuePage:
    if max_results is not None and (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= 1000
    ):
        raise invalid_value(max_results, "MaxResults", "Must be between 1 and 1000, if provided.")
    if next_token is not None:
        after = _decode_token(next_token)
        names = [name for name in names if name > after]
    limit = max_results if max_results is not None else 1000
    page, rest = names[:limit], names[limit:]
    token = _encode_token(page[-1]) if rest and max_results is not None else None
    return QueuePage(queue_urls=[engine.url(name) for name in page], next_token=token)


def list_queues(
    engine: Engine, prefix: str | None, max_results: int | None, next_token: str | None
) -> QueuePage:
    if prefix is not None and not isinstance(prefix, str):
        raise InvalidParameterValue("QueueNamePrefix must be a string.")
    if prefix:
        rows = engine.conn.execute(
            "SELECT name FROM queues WHERE substr(name, 1, ?) = ? ORDER BY name",
            (len(prefix), prefix),
        ).fetchall()
    else:
        rows = engine.conn.execute("SELECT name FROM queues ORDER BY name").fetchall()
    return _page([row[0] for row in rows], engine, max_results, next_token)


def _counts(engine: Engine, queue: QueueRecord) -> tuple[int, int, int]:
    now = engine.clock.time()
    cutoff = now - queue.retention
    visible, not_visible, delayed = engine.conn.execute(
        "SELECT "
        "  count(CASE WHEN visible_at <= ?1 THEN 1 END),"
        "  count(CASE WHEN visible_at > ?1 AND received_at IS NOT NULL THEN 1 END),"
        "  count(CASE WHEN visible_at > ?1 AND received_at IS NULL THEN 1 END) "
        "FROM messages WHERE queue_id = ?2 AND enqueued_at >= ?3",
        (now, queue.id, cutoff),
    ).fetchone()
    return visible, not_visible, delayed


_ALWAYS = ("SqsManagedSseEnabled",)


def get_queue_attributes(engine: Engine, url: str, names: Sequence[str]) -> dict[str, str]:
    if isinstance(names, str):
        names = (names,)
    for name in names:
        if name != "All" and name not in attrs_mod.READABLE:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    queue = engine.queue_for_url(url)
    wanted = set(attrs_mod.READABLE) if "All" in names else set(names)
    result = {k: v for k, v in queue.attributes.items() if k in wanted}
    computed = wanted.intersection(attrs_mod.COMPUTED)
    if computed:
        if wanted & {
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        }:
            visible, not_visible, delayed = _counts(engine, queue)
            values = {
                "ApproximateNumberOfMessages": visible,
                "ApproximateNumberOfMessagesNotVisible": not_visible,
                "ApproximateNumberOfMessagesDelayed": delayed,
            }
            for key, count in values.items():
                if key in wanted:
                    result[key] = str(count)
        if "QueueArn" in wanted:
            result["QueueArn"] = queue.arn
        if "CreatedTimestamp" in wanted:
            result["CreatedTimestamp"] = str(int(queue.created))
        if "LastModifiedTimestamp" in wanted:
            result["LastModifiedTimestamp"] = str(int(queue.modified))
    return result


def set_queue_attributes(engine: Engine, url: str, attributes: Mapping[str, str]) -> None:
    engine.begin()
    queue = engine.queue_for_url(url)
    changes = attrs_mod.normalize(attributes, fifo=queue.fifo, creating=False)
    changes.pop("FifoQueue", None)  # "true" again on a FIFO queue: accepted, nothing changes
    _check_redrive(engine, queue.name, queue.fifo, changes)
    merged = attrs_mod.apply(queue.attributes, changes)
    if (
        merged.get("FifoThroughputLimit") == "perMessageGroupId"
        and merged.get("DeduplicationScope") != "messageGroup"
    ):
        raise InvalidParameterValue(
            "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId "
            "requires DeduplicationScope to be messageGroup."
        )
    engine.conn.execute(
        "UPDATE queues SET attributes = ?, modified = ?, version = version + 1 WHERE id = ?",
        (json.dumps(merged), engine.clock.time(), queue.id),
    )
    engine.commit()


def purge_queue(engine: Engine, url: str) -> int:
    engine.begin()
    queue = engine.queue_for_url(url)
    now = engine.clock.time()
    if queue.last_purge is not None and now - queue.last_purge < PURGE_INTERVAL_SECONDS:
        raise PurgeQueueInProgress(
            f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
        )
    engine.conn.execute("DELETE FROM messages WHERE queue_id = ?", (queue.id,))
    engine.conn.execute("DELETE FROM receive_attempts WHERE queue_id = ?", (queue.id,))
    engine.conn.execute(
        "UPDATE queues SET last_purge = ?, version = version + 1 WHERE id = ?", (now, queue.id)
    )
    engine.commit()
    return queue.id


def tag_queue(engine: Engine, url: str, tags: Mapping[str, str]) -> None:
    new = _check_tags(tags)
    if not new:
        raise InvalidParameterValue("The request must contain at least one tag.")
    engine.begin()
    queue = engine.queue_for_url(url)
    merged = {**queue.tags, **new}
    if len(merged) > MAX_TAGS:
        raise InvalidParameterValue(f"Too many tags added for queue {queue.name}.")
    engine.conn.execute(
        "UPDATE queues SET tags = ?, version = version + 1 WHERE id = ?",
        (json.dumps(merged), queue.id),
    )
    engine.commit()


def untag_queue(engine: Engine, url: str, keys: Sequence[str]) -> None:
    if isinstance(keys, str) or not keys:
        raise InvalidParameterValue("The request must contain a non-empty list of tag keys.")
    engine.begin()
    queue = engine.queue_for_url(url)
    merged = {k: v for k, v in queue.tags.items() if k not in set(keys)}
    engine.conn.execute(
        "UPDATE queues SET tags = ?, version = version + 1 WHERE id = ?",
        (json.dumps(merged), queue.id),
    )
    engine.commit()


def list_queue_tags(engine: Engine, url: str) -> dict[str, str]:
    return dict(engine.queue_for_url(url).tags)


def list_dead_letter_source_queues(
    engine: Engine, url: str, max_results: int | None, next_token: str | None
) -> QueuePage:
    dlq = engine.queue_for_url(url)
    sources = []
    for (name,) in engine.conn.execute("SELECT name FROM queues ORDER BY name").fetchall():
        record = engine.queue_by_name(name)
        if record is not None and record.dlq_arn == dlq.arn:
            sources.append(name)
    return _page(sources, engine, max_results, next_token)
