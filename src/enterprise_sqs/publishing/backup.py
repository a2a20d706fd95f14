"""Message backup: a copy of every published message, and replay from it.

::

    backup = MessageBackup(SQLiteBackupStore("backup.db"))     # or open_backup_store(spec)
    backup.attach(publisher)              # every "published" event becomes a BackupRecord
    ...
    await backup.aclose()                 # writes what is buffered
    report = await replay(SQLiteBackupStore("backup.db"), sqs, queue="orders.fifo",
                          since=datetime(2024, 5, 1, tzinfo=UTC))

A record holds what SQS was sent (the body after codecs, message attributes, FIFO group and
deduplication ids), the message id SQS gave, the queue and a UTC timestamp. Records are
collected from the publisher's events (synchronously, no I/O) and written in batches by a
background task every ``flush_interval`` seconds, so backing up costs a publish nothing but a
list append. A store that fails is logged and retried on the next flush; the buffer is bounded
(``max_buffer``: the oldest records are dropped, counted and logged past it).

Stores: :class:`SQLiteBackupStore` (the default: one local file), :class:`JSONLinesBackupStore`
(a directory, one ``backup-YYYY-MM-DD.jsonl`` per UTC day) and :class:`S3BackupStore` (one
JSON-lines object per flush under ``prefix/queue/YYYY/MM/DD/``). ``open_backup_store`` takes
``sqlite:///path.db`` (or a ``.db`` path), ``jsonl:///dir`` (or a directory) or
``s3://bucket/prefix``.

Replay republishes a time range of one queue's records: new message ids; the same body,
attributes and group id; FIFO messages keep their deduplication id (so a replay within five
minutes of the original is dropped by the queue, as a repeat should be).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from enterprise_sqs.errors import ConfigurationError, EnterpriseSQSError, SQSError, error_for_code
from enterprise_sqs.models import MessageAttributeValue
from enterprise_sqs.publishing.events import PublishEvent

if TYPE_CHECKING:
    from enterprise_sqs.client import EnterpriseSQS
    from enterprise_sqs.publishing.publisher import Publisher

__all__ = [
    "BackupRecord",
    "BackupStore",
    "JSONLinesBackupStore",
    "MessageBackup",
    "ReplayReport",
    "S3BackupStore",
    "SQLiteBackupStore",
    "open_backup_store",
    "replay",
]

logger = logging.getLogger(__name__)

TimeBound = datetime.datetime | float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupRecord:
    """One published message as backed up. ``timestamp``: seconds since the epoch (UTC)."""

    message_id: str
    queue: str
    body: str
    timestamp: float
    queue_url: str | None = None
    attributes: Mapping[str, MessageAttributeValue] = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "queue": self.queue,
            "queue_url": self.queue_url,
            "body": self.body,
            "timestamp": self.timestamp,
            "group_id": self.group_id,
            "deduplication_id": self.deduplication_id,
            "attributes": {
                name: {
                    "type": v.data_type,
                    "string": v.string_value,
                    "binary": None
                    if v.binary_value is None
                    else base64.b64encode(v.binary_value).decode(),
                }
                for name, v in self.attributes.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BackupRecord:
        return cls(
            message_id=data["message_id"],
            queue=data["queue"],
            queue_url=data.get("queue_url"),
            body=data["body"],
            timestamp=float(data["timestamp"]),
            group_id=data.get("group_id"),
            deduplication_id=data.get("deduplication_id"),
            attributes={
                name: MessageAttributeValue(
                    v["type"],
                    string_value=v.get("string"),
                    binary_value=None if v.get("binary") is None else base64.b64decode(v["binary"]),
                )
                for name, v in (data.get("attributes") or {}).items()
            },
        )


def _epoch(bound: TimeBound, name: str) -> float | None:
    if bound is None:
        return None
    if isinstance(bound, datetime.datetime):
        if bound.tzinfo is None:
            raise ConfigurationError(f"{name} must be timezone-aware (e.g. tzinfo=UTC)")
        return bound.timestamp()
    if isinstance(bound, int | float) and not isinstance(bound, bool):
        return float(bound)
    raise ConfigurationError(f"{name} must be an aware datetime or epoch seconds, got {bound!r}")


def _within(
    record: BackupRecord, queue: str | None, since: float | None, until: float | None
) -> bool:
    return (
        (queue is None or record.queue == queue)
        and (since is None or record.timestamp >= since)
        and (until is None or record.timestamp < until)
    )


@runtime_checkable
class BackupStore(Protocol):
    """Where backup records live. ``read`` yields records in time order; ``until`` excluded."""

    async def write(self, records: Sequence[BackupRecord]) -> None: ...

    def read(
        self, *, queue: str | None = None, since: TimeBound = None, until: TimeBound = None
    ) -> AsyncIterator[BackupRecord]: ...

    async def aclose(self) -> None: ...


class SQLiteBackupStore:
    """Backup records in one SQLite file (indexed by queue and time)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteBackupStore({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS backup (message_id TEXT NOT NULL, queue TEXT NOT "
                    "NULL, timestamp REAL NOT NULL, record TEXT NOT NULL)"
                )
                db.execute("CREATE INDEX IF NOT EXISTS backup_time ON backup (queue, timestamp)")
            except (sqlite3.Error, OSError) as exc:
                raise ConfigurationError(f"cannot open the backup file {self.path}: {exc}") from exc
            self._db = db
        return self._db

    async def write(self, records: Sequence[BackupRecord]) -> None:
        db = self._open()
        rows = [(r.message_id, r.queue, r.timestamp, json.dumps(r.to_json())) for r in records]
        with contextlib.closing(db.cursor()) as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany("INSERT INTO backup VALUES (?, ?, ?, ?)", rows)
            cursor.execute("COMMIT")

    async def read(
        self, *, queue: str | None = None, since: TimeBound = None, until: TimeBound = None
    ) -> AsyncIterator[BackupRecord]:
        low, high = _epoch(since, "since"), _epoch(until, "until")
        sql = "SELECT record FROM backup WHERE 1=1"
        params: list[Any] = []
        for clause, value in (
            ("queue = ?", queue),
            ("timestamp >= ?", low),
            ("timestamp < ?", high),
        ):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        cursor = self._open().execute(sql + " ORDER BY timestamp, rowid", params)
        while rows := cursor.fetchmany(500):
            for (record,) in rows:
                yield BackupRecord.from_json(json.loads(record))
            await asyncio.sleep(0)  # let others run between pages of a long replay

    async def aclose(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _day(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).strftime("%Y-%m-%d")


class JSONLinesBackupStore:
    """Backup records as JSON lines in a directory, one ``backup-YYYY-MM-DD.jsonl`` per UTC day."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"JSONLinesBackupStore({str(self.directory)!r})"

    async def write(self, records: Sequence[BackupRecord]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        by_day: dict[str, list[str]] = {}
        for record in records:
            by_day.setdefault(_day(record.timestamp), []).append(json.dumps(record.to_json()))
        for day, lines in by_day.items():
            with (self.directory / f"backup-{day}.jsonl").open("a", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")

    async def read(
        self, *, queue: str | None = None, since: TimeBound = None, until: TimeBound = None
    ) -> AsyncIterator[BackupRecord]:
        low, high = _epoch(since, "since"), _epoch(until, "until")
        first = _day(low) if low is not None else None
        last = _day(high) if high is not None else None
        for path in sorted(self.directory.glob("backup-*.jsonl")):
            day = path.stem.removeprefix("backup-")
            if (first is not None and day < first) or (last is not None and day > last):
                continue
            records = []
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    if line.strip():  # a torn last line (a crash mid-write) is skipped
                        with contextlib.suppress(ValueError, KeyError):
                            records.append(BackupRecord.from_json(json.loads(line)))
            for record in sorted(records, key=lambda r: r.timestamp):
                if _within(record, queue, low, high):
                    yield record
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        return None


class S3BackupStore:
    """Backup records in S3: one JSON-lines object per write, under
    ``prefix/<queue>/YYYY/MM/DD/<time>-<uuid>.jsonl``.

    Args:
        bucket: the bucket (it must exist).
        prefix: key prefix (default ``esqs-backup/``).
        region, endpoint_url, credentials: as for the SQS client (default credential chain).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "esqs-backup/",
        region: str | None = None,
        endpoint_url: str | None = None,
        credentials: Any = None,
    ) -> None:
        if not isinstance(bucket, str) or not bucket:
            raise ConfigurationError(f"bucket must be a non-empty string, got {bucket!r}")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._region = region
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"S3BackupStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    async def _s3(self) -> Any:
        if self._client is None:
            from aiobotocore.session import get_session  # only S3 users load it

            options: dict[str, Any] = {"region_name": self._region or "us-east-1"}
            if self._endpoint_url:
                options["endpoint_url"] = self._endpoint_url
            if self._credentials is not None:
                options["aws_access_key_id"] = self._credentials.access_key_id
                options["aws_secret_access_key"] = self._credentials.secret_access_key
                options["aws_session_token"] = self._credentials.session_token
            stack = contextlib.AsyncExitStack()
            self._client = await stack.enter_async_context(
                get_session().create_client("s3", **options)
            )
            self._stack = stack
        return self._client

    def _key(self, queue: str, timestamp: float) -> str:
        when = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
        return f"{self.prefix}{queue}/{when:%Y/%m/%d}/{when:%H%M%S%f}-{uuid.uuid4().hex}.jsonl"

    async def write(self, records: Sequence[BackupRecord]) -> None:
        s3 = await self._s3()
        by_queue: dict[str, list[BackupRecord]] = {}
        for record in records:
            by_queue.setdefault(record.queue, []).append(record)
        for queue, group in by_queue.items():
            body = "\n".join(json.dumps(r.to_json()) for r in group) + "\n"
            try:
                await s3.put_object(
                    Bucket=self.bucket, Key=self._key(queue, group[0].timestamp), Body=body.encode()
                )
            except Exception as exc:  # botocore/aiohttp errors: translated at this boundary
                raise _s3_error(exc) from exc

    async def read(
        self, *, queue: str | None = None, since: TimeBound = None, until: TimeBound = None
    ) -> AsyncIterator[BackupRecord]:
        low, high = _epoch(since, "since"), _epoch(until, "until")
        s3 = await self._s3()
        prefix = self.prefix + (f"{queue}/" if queue else "")
        keys: list[str] = []
        try:
            async for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                keys.extend(item["Key"] for item in page.get("Contents", ()))
            records: list[BackupRecord] = []
            for key in keys:
                answer = await s3.get_object(Bucket=self.bucket, Key=key)
                async with answer["Body"] as stream:
                    text = (await stream.read()).decode("utf-8")
                records.extend(
                    BackupRecord.from_json(json.loads(line)) for line in text.splitlines() if line
                )
        except Exception as exc:  # botocore/aiohttp errors: translated at this boundary
            raise _s3_error(exc) from exc
        for record in sorted(records, key=lambda r: r.timestamp):
            if _within(record, queue, low, high):
                yield record

    async def aclose(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None


def _s3_error(exc: Exception) -> SQSError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") or "ServiceUnavailable"
    error = error_for_code(str(code), f"the S3 backup store failed: {exc}")
    return error


def open_backup_store(spec: str | Path, **options: Any) -> BackupStore:
    """A store from a spec: ``sqlite:///path.db`` or a ``.db`` path, ``jsonl:///dir`` or a
    directory, ``s3://bucket/prefix`` (``options`` go to :class:`S3BackupStore`).

    Raises:
        ConfigurationError: a spec none of these forms match.
    """
    text = str(spec)
    if text.startswith("s3://"):
        bucket, _, prefix = text.removeprefix("s3://").partition("/")
        return S3BackupStore(bucket, prefix=prefix or "esqs-backup/", **options)
    # As for backends: sqlite:///relative.db, sqlite:////absolute.db (jsonl:// alike).
    for scheme, store in (("sqlite:///", SQLiteBackupStore), ("jsonl:///", JSONLinesBackupStore)):
        if text.startswith(scheme):
            path = text.removeprefix(scheme)
            if not path:
                raise ConfigurationError(f"backup store {text!r} names no path")
            return store(path)
    if text.endswith((".db", ".sqlite", ".sqlite3")):
        return SQLiteBackupStore(text)
    if text and "://" not in text:
        return JSONLinesBackupStore(text)
    raise ConfigurationError(
        f"unknown backup store {text!r}: use sqlite:///path.db, jsonl:///dir or s3://bucket/prefix"
    )


class MessageBackup:
    """Copies every message published by the attached publishers into ``store``.

    Args:
        store: where records go (default: ``SQLiteBackupStore("esqs-backup.db")``).
        flush_interval: seconds records may wait before being written together.
        max_buffer: records held while the store is failing; past it the oldest are dropped.
    """

    def __init__(
        self,
        store: BackupStore | None = None,
        *,
        flush_interval: float = 0.2,
        max_buffer: int = 100_000,
    ) -> None:
        if store is not None and not isinstance(store, BackupStore):
            raise ConfigurationError(f"store must be a BackupStore, got {type(store).__name__}")
        if isinstance(flush_interval, bool) or not isinstance(flush_interval, int | float):
            raise ConfigurationError(f"flush_interval must be seconds, got {flush_interval!r}")
        if flush_interval < 0:
            raise ConfigurationError(f"flush_interval must be >= 0, got {flush_interval!r}")
        self.store: BackupStore = store or SQLiteBackupStore("esqs-backup.db")
        self._interval = float(flush_interval)
        self._max_buffer = max_buffer
        self._buffer: list[BackupRecord] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._detach: list[Any] = []
        self.written = 0
        self.dropped = 0
        self.failures = 0

    def attach(self, publisher: Publisher | Any) -> None:
        """Back up what ``publisher`` publishes: a :class:`Publisher`, or a partitioned,
        balanced or failover publisher (every one of its publishers)."""
        inner = getattr(publisher, "publishers", None)
        targets = list(inner) if inner is not None else [publisher]
        for target in targets:
            events = getattr(target, "events", None)
            if events is None:
                raise ConfigurationError(f"cannot back up {target!r}: it has no publish events")
            self._detach.append(events.subscribe(self._on_published, ["published"]))

    def _on_published(self, event: PublishEvent) -> None:
        if event.message_id is None or event.body is None:
            return
        self._buffer.append(
            BackupRecord(
                message_id=event.message_id,
                queue=event.queue,
                queue_url=event.queue_url,
                body=event.body,
                timestamp=time.time(),
                attributes=dict(event.message_attributes),
                group_id=event.group_id,
                deduplication_id=event.deduplication_id,
            )
        )
        if len(self._buffer) > self._max_buffer:
            excess = len(self._buffer) - self._max_buffer
            del self._buffer[:excess]
            self.dropped += excess
            logger.error("backup buffer full: dropped the oldest records", extra={"count": excess})
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._interval)
        await self.flush()

    async def flush(self) -> None:
        """Write every buffered record now. A failing store is logged; records stay buffered."""
        async with self._lock:
            records, self._buffer = self._buffer, []
            if not records:
                return
            try:
                await self.store.write(records)
            except (EnterpriseSQSError, OSError, sqlite3.Error) as exc:
                self.failures += 1
                self._buffer[:0] = records
                logger.error(
                    "message backup failed; will retry",
                    extra={"store": repr(self.store), "count": len(records), "error": repr(exc)},
                )
                return
            self.written += len(records)

    async def aclose(self) -> None:
        """Detach, write what is buffered, close the store. Safe to call twice."""
        for detach in self._detach:
            detach()
        self._detach.clear()
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
        await self.store.aclose()


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay did: records read, republished, and those that failed (with errors)."""

    read: int
    published: int
    failed: int
    errors: tuple[EnterpriseSQSError, ...] = ()


async def replay(
    store: BackupStore,
    client: EnterpriseSQS,
    *,
    queue: str,
    since: TimeBound = None,
    until: TimeBound = None,
    to_queue: str | None = None,
) -> ReplayReport:
    """Republish ``queue``'s backed-up messages from ``[since, until)`` to ``to_queue`` (default
    the same queue) through ``client``, in time order. New message ids; same body, attributes
    and group id; FIFO deduplication ids kept.

    Raises:
        ConfigurationError: a bad queue or time bound.
    """
    if not isinstance(queue, str) or not queue:
        raise ConfigurationError(f"queue must be a queue name, got {queue!r}")
    low, high = _epoch(since, "since"), _epoch(until, "until")
    if low is not None and high is not None and high <= low:
        raise ConfigurationError(f"until ({until}) must be after since ({since})")
    publisher = client.create_publisher(to_queue or queue)
    read = published = 0
    errors: list[EnterpriseSQSError] = []
    pending: list[asyncio.Task[Any]] = []

    async def settle() -> None:
        nonlocal published
        for result in await asyncio.gather(*pending):
            if result.success:
                published += 1
            elif result.error is not None:
                errors.append(result.error)
        pending.clear()

    try:
        async for record in store.read(queue=queue, since=low, until=high):
            read += 1
            pending.append(
                asyncio.ensure_future(
                    publisher.publish(
                        record.body,
                        group_id=record.group_id,
                        deduplication_id=record.deduplication_id,
                        attributes=record.attributes or None,
                    )
                )
            )
            # FIFO: one batch (10) at a time keeps the original order; standard: 100 at once.
            if len(pending) >= (10 if record.group_id is not None else 100):
                await settle()
        await settle()
    finally:
        await publisher.aclose()
    return ReplayReport(read, published, len(errors), tuple(errors))
