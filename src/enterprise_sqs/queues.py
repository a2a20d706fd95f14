"""Queue references: a name or a URL in, the URL and the attributes publishers and consumers
need out — resolved once per client and cached."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import ConfigurationError, QueueDoesNotExist

__all__ = ["QueueInfo", "QueueResolver", "looks_like_url", "queue_name"]

_NEEDED = [
    "FifoQueue",
    "ContentBasedDeduplication",
    "MaximumMessageSize",
    "QueueArn",
    "RedrivePolicy",
]


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """What a publisher or consumer must know about a queue."""

    url: str
    name: str
    arn: str
    fifo: bool
    content_based_deduplication: bool
    maximum_message_size: int
    redrive_policy: str | None


def looks_like_url(queue: str) -> bool:
    return queue.startswith(("http://", "https://"))


def queue_name(queue: str) -> str:
    """A queue's name from its URL (a name is returned as it is)."""
    return queue.rstrip("/").rsplit("/", 1)[-1]


class QueueResolver:
    """Resolves queue names to URLs and reads their attributes, once each.

    ``create_missing`` creates a queue that does not exist (FIFO when the name ends in ``.fifo``),
    with ``attributes`` for new queues.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._cache: dict[str, QueueInfo] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def resolve(
        self,
        queue: str,
        *,
        create_missing: bool = False,
        attributes: Mapping[str, str] | None = None,
    ) -> QueueInfo:
        """Raises: QueueDoesNotExist (unless ``create_missing``), ConfigurationError, SQSError."""
        if not isinstance(queue, str) or not queue.strip():
            raise ConfigurationError(f"a queue must be a non-empty name or URL, got {queue!r}")
        cached = self._cache.get(queue)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(queue, asyncio.Lock())
        async with lock:
            cached = self._cache.get(queue)
            if cached is not None:
                return cached
            info = await self._lookup(queue, create_missing, attributes)
            self._cache[queue] = info
            return info

    async def _lookup(
        self, queue: str, create_missing: bool, attributes: Mapping[str, str] | None
    ) -> QueueInfo:
        if looks_like_url(queue):
            url = queue
        else:
            try:
                url = await self._backend.get_queue_url(queue)
            except QueueDoesNotExist:
                if not create_missing:
                    raise
                new_attributes = dict(attributes or {})
                if queue.endswith(".fifo"):
                    new_attributes.setdefault("FifoQueue", "true")
                url = await self._backend.create_queue(queue, new_attributes)
        values = await self._backend.get_queue_attributes(url, _NEEDED)
        return QueueInfo(
            url=url,
            name=queue_name(url),
            arn=values.get("QueueArn", ""),
            fifo=values.get("FifoQueue", "false").lower() == "true",
            content_based_deduplication=values.get("ContentBasedDeduplication", "false").lower()
            == "true",
            maximum_message_size=int(values.get("MaximumMessageSize", "1048576")),
            redrive_policy=values.get("RedrivePolicy"),
        )

    def forget(self, queue: str) -> None:
        """Drop a cached entry (after the queue was deleted or changed)."""
        self._cache.pop(queue, None)
