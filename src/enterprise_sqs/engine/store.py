"""The engine's SQLite store: schema, pragmas, and who runs the SQLite calls.

A file database's calls all run on a single dedicated thread (:class:`Store`), so the asyncio
event loop never blocks on disk I/O, checkpoints or other processes' locks, and the connection is
never shared between threads. Callers hand the worker a plain function ``fn(*args)`` and await its
result; the hand-off is one ``SimpleQueue.put`` one way and one ``call_soon_threadsafe`` back.
An in-memory database does no I/O at all and runs on the caller's thread (:class:`InlineStore`).

Checkpoints (copying the WAL back into the database file) mostly run on a second thread with
its own connection (:class:`_Checkpointer`), as SQLite advises, instead of inside whichever
commit crosses ``wal_autocheckpoint``: that commit copied ~4 MB and waited for two fsyncs while
every caller of its group waited. (In ``benchmarks/engine_throughput.py``, switching checkpoints
off altogether, which is no option, made sends ~20% and receive+delete ~60% faster.)

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

SCHEMA_VERSION = 2
# Version 2 rows keep message attributes in their MD5 encoding (a BLOB); version 1 rows held JSON
# text. This engine reads both, so a version-1 file is opened as it is and marked version 2: an
# older engine, which could not read the new rows, is then refused with a clear error instead of
# failing on the first message it receives.
_UPGRADABLE_VERSIONS = (1,)
BUSY_TIMEOUT_MS = 30_000
MAX_GROUP = 64
# The checkpointer copies the WAL into the database after this many jobs (a batch of ten 1 KiB
# sends adds ~5 pages: ~1,300 pages, near SQLite's own default of 1,000 between checkpoints).
# Under steady writes a checkpoint on another connection never lets the WAL start over (new
# frames keep arriving while it copies), so the worker still checkpoints by itself once the WAL
# holds FALLBACK_CHECKPOINT_PAGES (16 MB): by then the checkpointer has copied nearly all of it,
# the worker copies the rest, and its next write starts the WAL from the beginning again.
CHECKPOINT_EVERY_JOBS = 256
FALLBACK_CHECKPOINT_PAGES = 4_096

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
    elif int(row[0]) in _UPGRADABLE_VERSIONS:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )
    elif int(row[0]) != SCHEMA_VERSION:
        conn.execute("ROLLBACK")
        raise ConfigurationError(
            f"SQLite database {path!r} has schema version {row[0]}; this engine reads version "
            f"{SCHEMA_VERSION}"
        )
    conn.execute("COMMIT")
    return conn


class _RedoGroupError(Exception):
    """A job of a group failed after writing: the group is undone and run job by job."""


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


class _Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own thread and connection when asked.

    PASSIVE never waits for readers or writers, so the store's worker keeps committing while
    the WAL is copied. A failed checkpoint is only logged: the next one copies what it left.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._main, name=f"esqs-checkpoint-{os.getpid()}", daemon=True
        )
        self._thread.start()

    def request(self) -> None:
        self._due.set()

    def _main(self) -> None:
        try:
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=1.0
            )
        except sqlite3.Error as exc:  # the worker's fallback autocheckpoint still bounds the WAL
            logger.warning("cannot open a checkpoint connection to %s: %s", self._path, exc)
            return
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:
                    logger.debug("background checkpoint of %s failed: %s", self._path, exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        self._due.set()
        self._thread.join()


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
        # become no-ops (see Engine.begin); see _run_group for a job that fails.
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
        assert self.path is not None  # a Store is for files (memory runs in InlineStore)
        conn.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_CHECKPOINT_PAGES}")
        checkpointer = _Checkpointer(self.path)
        self.conn = conn
        self.secret = bytes.fromhex(secret)
        self._ready.set()
        jobs = self._jobs
        running = True
        since_checkpoint = 0
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
            since_checkpoint += len(batch)
            if since_checkpoint >= CHECKPOINT_EVERY_JOBS:
                since_checkpoint = 0
                checkpointer.request()
        checkpointer.stop()
        conn.close()  # the last connection to close checkpoints everything and removes the WAL

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
                # No savepoint per job (two more statements per job): a job that
                # fails almost always fails before it writes (validation, a missing queue), and
                # then there is nothing of it to undo. One that wrote before failing makes us
                # undo the whole group and run its jobs one by one (nobody has been answered).
                changes = conn.total_changes
                try:
                    result = job.fn(*job.args)
                except BaseException as exc:  # handed to the awaiting caller
                    if conn.total_changes != changes or not conn.in_transaction:
                        raise _RedoGroupError from exc
                    outcomes.append((False, _translate(exc)))
                else:
                    outcomes.append((True, result))
            conn.execute("COMMIT")
        except _RedoGroupError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.grouped = False
            for job in batch:
                self._run_one(conn, job)
            return
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
