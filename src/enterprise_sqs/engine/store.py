"""The engine's SQLite store: schema, pragmas, and who runs the SQLite calls.

A file database's calls all run on a single dedicated thread (:class:`Store`), so the asyncio
event loop never blocks on disk I/O, checkpoints or other processes' locks, and the connection is
never shared between threads. Callers hand the worker a plain function ``fn(*args)`` and await its
result; the hand-off is one ``SimpleQueue.put`` one way and one ``call_soon_threadsafe`` back.
An in-memory database does no I/O at all and runs on the caller's thread (:class:`InlineStore`).

Durability: a file database runs in WAL mode with ``synchronous=NORMAL``. Every operation that
changes data commits before its result is handed back, and a WAL commit survives the death of the
process (only a power loss can lose the last transactions at ``NORMAL``). Several processes may
share one file: writers take the lock up front (``BEGIN IMMEDIATE``) and wait for each other up to
``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import secrets
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from enterprise_sqs.errors import ConfigurationError, ServiceUnavailable

__all__ = ["SCHEMA_VERSION", "InlineStore", "Store", "open_store"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
MAX_GROUP = 64

# Standard queues read their next messages through (queue_id, visible_at); FIFO queues walk
# (queue_id, seq) to find group heads and (queue_id, group_id, seq) to take a group's messages in
# order. The FIFO indexes are partial (seq IS NOT NULL) so standard sends do not pay for them.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queues (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    fifo        INTEGER NOT NULL,
    attributes  TEXT NOT NULL,
    tags        TEXT NOT NULL,
    created     REAL NOT NULL,
    modified    REAL NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,
    last_purge  REAL,
    next_seq    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deleted_queues (
    name        TEXT PRIMARY KEY,
    deleted_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    id            INTEGER PRIMARY KEY,
    queue_id      INTEGER NOT NULL,
    message_id    TEXT NOT NULL,
    body          TEXT NOT NULL,
    attrs         TEXT,
    md5_body      TEXT NOT NULL,
    md5_attrs     TEXT,
    trace_header  TEXT,
    sent_ms       INTEGER NOT NULL,
    enqueued_at   REAL NOT NULL,
    visible_at    REAL NOT NULL,
    received_at   REAL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER,
    group_id      TEXT,
    dedup_id      TEXT,
    seq           INTEGER,
    dlq_source    TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue_id, visible_at);
CREATE INDEX IF NOT EXISTS messages_fifo_seq ON messages (queue_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_fifo_group
    ON messages (queue_id, group_id, seq) WHERE seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS dedup (
    queue_id    INTEGER NOT NULL,
    scope       TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    message_id  TEXT NOT NULL,
    seq         INTEGER,
    PRIMARY KEY (queue_id, scope, dedup_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receive_attempts (
    queue_id    INTEGER NOT NULL,
    attempt_id  TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    handles     TEXT NOT NULL,
    PRIMARY KEY (queue_id, attempt_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS move_tasks (
    handle      TEXT PRIMARY KEY,
    source_arn  TEXT NOT NULL,
    dest_arn    TEXT,
    rate        INTEGER,
    status      TEXT NOT NULL,
    moved       INTEGER NOT NULL DEFAULT 0,
    to_move     INTEGER,
    failure     TEXT,
    started_ms  INTEGER NOT NULL,
    started_at  REAL NOT NULL,
    source_id   INTEGER NOT NULL,
    last_row    INTEGER NOT NULL,
    owner       TEXT
);
"""


def _open(path: str | None) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a batch is exactly one transaction.
    conn = sqlite3.connect(
        ":memory:" if path is None else path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        cached_statements=256,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path is not None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ConfigurationError(f"cannot put SQLite database {path!r} in WAL mode ({mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32768")
    conn.execute("BEGIN IMMEDIATE")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('secret', ?)",
            (str(SCHEMA_VERSION), secrets.token_hex(16)),
        )
    elif int(row[0]) != SCHEMA_VERSION:
        conn.execute("ROLLBACK")
        raise ConfigurationError(
            f"SQLite database {path!r} has schema version {row[0]}; this engine reads version "
            f"{SCHEMA_VERSION}"
        )
    conn.execute("COMMIT")
    return conn


class _Job:
    __slots__ = ("args", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop | None,
        future: asyncio.Future[Any] | None,
    ) -> None:
        self.fn = fn
        self.args = args
        self.loop = loop
        self.future = future


def _deliver(job: _Job, ok: bool, value: Any) -> None:
    if job.loop is not None and job.future is not None:
        # a closed event loop raises RuntimeError: nobody is waiting for this answer any more
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(_settle, job.future, ok, value)


