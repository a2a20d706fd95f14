"""Messages: send, delete, change visibility, and moving rows to another queue (redrive).

Receiving (claims, FIFO selection, DLQ redrive on receive, retention sweeps) is in
:mod:`enterprise_sqs.engine.receiving`.

Runs where the store runs its jobs (the worker thread for a file, inline for memory). Each call is
one transaction: a batch of ten sends is one ``executemany`` and one commit.

Message states, from the row alone (``now`` from the engine's clock):

- visible: ``visible_at <= now``
- in flight: ``visible_at > now`` and received (``received_at`` set)
- delayed: ``visible_at > now`` and never received in this queue
- gone: ``enqueued_at`` older than the queue's retention period (swept lazily, filtered always)
"""

from __future__ import annotations

import base64
import json
import os
import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from enterprise_sqs.checksums import decode_attributes, md5_hex, md5_of_attributes
from enterprise_sqs.engine import fifo, receipts
from enterprise_sqs.engine.context import Engine, QueueRecord
from enterprise_sqs.engine.validation import (
    MAX_BATCH_BYTES,
    check_batch_ids,
    check_body,
    check_deduplication_id,
    check_delay,
    check_group_id,
    check_system_attributes,
    check_visibility_timeout,
    encode_message_attributes,
    invalid_value,
)
from enterprise_sqs.errors import (
    BatchRequestTooLong,
    InvalidParameterValue,
    MessageTooLong,
    MissingParameter,
    ReceiptHandleIsInvalid,
    SQSError,
)
from enterprise_sqs.models import (
    BatchFailure,
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    SendEntry,
    SendSuccess,
)

__all__ = [
    "COLUMNS",
    "change_visibility",
    "delete",
    "move_rows",
    "send",
    "unpack_attributes",
]

MAX_TOTAL_VISIBILITY = 43_200

_INSERT = (
    "INSERT INTO messages (queue_id, message_id, body, attrs, md5_body, md5_attrs, trace_header,"
    " sent_ms, enqueued_at, visible_at, receive_count, first_receive_ms, group_id, dedup_id, seq,"
    " dlq_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Receive reads these; fifo.select needs visible_at and enqueued_at first.
COLUMNS = (
    "visible_at, enqueued_at, id, message_id, body, attrs, md5_body, md5_attrs, trace_header,"
    " sent_ms, receive_count, first_receive_ms, group_id, dedup_id, seq, dlq_source"
)


# -- message attributes in the store ------------------------------------------------------------

# A row keeps its message attributes (a BLOB) in the encoding their MD5 is computed over
# (checksums), built once on send while validating them. For one trace header attribute, sending
# cost 5.3 µs (validation, MD5 and a JSON document in separate passes) and receiving 2.1 µs; now
# 1.0 µs and 0.9 µs. Rows written before hold a JSON list of [name, type, text, base64] as TEXT.


def unpack_attributes(packed: bytes | str) -> dict[str, MessageAttributeValue]:
    """A row's ``attrs``: their MD5 encoding (a BLOB), or JSON text in rows written before."""
    if type(packed) is bytes:
        return decode_attributes(packed)
    return {
        name: MessageAttributeValue(
            data_type,
            string_value=text,
            binary_value=None if b64 is None else base64.b64decode(b64),
        )
        for name, data_type, text, b64 in json.loads(packed)
    }


# Message ids must be unique, not secret (receipt handles are what is signed), so they come from
# a fast generator seeded with 256 bits of OS entropy instead of a system call per message
# (os.urandom was ~1 µs of a ~12 µs send). A forked child reseeds: it must not repeat its parent.
_ids = random.Random(os.urandom(32))  # unique ids, not secrets (see above)
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))  # the version nibble and the variant bits
_UUID4_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def make_message_id() -> str:
    """A version 4 UUID string (122 random bits), without the cost of ``uuid.uuid4()``."""
    h = f"{(_ids.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _lenient_size(entry: SendEntry) -> int:
    """An invalid entry's size for the whole-batch limit, whatever is wrong with it."""
    body = entry.body
    if not isinstance(body, str):
        size = 0
    elif body.isascii():
        size = len(body)
    else:
        size = len(body.encode("utf-8", "surrogatepass"))
    if not entry.message_attributes:
        return size
    for name, value in (entry.message_attributes or {}).items():
        size += len(str(name).encode("utf-8", "surrogatepass"))
        if isinstance(value, MessageAttributeValue):
            size += len(str(value.data_type).encode("utf-8", "surrogatepass"))
            if value.binary_value is not None:
                size += len(value.binary_value)
            elif value.string_value is not None:
                size += len(str(value.string_value).encode("utf-8", "surrogatepass"))
    return size


