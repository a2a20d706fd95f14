"""Large payloads: bodies over a threshold stored outside SQS, in the Amazon SQS Extended Client's
format, so the Java and Python extended clients and ours read each other's messages.

The extended client's wire format (``software.amazon.payloadoffloading``):

- the body becomes a JSON pointer
  ``["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]``
  (older Java clients: ``com.amazon.sqs.javamessaging.MessageS3Pointer``; both are read);
- the reserved message attribute ``ExtendedPayloadSize`` (older: ``SQSLargePayloadSize``), a
  ``Number``, holds the payload's size in bytes;
- the payload object holds the body as UTF-8.

Stores: :class:`S3PayloadStore` (aiobotocore); for the embedded engine
:class:`DirectoryPayloadStore` (one file per payload) or :class:`SQLitePayloadStore` (a table in
the engine's own SQLite file). ``delete_after_processing=True`` deletes a payload once the
message has been processed successfully (the consumer wires that up itself); payloads of
messages that were dead-lettered are kept, since the dead-letter queue's copy points to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from enterprise_sqs.codecs.aws_clients import LazyAWSClient
from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import CodecError, ConfigurationError, EnterpriseSQSError
from enterprise_sqs.models import MessageAttributeValue
from enterprise_sqs.publishing.attributes import message_size

__all__ = [
    "DEFAULT_THRESHOLD",
    "LEGACY_POINTER_CLASS",
    "LEGACY_RESERVED_ATTRIBUTE",
    "POINTER_CLASS",
    "RESERVED_ATTRIBUTE",
    "DirectoryPayloadStore",
    "PayloadOffload",
    "PayloadStore",
    "S3PayloadStore",
    "SQLitePayloadStore",
]

logger = logging.getLogger(__name__)

RESERVED_ATTRIBUTE = "ExtendedPayloadSize"
LEGACY_RESERVED_ATTRIBUTE = "SQSLargePayloadSize"
POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
LEGACY_POINTER_CLASS = "com.amazon.sqs.javamessaging.MessageS3Pointer"
DEFAULT_THRESHOLD = 262_144  # the extended client's default: SQS's 256 KiB limit
_PENDING_LIMIT = 10_000
_LOCAL_KEY = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


@runtime_checkable
class PayloadStore(Protocol):
    """Where offloaded payloads live. ``bucket`` is the name written into pointers."""

    @property
    def bucket(self) -> str: ...

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, bucket: str, key: str) -> bytes: ...

    async def delete(self, bucket: str, key: str) -> None: ...


class S3PayloadStore:
    """Payloads in an S3 bucket (the extended clients' store).

    Args:
        bucket: the bucket new payloads go to (pointers from other producers may name others).
        prefix: a key prefix for new payloads (``"payloads/"``).
        region, endpoint_url, credentials, profile: as for the SQS backend.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        credentials: Credentials | None = None,
        profile: str | None = None,
    ) -> None:
        if not isinstance(bucket, str) or not re.match(
            r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bucket
        ):
            raise ConfigurationError(f"bucket must be a valid S3 bucket name, got {bucket!r}")
        if not isinstance(prefix, str):
            raise ConfigurationError("prefix must be a string")
        self._bucket = bucket
        self._prefix = prefix
        self._client = LazyAWSClient(
            "s3", region=region, endpoint_url=endpoint_url, credentials=credentials, profile=profile
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    def __repr__(self) -> str:
        return f"S3PayloadStore(bucket={self._bucket!r}, client={self._client!r})"

    async def put(self, key: str, data: bytes) -> None:
        client = await self._client.get()
        try:
            await client.put_object(Bucket=self._bucket, Key=self._prefix + key, Body=data)
        except Exception as exc:
            raise _s3_error(exc, f"storing a payload in s3://{self._bucket}") from exc

    def key_for(self, key: str) -> str:
        return self._prefix + key

    async def get(self, bucket: str, key: str) -> bytes:
        client = await self._client.get()
        try:
            reply = await client.get_object(Bucket=bucket, Key=key)
            async with reply["Body"] as stream:
                data: bytes = await stream.read()
        except Exception as exc:
            raise _s3_error(exc, f"reading the payload s3://{bucket}/{key}") from exc
        return data

    async def delete(self, bucket: str, key: str) -> None:
        client = await self._client.get()
        try:
            await client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise _s3_error(exc, f"deleting the payload s3://{bucket}/{key}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _s3_error(exc: Exception, what: str) -> EnterpriseSQSError:
    from botocore.exceptions import ClientError

    from enterprise_sqs.backends.aws_translate import translate_error

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"):
            return CodecError(f"{what} failed: {code}")
    return translate_error(exc) or CodecError(f"{what} failed: {type(exc).__name__}")


def _local_key(key: str) -> str:
    if not _LOCAL_KEY.match(key) or key.startswith("."):
        raise CodecError(f"the payload pointer's key {key!r} is not a key of a local store")
    return key


def _check_bucket(store: PayloadStore, bucket: str) -> None:
    if bucket != store.bucket:
        raise CodecError(f"the payload is in bucket {bucket!r}, but this store is {store.bucket!r}")


class DirectoryPayloadStore:
    """Payloads as files in a directory (the embedded engine's store)."""

    def __init__(self, path: str | os.PathLike[str], *, bucket: str = "local") -> None:
        self._path = Path(path)
        self._path.mkdir(parents=True, exist_ok=True)
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket

    def __repr__(self) -> str:
        return f"DirectoryPayloadStore({str(self._path)!r})"

    def _write(self, key: str, data: bytes) -> None:
        target = self._path / _local_key(key)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        partial.replace(target)  # readers never see half a payload

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, bucket: str, key: str) -> bytes:
        _check_bucket(self, bucket)
        try:
            return await asyncio.to_thread((self._path / _local_key(key)).read_bytes)
        except FileNotFoundError as exc:
            raise CodecError(f"the payload {key!r} is not in {self._path}") from exc

    async def delete(self, bucket: str, key: str) -> None:
        _check_bucket(self, bucket)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread((self._path / _local_key(key)).unlink)


class SQLitePayloadStore:
    """Payloads in a table (``esqs_payloads``) of a SQLite file: the engine's own database keeps
    queues and their large payloads together (one file to back up)."""

    def __init__(self, path: str | os.PathLike[str], *, bucket: str = "sqlite") -> None:
        self._bucket = bucket
        self._lock = threading.Lock()
        self._db = sqlite3.connect(os.fspath(path), timeout=30, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS esqs_payloads "
                "(key TEXT PRIMARY KEY, data BLOB NOT NULL)"
            )

    @property
    def bucket(self) -> str:
        return self._bucket

    def _run(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock, self._db:
            return self._db.execute(sql, args).fetchone()

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(
            self._run, "INSERT OR REPLACE INTO esqs_payloads VALUES (?, ?)", (key, data)
        )

    async def get(self, bucket: str, key: str) -> bytes:
        _check_bucket(self, bucket)
        row = await asyncio.to_thread(
            self._run, "SELECT data FROM esqs_payloads WHERE key = ?", (key,)
        )
        if row is None:
            raise CodecError(f"the payload {key!r} is not in the SQLite store")
        return bytes(row[0])

    async def delete(self, bucket: str, key: str) -> None:
        _check_bucket(self, bucket)
        await asyncio.to_thread(self._run, "DELETE FROM esqs_payloads WHERE key = ?", (key,))

    async def count(self) -> int:
        row = await asyncio.to_thread(self._run, "SELECT count(*) FROM esqs_payloads", ())
        return int(row[0])

    async def aclose(self) -> None:
        with self._lock:
            self._db.close()


def parse_pointer(body: str) -> tuple[str, str]:
    """``(bucket, key)`` from an extended-client pointer body."""
    try:
        pointer = json.loads(body)
    except ValueError as exc:
        raise CodecError("the offloaded message's body is not a payload pointer") from exc
    if (
        not isinstance(pointer, list)
        or len(pointer) != 2
        or pointer[0] not in (POINTER_CLASS, LEGACY_POINTER_CLASS)
        or not isinstance(pointer[1], dict)
        or not isinstance(pointer[1].get("s3BucketName"), str)
        or not isinstance(pointer[1].get("s3Key"), str)
    ):
        raise CodecError("the offloaded message's body is not a valid payload pointer")
    return pointer[1]["s3BucketName"], pointer[1]["s3Key"]


class PayloadOffload:
    """The offload codec (see the module docstring).

    Args:
        store: where payloads go.
        threshold: offload when body + attributes exceed this many bytes (default 256 KiB).
        always: offload every message.
        delete_after_processing: delete a payload once its message is processed.
        legacy_attribute: write ``SQSLargePayloadSize`` for old Java consumers.
    """

    name = "offload"

    def __init__(
        self,
        store: PayloadStore,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        always: bool = False,
        delete_after_processing: bool = False,
        legacy_attribute: bool = False,
    ) -> None:
        if not isinstance(store, PayloadStore):
            raise ConfigurationError(f"store must have bucket, put, get and delete; got {store!r}")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ConfigurationError(f"threshold must be a non-negative int, got {threshold!r}")
        self.store = store
        self._threshold = threshold
        self._always = bool(always)
        self._delete = bool(delete_after_processing)
        self._attribute = LEGACY_RESERVED_ATTRIBUTE if legacy_attribute else RESERVED_ATTRIBUTE
        self._pointer = LEGACY_POINTER_CLASS if legacy_attribute else POINTER_CLASS
        self._pending: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"PayloadOffload(store={self.store!r}, threshold={self._threshold})"

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        if RESERVED_ATTRIBUTE in envelope.attributes or LEGACY_RESERVED_ATTRIBUTE in (
            envelope.attributes
        ):
            raise CodecError(f"{RESERVED_ATTRIBUTE!r} is reserved for offloaded payloads")
        if not self._always and message_size(envelope.body, envelope.attributes) <= self._threshold:
            return envelope
        data = envelope.body.encode("utf-8")
        key = str(uuid.uuid4())
        await self.store.put(key, data)
        stored = self.store.key_for(key) if isinstance(self.store, S3PayloadStore) else key
        attributes = dict(envelope.attributes)
        attributes[self._attribute] = MessageAttributeValue("Number", string_value=str(len(data)))
        pointer = [self._pointer, {"s3BucketName": self.store.bucket, "s3Key": stored}]
        return Envelope(body=json.dumps(pointer, separators=(",", ":")), attributes=attributes)

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        attrs = envelope.attributes
        name = (
            RESERVED_ATTRIBUTE
            if RESERVED_ATTRIBUTE in attrs
            else LEGACY_RESERVED_ATTRIBUTE
            if LEGACY_RESERVED_ATTRIBUTE in attrs
            else None
        )
        if name is None:
            return envelope
        bucket, key = parse_pointer(envelope.body)
        data = await self.store.get(bucket, key)
        try:
            body = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"the payload {key!r} is not UTF-8 text") from exc
        if self._delete and context.message_id is not None:
            self._pending[context.message_id] = (bucket, key)
            if len(self._pending) > _PENDING_LIMIT:
                self._pending.popitem(last=False)
        return Envelope(body=body, attributes={k: v for k, v in attrs.items() if k != name})

    # -- deleting payloads after processing -------------------------------------------------------

    def attach(self, consumer: Any) -> None:
        """Called by a consumer using this codec: delete payloads of processed messages."""
        if self._delete:
            consumer.subscribe(self._on_processed, kinds=("processed",))

    def _on_processed(self, event: Any) -> None:
        where = self._pending.pop(event.message_id, None) if event.message_id else None
        if where is None:
            return
        task = asyncio.get_running_loop().create_task(self._delete_payload(*where))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _delete_payload(self, bucket: str, key: str) -> None:
        try:
            await self.store.delete(bucket, key)
        except EnterpriseSQSError as exc:
            logger.warning(
                "could not delete the payload of a processed message",
                extra={"bucket": bucket, "key": key, "error": repr(exc)},
            )

    async def aclose(self) -> None:
        """Wait for payload deletes under way, then close the store."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()