def _deliver_all(batch: list[_Job], outcomes: list[tuple[bool, Any]]) -> None:
    """Answer a group of jobs with one wake-up per event loop instead of one per job: each
    ``call_soon_threadsafe`` writes to the loop's self-pipe, which cost ~30 µs a job in profiles."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for job, (ok, value) in zip(batch, outcomes, strict=True):
        if job.loop is not None and job.future is not None:
            by_loop.setdefault(job.loop, []).append((job.future, ok, value))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_many, answers)


def _settle_many(answers: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in answers:
        _settle(future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled while the worker ran
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Store:
    """The SQLite connection and the thread that owns it.

    ``await store.run(fn, *args)`` runs ``fn(*args)`` on the worker thread and returns its
    result (or raises its exception). Jobs run one at a time in submission order.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self.conn: sqlite3.Connection | None = None
        self.secret = b""
        # True while the worker runs several jobs in one transaction: their own BEGIN/COMMIT
        # become no-ops (see Engine.begin) and each job runs inside a savepoint instead.
        self.grouped = False
        self._thread = threading.Thread(
            target=self._main, name=f"esqs-engine-{os.getpid()}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            self._thread.join()
            if isinstance(self._open_error, ConfigurationError):
                raise self._open_error
            raise ConfigurationError(
                f"cannot open SQLite database {path!r}: {self._open_error}"
            ) from self._open_error

    def _main(self) -> None:
        try:
            conn = _open(self.path)
            secret = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]
        except (sqlite3.Error, OSError, ConfigurationError) as exc:
            self._open_error = exc
            self._ready.set()
            return
        self.conn = conn
        self.secret = bytes.fromhex(secret)
        self._ready.set()
        jobs = self._jobs
        running = True
        while running:
            first = jobs.get()
            if first is None:
                break
            batch: list[_Job] = [first]
            # Requests that queued up while we worked share one transaction and one commit.
            while len(batch) < MAX_GROUP:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    running = False
                    break
                batch.append(job)
            if len(batch) == 1:
                self._run_one(conn, batch[0])
            else:
                self._run_group(conn, batch)
        conn.close()

    def _run_one(self, conn: sqlite3.Connection, job: _Job) -> None:
        try:
            result = job.fn(*job.args)
        except BaseException as exc:  # handed to the awaiting caller, never swallowed
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            _deliver(job, False, _translate(exc))
            return
        _deliver(job, True, result)

    def _run_group(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            for job in batch:  # cannot group now: run them one by one
                self._run_one(conn, job)
            return
        self.grouped = True
        try:
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    result = job.fn(*job.args)
                except BaseException as exc:  # handed to the awaiting caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, _translate(exc)))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((True, result))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = _translate(exc)
            outcomes = [(False, error)] * len(batch)
        finally:
            self.grouped = False
        _deliver_all(batch, outcomes)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the worker thread and return its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(fn, args, loop, future))
        return await future

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` without waiting for it (errors are dropped: callers of this
        only run housekeeping that is retried later)."""
        self._jobs.put(_Job(fn, args, None, None))

    async def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread."""
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)


class InlineStore:
    """An in-memory database run on the caller's thread, under a lock.

    An in-memory SQLite database does no I/O, so an operation is pure CPU work (tens to a few
    hundred microseconds), like encoding a message: nothing to block the event loop on. Handing
    it to a worker thread instead costs two thread switches and a fight for the GIL per call,
    which halved end-to-end consumer throughput in ``benchmarks/consumer_throughput.py``. A file
    database keeps the worker thread (:class:`Store`): disk writes, checkpoints and waiting for
    other processes' locks must never stall the loop.
    """

    grouped = False

    def __init__(self) -> None:
        self.path: str | None = None
        self._lock = threading.Lock()  # the blocking facade may call from another loop's thread
        try:
            self.conn: sqlite3.Connection | None = _open(None)
            secret = self.conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]
        except (sqlite3.Error, OSError) as exc:
            raise ConfigurationError(f"cannot open an in-memory SQLite database: {exc}") from exc
        self.secret = bytes.fromhex(secret)

    def _execute(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self.conn
        if conn is None:
            raise ServiceUnavailable("the embedded engine's store is closed")
        with self._lock:
            try:
                return fn(*args)
            except BaseException as exc:  # re-raised as ours, never swallowed
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                error = _translate(exc)
                if error is exc:
                    raise
                raise error from exc

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` now and return its result."""
        return self._execute(fn, args)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run housekeeping now; a failure is logged (it is retried by the next caller)."""
        try:
            self._execute(fn, args)
        except Exception:
            logger.warning("embedded engine housekeeping failed", exc_info=True)

    async def close(self) -> None:
        with self._lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


def open_store(path: str | None) -> Store | InlineStore:
    """The worker-thread store for a file, the inline store for memory."""
    return InlineStore() if path is None else Store(path)


def _translate(exc: BaseException) -> BaseException:
    """Map SQLite failures to the library's errors (a busy or locked file can be retried)."""
    if not isinstance(exc, sqlite3.Error):
        return exc
    message = f"SQLite error in the embedded engine: {exc}"
    error = ServiceUnavailable(message)
    error.__cause__ = exc
    return error
