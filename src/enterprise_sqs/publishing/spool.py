"""The outage spool: when SQS cannot take messages, keep them on local disk and forward them later.

::

    spool = Spool("/var/lib/app/outage-spool.db", max_bytes=512 * 2**20)
    orders = SpoolingPublisher(sqs.create_publisher("orders.fifo", message_group_id="o"), spool)
    result = await orders.publish(order)       # result.spooled is True during an outage
    ...
    await orders.aclose()                      # forwards what it can, leaves the rest on disk

A publish the service cannot accept — the breaker refused it, a retryable failure outlived its
retries, every region of a :class:`~enterprise_sqs.publishing.failover.FailoverPublisher`
failed — is written to a SQLite file and answered ``PublishResult(success=True, spooled=True)``.
While anything of a publisher waits in the spool, its new messages are spooled too, so they
cannot overtake the older ones. A forwarder task sends the spooled messages, oldest first, through
the same publisher; its first send after an outage goes through the circuit breaker (a half-open
breaker admits it as the probe), and it waits ``retry_after`` (or a backoff) after a refusal.
A message the service rejects for its own sake (too large, a missing queue) is moved to the
``rejected`` table (counted, logged, kept for an operator) instead of blocking the rest.

Durability: a spooled result is returned only after its row is committed (rows arriving together
share one commit). The file outlives the process — a SIGKILL included — and the next
``SpoolingPublisher`` on it forwards what is left. Between a successful send and the row's
deletion a crash can send a message twice; a FIFO queue drops the repeat (same deduplication id
within 5 minutes), a standard queue delivers it twice — SQS is at-least-once anyway.

One owner: a :class:`Spool` holds an exclusive lock on ``<file>.lock`` while it is open, so a
second process (or a second ``Spool`` in this one) opening the same file is refused with a
:class:`~enterprise_sqs.errors.ConfigurationError` naming the holder, rather than forwarding the
same messages twice. The operating system releases the lock when the owner exits, however it
exits (SIGKILL included). (POSIX only: elsewhere the lock is skipped.)

Bounded: ``max_bytes`` caps the bodies and attributes held; a message that does not fit fails
with :class:`~enterprise_sqs.errors.SpoolFullError`. :meth:`Spool.stats` (spooled, forwarded,
rejected, pending, bytes) is what metrics and health checks read.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from enterprise_sqs.codecs.serialization import JSONSerializer, Serializer, encode_body
from enterprise_sqs.errors import (
    CircuitOpenError,
    ClientClosedError,
    ConfigurationError,
    EnterpriseSQSError,
    SpoolFullError,
)
from enterprise_sqs.models import MessageAttributeValue
from enterprise_sqs.publishing.attributes import to_message_attributes
from enterprise_sqs.publishing.balance import is_unavailable
from enterprise_sqs.publishing.publisher import PublishResult

__all__ = ["PublishTarget", "Spool", "SpoolStats", "SpoolingPublisher"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    options TEXT NOT NULL,
    size INTEGER NOT NULL,
    spooled_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_target ON spool (target, seq);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    options TEXT NOT NULL,
    error TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
"""


class PublishTarget(Protocol):
    """What a spooling publisher sends through: a Publisher, or a balanced, partitioned or
    failover publisher."""

    async def publish(self, obj: Any, **options: Any) -> PublishResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolStats:
    """A snapshot of a spool. ``spooled``/``forwarded``/``rejected`` count since this process
    opened it; ``pending`` and ``bytes`` are what the file holds now (all targets)."""

    spooled: int
    forwarded: int
    rejected: int
    pending: int
    bytes: int
    max_bytes: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Row:
    seq: int
    body: str
    options: dict[str, Any]
    size: int


def _encode_attributes(values: Mapping[str, MessageAttributeValue]) -> dict[str, Any]:
    return {
        name: {
            "t": value.data_type,
            "s": value.string_value,
            "b": None
            if value.binary_value is None
            else base64.b64encode(value.binary_value).decode(),
        }
        for name, value in values.items()
    }


def _decode_attributes(values: Mapping[str, Any]) -> dict[str, MessageAttributeValue]:
    return {
        name: MessageAttributeValue(
            v["t"],
            string_value=v["s"],
            binary_value=None if v["b"] is None else base64.b64decode(v["b"]),
        )
        for name, v in values.items()
    }