# -- send ---------------------------------------------------------------------------------------


class _Prepared(NamedTuple):
    entry: SendEntry
    row: list[Any]
    success: SendSuccess
    group_id: str | None
    dedup_id: str | None


# An entry's validated content: the body's UTF-8, the size SQS counts (body and message
# attributes) and the message attributes' encoding (checksums; b"" for none). A plain tuple: a
# NamedTuple costs 0.3 µs to build.
_Content = tuple[bytes, int, bytes]


def _content(entry: SendEntry) -> _Content:
    """An entry's body and message attributes, validated. Raises the entry's SQS error."""
    if not isinstance(entry, SendEntry):
        raise InvalidParameterValue("Each entry must be a SendEntry.")
    raw = check_body(entry.body)
    if not entry.message_attributes:
        return raw, len(raw), b""
    size, encoded = encode_message_attributes(entry.message_attributes)
    return raw, len(raw) + size, encoded


def _prepare(
    engine: Engine,
    queue: QueueRecord,
    entry: SendEntry,
    content: _Content,
    now: float,
    sent_ms: int,
) -> _Prepared:
    """Validate the rest of one entry and build its row. Raises the entry's SQS error."""
    body = entry.body
    raw, size, encoded = content
    trace = check_system_attributes(entry.system_attributes) if entry.system_attributes else None
    if size > queue.max_size:
        raise MessageTooLong(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{queue.max_size} bytes."
        )
    if entry.delay_seconds is None:
        delay = queue.delay_seconds
    else:
        delay = check_delay(entry.delay_seconds, fifo=queue.fifo)
        if queue.fifo:
            delay = queue.delay_seconds
    group_id = entry.group_id
    dedup_id = entry.deduplication_id
    if queue.fifo:
        if group_id is None or group_id == "":
            raise MissingParameter("The request must contain the parameter MessageGroupId.")
        check_group_id(group_id)
        if dedup_id is not None:
            check_deduplication_id(dedup_id)
        elif queue.content_dedup:
            dedup_id = fifo.content_dedup_id(body)
        else:
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
    else:
        if group_id is not None:
            check_group_id(group_id)
        if dedup_id is not None:
            raise invalid_value(
                dedup_id,
                "MessageDeduplicationId",
                "The request include parameter that is not valid for this queue type.",
            )
    message_id = make_message_id()
    md5_body = md5_hex(raw)  # = checksums.md5_of_body
    md5_attrs = md5_hex(encoded) if encoded else None
    md5_system = md5_of_attributes(entry.system_attributes) if trace is not None else None
    row = [
        queue.id,
        message_id,
        body,
        encoded or None,
        md5_body,
        md5_attrs,
        trace,
        sent_ms,
        now,
        now + delay,
        0,
        None,
        group_id,
        dedup_id if queue.fifo else None,
        None,
        None,
    ]
    success = SendSuccess(
        id=entry.id,
        message_id=message_id,
        md5_of_body=md5_body,
        md5_of_message_attributes=md5_attrs,
        md5_of_system_attributes=md5_system,
    )
    return _Prepared(entry, row, success, group_id, dedup_id)


def _failure(entry_id: str, exc: SQSError) -> BatchFailure:
    return BatchFailure(id=entry_id, code=exc.actual_code, message=exc.message, sender_fault=True)


def send(
    engine: Engine, url: str, entries: Sequence[SendEntry], single: bool
) -> tuple[BatchResult[SendSuccess], int]:
    """SendMessage (``single``: errors raise) or SendMessageBatch (errors become failures).

    Returns the result and the queue's id (to wake its long polls)."""
    contents: list[_Content | SQSError] = []
    if not single:
        if isinstance(entries, SendEntry | str | bytes):
            raise InvalidParameterValue("Entries must be a sequence of SendEntry.")
        check_batch_ids(
            [getattr(entry, "id", None) for entry in entries],  # type: ignore[misc]  # checked inside
            "SendMessageBatchRequestEntry",
        )
        # An entry's body and attributes are validated (and encoded) once, here: a valid entry's
        # size is the one SQS counts; an invalid one's is guessed leniently, as SQS adds up
        # the request before it looks at entries. (A lenient pass over every entry first cost
        # 0.4 µs for a message with one attribute.)
        total = 0
        for entry in entries:
            try:
                checked = _content(entry)
            except SQSError as exc:
                contents.append(exc)
                total += _lenient_size(entry)
            else:
                contents.append(checked)
                total += checked[1]
        if total > MAX_BATCH_BYTES:
            raise BatchRequestTooLong(
                f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent "
                f"{total} bytes."
            )
    queue = engine.queue_for_url(url)
    if queue.fifo and not single:
        _check_fifo_batch(queue, entries)
    now = engine.clock.time()
    sent_ms = int(now * 1000)
    prepared: list[_Prepared] = []
    failed: list[BatchFailure] = []
    for index, entry in enumerate(entries):
        try:
            content = _content(entry) if single else contents[index]
            if isinstance(content, SQSError):
                raise content
            prepared.append(_prepare(engine, queue, entry, content, now, sent_ms))
        except SQSError as exc:
            if single:
                raise
            failed.append(_failure(entry.id, exc))
    successes: list[SendSuccess] = []
    if prepared:
        engine.begin()
        if queue.fifo:
            successes = _insert_fifo(engine, queue, prepared, now)
        else:
            engine.conn.executemany(_INSERT, [p.row for p in prepared])
            successes = [p.success for p in prepared]
        engine.commit()
    return BatchResult(successful=successes, failed=failed), queue.id


