"""The engine's state on its worker thread: the connection, the clock, identities, queue records.

:class:`Engine` is only ever touched from the store's worker thread (every function of
``queues``, ``messages``, ``fifo`` and ``movetasks`` receives it as first argument). Queue rows
are cached parsed, keyed by their ``version`` column, so a hot send or receive reads one small
row instead of parsing JSON; another process changing a queue bumps the version and the cache
follows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from enterprise_sqs.clock import Clock
from enterprise_sqs.engine.store import InlineStore, Store
from enterprise_sqs.errors import QueueDoesNotExist

__all__ = ["Engine", "QueueRecord"]


@dataclass(slots=True)
class QueueRecord:
    """A queue's row, parsed."""

    id: int
    name: str
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]
    created: float
    modified: float
    version: int
    last_purge: float | None
    arn: str
    url: str
    visibility_timeout: int = 30
    delay_seconds: int = 0
    retention: int = 345_600
    max_size: int = 1_048_576
    wait_seconds: int = 0
    content_dedup: bool = False
    dedup_by_group: bool = False
    dlq_arn: str | None = None
    max_receive_count: int = 0
    redrive_allow: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_QUEUE_COLUMNS = "id, name, fifo, attributes, tags, created, modified, version, last_purge"


class Engine:
    """Connection, clock and identity of one engine, plus per-thread caches."""

    def __init__(
        self,
        store: Store | InlineStore,
        conn: sqlite3.Connection,
        secret: bytes,
        clock: Clock,
        *,
        region: str,
        account_id: str,
        base_url: str,
        durable: bool,
    ) -> None:
        self.store = store
        self.conn = conn
        self.secret = secret
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.base_url = base_url
        self.durable = durable
        self._queues: dict[str, QueueRecord] = {}
        # queue id -> clock time of the last retention sweep / dedup sweep (housekeeping pace)
        self.swept: dict[int, float] = {}
        self.dedup_swept: dict[int, float] = {}
        # queue id -> (in-flight count at last count, receives since) for the OverLimit bound
        self.inflight_bound: dict[int, int] = {}

    # -- identities -----------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"{self.base_url}/{self.account_id}/{name}"

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    # -- transactions ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Start a write transaction, taking the file's write lock now (so that two processes
        never both read a message as available and both claim it). Inside a group of jobs the
        store has already begun one (see ``Store._run_group``)."""
        if not self.store.grouped:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if not self.store.grouped:
            self.conn.execute("COMMIT")

    # -- queues ---------------------------------------------------------------------------------

    def _parse(self, row: tuple[Any, ...]) -> QueueRecord:
        qid, name, fifo, attrs_json, tags_json, created, modified, version, last_purge = row
        attrs: dict[str, str] = json.loads(attrs_json)
        record = QueueRecord(
            id=qid,
            name=name,
            fifo=bool(fifo),
            attributes=attrs,
            tags=json.loads(tags_json),
            created=created,
            modified=modified,
            version=version,
            last_purge=last_purge,
            arn=self.arn(name),
            url=self.url(name),
            visibility_timeout=int(attrs["VisibilityTimeout"]),
            delay_seconds=int(attrs["DelaySeconds"]),
            retention=int(attrs["MessageRetentionPeriod"]),
            max_size=int(attrs["MaximumMessageSize"]),
            wait_seconds=int(attrs["ReceiveMessageWaitTimeSeconds"]),
            content_dedup=attrs.get("ContentBasedDeduplication") == "true",
            dedup_by_group=attrs.get("DeduplicationScope") == "messageGroup",
            redrive_allow=attrs.get("RedriveAllowPolicy"),
        )
        redrive = attrs.get("RedrivePolicy")
        if redrive:
            policy = json.loads(redrive)
            record.dlq_arn = policy["deadLetterTargetArn"]
            record.max_receive_count = int(policy["maxReceiveCount"])
        return record

    def queue_by_name(self, name: str) -> QueueRecord | None:
        row = self.conn.execute("SELECT id, version FROM queues WHERE name = ?", (name,)).fetchone()
        if row is None:
            self._queues.pop(name, None)
            return None
        cached = self._queues.get(name)
        if cached is not None and cached.id == row[0] and cached.version == row[1]:
            return cached
        full = self.conn.execute(
            f"SELECT {_QUEUE_COLUMNS} FROM queues WHERE id = ?", (row[0],)
        ).fetchone()
        record = self._parse(full)
        self._queues[name] = record
        return record

    def queue_by_arn(self, arn: str) -> QueueRecord | None:
        prefix = f"arn:aws:sqs:{self.region}:{self.account_id}:"
        if not isinstance(arn, str) or not arn.startswith(prefix):
            return None
        return self.queue_by_name(arn[len(prefix) :])

    def queue_for_url(self, url: object) -> QueueRecord:
        """The queue a URL names: its last path segment (any host or prefix is accepted, so the
        engine can be reached through a server under another address).

        Raises: QueueDoesNotExist.
        """
        if not isinstance(url, str) or not url:
            raise QueueDoesNotExist("The specified queue does not exist.")
        name = url.rstrip("/").rsplit("/", 1)[-1]
        record = self.queue_by_name(name) if name else None
        if record is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return record

    def forget(self, name: str) -> None:
        self._queues.pop(name, None)