def _take_lock(path: Path) -> IO[str] | None:
    """An exclusive, non-blocking lock on ``<path>.lock`` with our pid in it, held by the
    returned open file until it is closed (or the process ends).

    Raises:
        ConfigurationError: another owner holds it (its pid in the message).
    """
    if sys.platform == "win32":  # no flock: one owner per file is then up to the caller
        return None
    import fcntl

    try:
        handle = (path.parent / f"{path.name}.lock").open("a+", encoding="ascii")
    except OSError as exc:
        raise ConfigurationError(f"cannot create the spool's lock file: {exc}") from exc
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        who = (
            "another Spool in this process"
            if holder == str(os.getpid())
            else f"another process (pid {holder})"
        )
        raise ConfigurationError(
            f"the spool file {path} is already open in {who}; one owner at a time forwards "
            "from a spool: give each process its own file, or close the other first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class Spool:
    """A bounded, durable FIFO of messages in a SQLite file. See the module docstring.

    Args:
        path: the SQLite file (created with its directory if missing).
        max_bytes: the most message bytes (bodies and attributes) it holds.
        fsync: commit with ``synchronous=FULL`` (survives power loss, slower); the default
            survives the process being killed.

    Raises:
        ConfigurationError: a bad ``max_bytes``, a file that cannot be opened, or one that
            another owner has open (see the module docstring).
    """

    def __init__(
        self, path: str | Path, *, max_bytes: int = 256 * 2**20, fsync: bool = False
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigurationError(f"max_bytes must be a positive int, got {max_bytes!r}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create the spool's directory: {exc}") from exc
        self._lock = _take_lock(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            count, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool"
            ).fetchone()
        except sqlite3.Error as exc:
            if self._lock is not None:
                self._lock.close()
            raise ConfigurationError(f"cannot open the spool file {self.path}: {exc}") from exc
        self._pending = int(count)
        self._bytes = int(size)
        self._spooled = self._forwarded = self._rejected = 0
        self._buffer: list[tuple[str, str, str, int, asyncio.Future[None]]] = []
        self._buffered_bytes = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"Spool({str(self.path)!r}, pending={self._pending})"

    def stats(self) -> SpoolStats:
        return SpoolStats(
            spooled=self._spooled,
            forwarded=self._forwarded,
            rejected=self._rejected,
            pending=self._pending + len(self._buffer),
            bytes=self._bytes + self._buffered_bytes,
            max_bytes=self.max_bytes,
        )

    def pending(self, target: str | None = None) -> int:
        """Messages waiting (of one target, or all), including those being committed."""
        if target is None:
            return self._pending + len(self._buffer)
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM spool WHERE target = ?", (target,)
        ).fetchone()
        return int(count) + sum(1 for row in self._buffer if row[0] == target)

    async def append(self, target: str, body: str, options: Mapping[str, Any]) -> None:
        """Spool one message; returns once it is committed.

        Raises:
            SpoolFullError: it does not fit under ``max_bytes``.
            ClientClosedError: the spool is closed.
        """
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed")
        encoded = json.dumps(options, separators=(",", ":"))
        size = len(body.encode("utf-8")) + len(encoded)
        held = self._bytes + self._buffered_bytes
        if held + size > self.max_bytes:
            raise SpoolFullError(
                f"the outage spool {self.path} is full ({held} of {self.max_bytes} bytes, "
                f"{self.pending()} messages) and cannot take a {size}-byte message; "
                "raise max_bytes or publish less until the service is back"
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self._buffer:
            # Everything appended during this turn of the loop shares one commit.
            asyncio.get_running_loop().call_soon(self._commit)
        self._buffer.append((target, body, encoded, size, future))
        self._buffered_bytes += size
        await future

    def _commit(self) -> None:
        rows, self._buffer = self._buffer, []
        added = self._buffered_bytes
        self._buffered_bytes = 0
        now = time.time()
        try:
            with contextlib.closing(self._db.cursor()) as cursor:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.executemany(
                    "INSERT INTO spool (target, body, options, size, spooled_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(t, b, o, s, now) for t, b, o, s, _ in rows],
                )
                cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            error = SpoolFullError(f"cannot write to the outage spool {self.path}: {exc}")
            error.__cause__ = exc
            for *_, future in rows:
                if not future.done():
                    future.set_exception(error)
            return
        self._pending += len(rows)
        self._bytes += added
        self._spooled += len(rows)
        for *_, future in rows:
            if not future.done():
                future.set_result(None)

    def peek(self, target: str, limit: int) -> list[_Row]:
        """The oldest ``limit`` messages of ``target``, oldest first (they stay in the spool)."""
        rows = self._db.execute(
            "SELECT seq, body, options, size FROM spool WHERE target = ? ORDER BY seq LIMIT ?",
            (target, limit),
        ).fetchall()
        return [_Row(seq, body, json.loads(options), size) for seq, body, options, size in rows]

    def remove(self, rows: list[_Row]) -> None:
        """Forget forwarded messages."""
        if not rows:
            return
        self._db.executemany("DELETE FROM spool WHERE seq = ?", [(r.seq,) for r in rows])
        self._pending -= len(rows)
        self._bytes -= sum(r.size for r in rows)
        self._forwarded += len(rows)

    def reject(self, target: str, row: _Row, error: EnterpriseSQSError) -> None:
        """Move a message the service refused for its own sake out of the way, keeping it."""
        with contextlib.closing(self._db.cursor()) as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(
                "INSERT OR REPLACE INTO rejected VALUES (?,?,?,?,?,?)",
                (row.seq, target, row.body, json.dumps(row.options), repr(error), time.time()),
            )
            cursor.execute("DELETE FROM spool WHERE seq = ?", (row.seq,))
            cursor.execute("COMMIT")
        self._pending -= 1
        self._bytes -= row.size
        self._rejected += 1

    def close(self) -> None:
        """Close the file (what is spooled stays in it). Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._db.close()
            if self._lock is not None:
                self._lock.close()  # releases the lock


class SpoolingPublisher:
    """A publisher that spools instead of failing when SQS is unavailable, and forwards later.

    Args:
        target: where messages go (a :class:`Publisher` or a balanced, partitioned or failover
            publisher); it sees bodies already serialized (strings pass through unchanged).
        spool: the :class:`Spool` (one file may hold several targets, told apart by ``name``),
            or a path to open one with default settings (then this publisher closes it).
        name: this target's name in the spool (default: ``target.queue`` or ``"default"``).
        serializer: object → body, before spooling (default compact JSON).
        forward_chunk: messages sent together by the forwarder; up to 10 share one batch, so
            order holds; more may reorder messages across batches.
        retry_interval: first wait after a failed forward (doubles up to ``max_retry_interval``;
            a breaker's ``retry_after`` is used when it gives one).

    Raises:
        ConfigurationError: a bad option.
    """

    def __init__(
        self,
        target: PublishTarget,
        spool: Spool | str | Path,
        *,
        name: str | None = None,
        serializer: Serializer | None = None,
        forward_chunk: int = 10,
        retry_interval: float = 0.5,
        max_retry_interval: float = 30.0,
    ) -> None:
        if not callable(getattr(target, "publish", None)):
            raise ConfigurationError(f"target must have an async publish(), got {target!r}")
        self._owns_spool = isinstance(spool, str | Path)
        if isinstance(spool, str | Path):
            spool = Spool(spool)
        if not isinstance(spool, Spool):
            raise ConfigurationError(f"spool must be a Spool or a path, got {type(spool).__name__}")
        if (
            isinstance(forward_chunk, bool)
            or not isinstance(forward_chunk, int)
            or forward_chunk < 1
        ):
            raise ConfigurationError(f"forward_chunk must be a positive int, got {forward_chunk!r}")
        for label, value in (
            ("retry_interval", retry_interval),
            ("max_retry_interval", max_retry_interval),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigurationError(f"{label} must be seconds > 0, got {value!r}")
        self._target = target
        self._spool = spool
        self.name = name or str(getattr(target, "queue", None) or "default")
        self._serializer = serializer or JSONSerializer()
        self._chunk = forward_chunk
        self._retry_interval = float(retry_interval)
        self._max_retry_interval = float(max_retry_interval)
        self._pending = spool.pending(self.name)
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._forwarder: asyncio.Task[None] | None = None
        self._closed = False
        if self._pending == 0:
            self._drained.set()

    def __repr__(self) -> str:
        return f"SpoolingPublisher({self.name!r}, pending={self._pending})"

    @property
    def spool(self) -> Spool:
        return self._spool

    @property
    def pending(self) -> int:
        """This target's messages waiting in the spool."""
        return self._pending

    def stats(self) -> SpoolStats:
        return self._spool.stats()

    async def publish(
        self,
        obj: Any,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay_seconds: int | None = None,
        attributes: Mapping[str, object] | None = None,
        **options: Any,
    ) -> PublishResult:
        """Publish ``obj``; when the service cannot take it, spool it (``spooled=True``).

        ``options`` (e.g. ``key=`` of a partitioned publisher) must be JSON values to be spooled.

        Raises:
            ClientClosedError: this publisher is closed.
            MessageSerializationError: ``obj`` cannot be serialized.
        """
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed")
        body = encode_body(obj, self._serializer)
        message_attributes = to_message_attributes(attributes)
        kwargs: dict[str, Any] = {
            k: v
            for k, v in (
                ("group_id", group_id),
                ("deduplication_id", deduplication_id),
                ("delay_seconds", delay_seconds),
            )
            if v is not None
        }
        kwargs.update(options)
        self._ensure_forwarder()
        if self._pending == 0:
            result = await self._target.publish(
                body, attributes=message_attributes or None, **kwargs
            )
            if result.success or not is_unavailable(result.error):
                return result
            cause: EnterpriseSQSError | None = result.error
        else:
            cause = None
            result = PublishResult(success=False)
        stored = dict(kwargs)
        if message_attributes:
            stored["attributes"] = _encode_attributes(message_attributes)
        try:
            self._pending += 1
            self._drained.clear()
            await self._spool.append(self.name, body, stored)
        except SpoolFullError as exc:
            self._pending -= 1
            if not self._pending:
                self._drained.set()
            if cause is not None:
                exc.__cause__ = cause
            return PublishResult(success=False, queue_url=result.queue_url, error=exc)
        except BaseException:
            self._pending -= 1
            raise
        self._wake.set()
        return PublishResult(success=True, queue_url=result.queue_url, spooled=True)

    def _ensure_forwarder(self) -> None:
        if self._pending == 0 and self._spool.pending(self.name):
            # Rows added to the file behind our back (another publisher object, an operator).
            self._pending = self._spool.pending(self.name)
            self._drained.clear()
            self._wake.set()
        if (self._forwarder is None or self._forwarder.done()) and not self._closed:
            self._forwarder = asyncio.get_running_loop().create_task(
                self._forward_loop(), name=f"spool-forwarder:{self.name}"
            )

    def start(self) -> None:
        """Start forwarding what a previous process left in the spool (publish starts it too)."""
        self._ensure_forwarder()

    async def drain(self) -> None:
        """Wait until this target's spooled messages are all forwarded (or rejected)."""
        self._ensure_forwarder()
        await self._drained.wait()

    async def _forward_loop(self) -> None:
        wait = self._retry_interval
        while not self._closed:
            rows = self._spool.peek(self.name, self._chunk)
            if not rows:
                # Nothing committed to send: rows still being committed wake us when they are.
                self._wake.clear()
                self._pending = self._spool.pending(self.name)
                if self._pending == 0:
                    self._drained.set()
                await self._wake.wait()
                continue
            blocked = await self._forward(rows)
            if blocked is None:
                wait = self._retry_interval
                continue
            delay = wait
            if isinstance(blocked, CircuitOpenError) and blocked.retry_after is not None:
                delay = max(blocked.retry_after, 0.01)
            wait = min(wait * 2, self._max_retry_interval)
            logger.info(
                "spool forwarding paused",
                extra={"target": self.name, "error_type": type(blocked).__name__, "wait": delay},
            )
            await asyncio.sleep(min(delay, self._max_retry_interval))

    async def _forward(self, rows: list[_Row]) -> EnterpriseSQSError | None:
        """Send ``rows``; drop the sent and the rejected; the error that blocked the rest."""
        results = await asyncio.gather(*(self._send(row) for row in rows))
        sent = [row for row, result in zip(rows, results, strict=True) if result.success]
        self._spool.remove(sent)
        self._pending -= len(sent)
        blocked: EnterpriseSQSError | None = None
        for row, result in zip(rows, results, strict=True):
            if result.success:
                continue
            if is_unavailable(result.error):
                blocked = blocked or result.error
                continue
            assert result.error is not None
            logger.error(
                "the service rejected a spooled message; kept in the rejected table",
                extra={"target": self.name, "seq": row.seq, "error": repr(result.error)},
            )
            self._spool.reject(self.name, row, result.error)
            self._pending -= 1
        return blocked

    async def _send(self, row: _Row) -> PublishResult:
        options = dict(row.options)
        encoded = options.pop("attributes", None)
        if encoded:
            options["attributes"] = _decode_attributes(encoded)
        return await self._target.publish(row.body, **options)

    async def aclose(self, *, forward_timeout: float | None = 0.0) -> None:
        """Stop forwarding (after trying for ``forward_timeout`` seconds to drain; ``None``:
        until drained), close the target, and close the spool file. What is left stays on disk
        for the next process; a spool given by path is closed. Safe to call twice."""
        if self._closed:
            return
        if forward_timeout is None or forward_timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(forward_timeout):
                    await self.drain()
        self._closed = True
        if self._forwarder is not None:
            self._forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._forwarder
        await self._target.aclose()
        if self._owns_spool:
            self._spool.close()