def _check_fifo_batch(queue: QueueRecord, entries: Sequence[SendEntry]) -> None:
    """SendMessageBatch on a FIFO queue refuses the whole request, not the entry, when an entry
    lacks its group id or (without content-based deduplication) its deduplication id."""
    for entry in entries:
        if not getattr(entry, "group_id", None):
            raise InvalidParameterValue("The request must contain the parameter MessageGroupId.")
        if not queue.content_dedup and not getattr(entry, "deduplication_id", None):
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )


def _insert_fifo(
    engine: Engine, queue: QueueRecord, prepared: list[_Prepared], now: float
) -> list[SendSuccess]:
    conn = engine.conn
    if now - engine.dedup_swept.get(queue.id, -1e18) >= fifo.DEDUP_WINDOW_SECONDS / 10:
        fifo.sweep(engine, queue, now)
        engine.dedup_swept[queue.id] = now
    (next_seq,) = conn.execute("SELECT next_seq FROM queues WHERE id = ?", (queue.id,)).fetchone()
    successes: list[SendSuccess] = []
    rows = []
    for item in prepared:
        assert item.dedup_id is not None  # set by _prepare for FIFO queues
        assert item.group_id is not None
        scope = item.group_id if queue.dedup_by_group else ""
        original = fifo.seen(engine, queue, scope, item.dedup_id, now)
        if original is not None:
            message_id, seq = original
            successes.append(
                SendSuccess(
                    id=item.success.id,
                    message_id=message_id,
                    md5_of_body=item.success.md5_of_body,
                    md5_of_message_attributes=item.success.md5_of_message_attributes,
                    md5_of_system_attributes=item.success.md5_of_system_attributes,
                    sequence_number=None if seq is None else fifo.render_sequence(seq),
                )
            )
            continue
        next_seq += 1
        item.row[14] = next_seq
        rows.append(item.row)
        fifo.remember(engine, queue, scope, item.dedup_id, now, item.success.message_id, next_seq)
        successes.append(
            SendSuccess(
                id=item.success.id,
                message_id=item.success.message_id,
                md5_of_body=item.success.md5_of_body,
                md5_of_message_attributes=item.success.md5_of_message_attributes,
                md5_of_system_attributes=item.success.md5_of_system_attributes,
                sequence_number=fifo.render_sequence(next_seq),
            )
        )
    conn.executemany(_INSERT, rows)
    conn.execute("UPDATE queues SET next_seq = ? WHERE id = ?", (next_seq, queue.id))
    return successes


# -- redrive ------------------------------------------------------------------------------------


def move_rows(
    engine: Engine,
    rows: Sequence[tuple[Any, ...]],
    target: QueueRecord,
    now: float,
    *,
    source_arn: str | None,
    new_message_id: bool,
) -> None:
    """Move receive-shaped rows (``COLUMNS``) into ``target``, deleting them where they were.

    Standard DLQs keep the original enqueue time (retention counts from the first send); FIFO
    targets enqueue anew with fresh sequence numbers; a move task's copies (new message ids)
    are new messages.
    """
    conn = engine.conn
    next_seq = 0
    if target.fifo:
        (next_seq,) = conn.execute(
            "SELECT next_seq FROM queues WHERE id = ?", (target.id,)
        ).fetchone()
    inserts = []
    for row in rows:
        seq = None
        if target.fifo:
            next_seq += 1
            seq = next_seq
        inserts.append(
            (
                target.id,
                make_message_id() if new_message_id else row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                row[9],
                now if target.fifo or new_message_id else row[1],
                now,
                0 if new_message_id else row[10],
                None if new_message_id else row[11],
                row[12] if target.fifo or row[12] else None,
                row[13] if target.fifo else None,
                seq,
                source_arn,
            )
        )
    conn.executemany(_INSERT, inserts)
    conn.executemany("DELETE FROM messages WHERE id = ?", [(row[2],) for row in rows])
    if target.fifo:
        conn.execute("UPDATE queues SET next_seq = ? WHERE id = ?", (next_seq, target.id))


