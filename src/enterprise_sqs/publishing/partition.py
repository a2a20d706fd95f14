"""Queue partitioning: a key (a customer id, a tenant) always lands on the same one of N queues.

::

    orders = sqs.create_partitioned_publisher(
        "customer-queue-{partition}.fifo", partitions=10,
        key=lambda order: order["customerId"], group_id="customer-{key}",
    )
    result = await orders.publish({"customerId": 42, "total": 10})   # → customer-queue-7.fifo

Keys map to partitions with jump consistent hashing (Lamping & Veach, 2014): the key's 64-bit
BLAKE2b digest drives a pseudo-random walk whose last stop below N is the partition. It spreads
keys evenly, needs no table, and when N grows to N+1 only the ~1/(N+1) of keys that now belong to
the new partition move — every other key keeps its queue, so per-key order and caches survive a
resize. The digest (not ``hash()``) keeps the mapping identical in every process and run.

On a FIFO queue the message group id is derived from the key (``group_id="customer-{key}"``, as
in the seed), so one customer's messages stay in order while customers run in parallel.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from enterprise_sqs.errors import ConfigurationError, InvalidParameterValue
from enterprise_sqs.publishing.publisher import Publisher, PublishResult

if TYPE_CHECKING:
    from enterprise_sqs.client import EnterpriseSQS

__all__ = ["PartitionedPublisher", "jump_hash", "partition_for"]

_MASK = (1 << 64) - 1
_JUMP_MULTIPLIER = 2862933555777941757  # the 64-bit LCG multiplier of the jump hash paper


def jump_hash(key: int, buckets: int) -> int:
    """The bucket in ``range(buckets)`` for a 64-bit ``key`` (jump consistent hashing).

    Raises:
        ConfigurationError: ``buckets`` is not a positive int.
    """
    if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1:
        raise ConfigurationError(f"buckets must be a positive int, got {buckets!r}")
    key &= _MASK
    bucket, jump = -1, 0
    while jump < buckets:
        bucket = jump
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK
        jump = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def _digest(key: object) -> int:
    if isinstance(key, bytes):
        data = key
    elif isinstance(key, str | int) and not isinstance(key, bool):
        data = str(key).encode("utf-8")
    else:
        raise InvalidParameterValue(
            f"a partition key must be a str, int or bytes, got {type(key).__name__}"
        )
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def partition_for(key: object, partitions: int) -> int:
    """The partition (0 … ``partitions``-1) of ``key`` (a str, int or bytes); stable everywhere.

    Raises:
        InvalidParameterValue: ``key`` is not a str, int or bytes.
        ConfigurationError: ``partitions`` is not a positive int.
    """
    return jump_hash(_digest(key), partitions)


class PartitionedPublisher:
    """Publishes each message to the partition queue its key maps to.

    Args:
        client: the :class:`EnterpriseSQS` whose publishers send (one per partition, lazily).
        template: queue name with ``{partition}``, e.g. ``"customer-queue-{partition}.fifo"``.
        partitions: how many queues (``{partition}`` runs from 0 to ``partitions - 1``).
        key: ``obj -> key`` when ``publish`` is not given ``key=`` (default: none, ``key=`` needed).
        group_id: FIFO group id per message, ``"{key}"`` formatted with the key (default
            ``"{key}"``), or a callable ``key -> str``; ``None`` leaves it to the publisher.
        publisher_options: passed to ``client.create_publisher`` for every partition.

    Raises:
        ConfigurationError: a bad template, count, key function or group id.
    """

    def __init__(
        self,
        client: EnterpriseSQS,
        template: str,
        *,
        partitions: int,
        key: Callable[[Any], object] | None = None,
        group_id: str | Callable[[object], str] | None = "{key}",
        **publisher_options: Any,
    ) -> None:
        if not isinstance(template, str) or "{partition}" not in template:
            raise ConfigurationError(
                f"template must be a queue name containing '{{partition}}', got {template!r}"
            )
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise ConfigurationError(f"partitions must be a positive int, got {partitions!r}")
        if key is not None and not callable(key):
            raise ConfigurationError(f"key must be a callable obj -> key, got {key!r}")
        if (
            group_id is not None
            and not callable(group_id)
            and (not isinstance(group_id, str) or "{key}" not in group_id)
        ):
            raise ConfigurationError(
                f"group_id must contain '{{key}}' (e.g. 'customer-{{key}}'), got {group_id!r}"
            )
        try:
            names = [template.format(partition=i) for i in range(partitions)]
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(
                f"template {template!r} may only use the field {{partition}}: {exc}"
            ) from exc
        self._client = client
        self._names = names
        self._key = key
        self._group_id = group_id
        self._fifo = template.endswith(".fifo")
        self._options = publisher_options
        self._publishers: dict[int, Publisher] = {}

    def __repr__(self) -> str:
        return f"PartitionedPublisher({self._names[0]!r}…, partitions={len(self._names)})"

    @property
    def queues(self) -> list[str]:
        """Every partition's queue name, by partition number."""
        return list(self._names)

    @property
    def publishers(self) -> list[Publisher]:
        """The underlying publishers (one per partition), e.g. to attach a backup."""
        return [self.publisher(i) for i in range(len(self._names))]

    def partition_of(self, key: object) -> int:
        return partition_for(key, len(self._names))

    def queue_for(self, key: object) -> str:
        return self._names[self.partition_of(key)]

    def publisher(self, partition: int) -> Publisher:
        """The publisher of one partition (created on first use)."""
        found = self._publishers.get(partition)
        if found is None:
            found = self._client.create_publisher(self._names[partition], **self._options)
            self._publishers[partition] = found
        return found

    def _group_for(self, key: object) -> str | None:
        if self._group_id is None or not self._fifo:
            return None
        if callable(self._group_id):
            return self._group_id(key)
        return self._group_id.format(key=key)

    async def publish(self, obj: Any, *, key: object = None, **options: Any) -> PublishResult:
        """Publish ``obj`` to its key's partition. ``options`` are those of
        :meth:`Publisher.publish`; a ``group_id=`` given there wins over the derived one.

        Raises:
            InvalidParameterValue: no key (neither ``key=`` nor a key function) or a bad key.
            ClientClosedError: the client or the publisher is closed.
        """
        if key is None:
            if self._key is None:
                raise InvalidParameterValue(
                    "publish needs key= (or create the publisher with key=lambda obj: ...)"
                )
            key = self._key(obj)
        partition = self.partition_of(key)
        if options.get("group_id") is None:
            options["group_id"] = self._group_for(key)
        return await self.publisher(partition).publish(obj, **options)

    async def publish_many(self, objs: Iterable[Any], **options: Any) -> list[PublishResult]:
        """Publish several messages concurrently (each to its partition); results in order."""
        return list(await asyncio.gather(*(self.publish(obj, **options) for obj in objs)))

    async def flush(self) -> None:
        await asyncio.gather(*(p.flush() for p in self._publishers.values()))

    async def aclose(self) -> None:
        """Flush and close every partition's publisher. Safe to call twice."""
        await asyncio.gather(*(p.aclose() for p in self._publishers.values()))