# -- delete and visibility ----------------------------------------------------------------------


def _decode_for(engine: Engine, queue: QueueRecord, handle: str) -> receipts.Receipt:
    receipt = receipts.decode(engine.secret, handle)
    if receipt.queue_id != queue.id:
        raise ReceiptHandleIsInvalid(
            f'The input receipt handle "{handle}" is not a valid receipt handle for this queue.'
        )
    return receipt


def _check_fifo_handle_current(
    engine: Engine, receipt: receipts.Receipt, handle: str, now: float
) -> None:
    """FIFO queues refuse a handle whose visibility timeout ran out (the message may be in
    another consumer's hands by now); a message already gone is no error."""
    row = engine.conn.execute(
        "SELECT receive_count, visible_at FROM messages WHERE id = ? AND message_id = ?",
        (receipt.row_id, receipt.message_id),
    ).fetchone()
    if row is not None and (row[0] != receipt.receive_count or row[1] <= now):
        raise invalid_value(handle, "ReceiptHandle", "The receipt handle has expired.")


def delete(
    engine: Engine, url: str, entries: Sequence[DeleteEntry], single: bool
) -> tuple[BatchResult[str], int | None]:
    """DeleteMessage(Batch). Returns the result and, when deleting may have unblocked a FIFO
    message group, the queue's id (to wake its long polls)."""
    if not single:
        check_batch_ids([getattr(e, "id", None) for e in entries], "DeleteMessageBatchRequestEntry")  # type: ignore[misc]  # checked inside
    queue = engine.queue_for_url(url)
    now = engine.clock.time()
    keys = []
    ok = []
    failed = []
    for entry in entries:
        try:
            receipt = _decode_for(engine, queue, entry.receipt_handle)
            if queue.fifo:
                _check_fifo_handle_current(engine, receipt, entry.receipt_handle, now)
        except SQSError as exc:
            if single:
                raise
            failed.append(_failure(entry.id, exc))
            continue
        keys.append((receipt.row_id, receipt.message_id))
        ok.append(entry.id)
    if keys:
        engine.begin()
        engine.conn.executemany("DELETE FROM messages WHERE id = ? AND message_id = ?", keys)
        engine.commit()
    return BatchResult(successful=ok, failed=failed), (queue.id if queue.fifo and keys else None)


def change_visibility(
    engine: Engine, url: str, entries: Sequence[ChangeVisibilityEntry], single: bool
) -> tuple[BatchResult[str], int | None]:
    """Returns the result and, when a message became visible at once, the queue id to wake."""
    if not single:
        check_batch_ids(
            [getattr(e, "id", None) for e in entries],  # type: ignore[misc]  # checked inside
            "ChangeMessageVisibilityBatchRequestEntry",
        )
    queue = engine.queue_for_url(url)
    now = engine.clock.time()
    ok: list[str] = []
    failed: list[BatchFailure] = []
    wake = None
    engine.begin()
    for entry in entries:
        try:
            timeout = check_visibility_timeout(entry.visibility_timeout)
            receipt = _decode_for(engine, queue, entry.receipt_handle)
            row = engine.conn.execute(
                "SELECT receive_count, received_at FROM messages "
                "WHERE id = ? AND message_id = ? AND queue_id = ?",
                (receipt.row_id, receipt.message_id, queue.id),
            ).fetchone()
            if row is None or row[1] is None:
                raise invalid_value(
                    entry.receipt_handle,
                    "ReceiptHandle",
                    "Message does not exist or is not available for visibility timeout change.",
                )
            if row[0] != receipt.receive_count:
                raise invalid_value(
                    entry.receipt_handle, "ReceiptHandle", "The receipt handle has expired."
                )
            if now + timeout - row[1] > MAX_TOTAL_VISIBILITY:
                raise invalid_value(
                    timeout,
                    "VisibilityTimeout",
                    f"Total VisibilityTimeout for the message is beyond the limit "
                    f"[{MAX_TOTAL_VISIBILITY} seconds]",
                )
            engine.conn.execute(
                "UPDATE messages SET visible_at = ? WHERE id = ?", (now + timeout, receipt.row_id)
            )
            if timeout == 0:
                wake = queue.id
            ok.append(entry.id)
        except SQSError as exc:
            if single:
                raise
            failed.append(_failure(entry.id, exc))
    engine.commit()
    return BatchResult(successful=ok, failed=failed), wake
