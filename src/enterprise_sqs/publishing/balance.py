"""Load balancing: one publisher over several equivalent queues.

::

    spread = sqs.create_balanced_publisher(
        ["queue-1.fifo", "queue-2.fifo", "queue-3.fifo"],
        strategy="least_backlog", message_group_id="load-balanced",
    )
    result = await spread.publish(order)        # result.queue_url says which queue took it

Strategies: ``round_robin`` (in turn), ``random`` (uniform, the seed's), ``least_backlog`` (the
queue with the fewest waiting messages: ``ApproximateNumberOfMessages`` read at most every
``refresh_interval`` seconds and, between reads, increased by what this publisher sent there, so
a burst does not pile onto the queue that looked emptiest at the last read).

A queue whose circuit breaker is open is skipped (use ``EnterpriseSQS(per_queue_breakers=True)``
so each queue has its own; with one breaker per client every queue shares its fate). A publish
refused by a breaker or failed by a retryable error after its retries moves on to the next
queue, so a message fails only when every queue failed it. A message whose request timed out may
have been accepted all the same: moving on can then deliver it twice (on a FIFO queue its
deduplication id only protects within one queue).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from enterprise_sqs.errors import (
    CircuitOpenError,
    ConfigurationError,
    EnterpriseSQSError,
    SQSError,
)
from enterprise_sqs.publishing.publisher import Publisher, PublishResult
from enterprise_sqs.queues import QueueResolver
from enterprise_sqs.resilience.breaker import CircuitState

if TYPE_CHECKING:
    from enterprise_sqs.client import EnterpriseSQS

__all__ = ["BalanceStrategy", "BalancedPublisher", "is_unavailable"]

logger = logging.getLogger(__name__)

BalanceStrategy = Literal["round_robin", "random", "least_backlog"]
_STRATEGIES = ("round_robin", "random", "least_backlog")


def is_unavailable(error: EnterpriseSQSError | None) -> bool:
    """Whether a failed publish says the *service* could not take it (so another queue, region or
    the spool may), rather than that the message itself is wrong."""
    if isinstance(error, CircuitOpenError):
        return True
    return isinstance(error, SQSError) and error.retryable


class BalancedPublisher:
    """Publishes each message to one of several queues. See the module docstring.

    Args:
        client: the :class:`EnterpriseSQS` whose publishers send.
        queues: two or more queue names or URLs.
        strategy: ``"round_robin"``, ``"random"`` or ``"least_backlog"``.
        refresh_interval: seconds a queue depth read stays fresh (``least_backlog``).
        rng: random source for ``random`` (inject a seeded ``random.Random`` in tests).
        monotonic: time source for the depth cache.
        publisher_options: passed to ``client.create_publisher`` for every queue.

    Raises:
        ConfigurationError: fewer than one queue, a repeated queue, or a bad option.
    """

    def __init__(
        self,
        client: EnterpriseSQS,
        queues: Sequence[str],
        *,
        strategy: BalanceStrategy = "round_robin",
        refresh_interval: float = 5.0,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        **publisher_options: Any,
    ) -> None:
        queues = list(queues) if not isinstance(queues, str) else []
        if not queues or not all(isinstance(q, str) and q.strip() for q in queues):
            raise ConfigurationError(
                f"queues must be a list of queue names or URLs, got {queues!r}"
            )
        if len(set(queues)) != len(queues):
            raise ConfigurationError(f"queues must be distinct, got {queues!r}")
        if strategy not in _STRATEGIES:
            raise ConfigurationError(f"strategy must be one of {_STRATEGIES}, got {strategy!r}")
        if (
            isinstance(refresh_interval, bool)
            or not isinstance(refresh_interval, int | float)
            or refresh_interval < 0
        ):
            raise ConfigurationError(
                f"refresh_interval must be seconds >= 0, got {refresh_interval!r}"
            )
        self._client = client
        self._queues = queues
        self._strategy: BalanceStrategy = strategy
        self._refresh_interval = float(refresh_interval)
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._turn = itertools.count()
        self._publishers: list[Publisher] = [
            client.create_publisher(queue, **publisher_options) for queue in queues
        ]
        self._resolver: QueueResolver | None = None
        self._urls: list[str | None] = [None] * len(queues)
        self._depth: list[int] = [0] * len(queues)
        self._depth_read_at: float | None = None
        self._refresh_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"BalancedPublisher({self._queues!r}, strategy={self._strategy!r})"

    @property
    def queues(self) -> list[str]:
        return list(self._queues)

    @property
    def publishers(self) -> list[Publisher]:
        """The underlying publishers (one per queue), e.g. to attach a backup."""
        return list(self._publishers)

    @property
    def backlog(self) -> dict[str, int]:
        """The depth estimate per queue (``least_backlog``: last read plus sent since)."""
        return dict(zip(self._queues, self._depth, strict=True))

    def _available(self, index: int) -> bool:
        url = self._urls[index]
        if url is None:
            return True  # not resolved yet: nothing known against it
        status = self._client.get_sqs_client().get_circuit_breaker_status(url)
        # An OPEN breaker whose timeout has passed lets a probe through: count it as available.
        return status.state is not CircuitState.OPEN or status.retry_after == 0

    async def _refresh_depths(self) -> None:
        now = self._monotonic()
        if self._depth_read_at is not None and now - self._depth_read_at < self._refresh_interval:
            return
        async with self._refresh_lock:
            if (
                self._depth_read_at is not None
                and self._monotonic() - self._depth_read_at < self._refresh_interval
            ):
                return
            backend = self._client.get_sqs_client()
            if self._resolver is None:
                self._resolver = QueueResolver(backend)
            for index, queue in enumerate(self._queues):
                if not self._available(index):
                    continue
                try:
                    info = await self._resolver.resolve(queue)
                    self._urls[index] = info.url
                    values = await backend.get_queue_attributes(
                        info.url, ["ApproximateNumberOfMessages"]
                    )
                    self._depth[index] = int(values.get("ApproximateNumberOfMessages", "0"))
                except EnterpriseSQSError as exc:
                    # An unreadable depth is no reason to fail a publish: keep the old estimate.
                    logger.info(
                        "queue depth unavailable",
                        extra={"queue": queue, "error_type": type(exc).__name__},
                    )
            self._depth_read_at = self._monotonic()

    def _order(self) -> list[int]:
        """Queue indexes in the order to try them for the next message."""
        count = len(self._queues)
        if self._strategy == "round_robin":
            start = next(self._turn) % count
            return [(start + i) % count for i in range(count)]
        if self._strategy == "random":
            order = list(range(count))
            self._rng.shuffle(order)
            return order
        return sorted(range(count), key=lambda i: (self._depth[i], i))

    async def publish(self, obj: Any, **options: Any) -> PublishResult:
        """Publish ``obj`` to one queue (``options`` as for :meth:`Publisher.publish`).

        Returns the first queue's success, or the last failure when every queue failed or was
        skipped. A failure that is the message's own fault (validation) is returned at once.
        """
        if self._strategy == "least_backlog":
            await self._refresh_depths()
        order = self._order()
        candidates = [i for i in order if self._available(i)]
        skipped = [i for i in order if i not in candidates]
        result: PublishResult | None = None
        # Open-breaker queues go last: if every healthy queue fails, they are the last resort.
        for index in candidates + skipped:
            result = await self._publishers[index].publish(obj, **options)
            if result.queue_url is not None:
                self._urls[index] = result.queue_url
            if result.success:
                self._depth[index] += 1
                return result
            if not is_unavailable(result.error):
                return result
            logger.info(
                "queue unavailable, trying the next",
                extra={"queue": self._queues[index], "error_type": type(result.error).__name__},
            )
        assert result is not None  # at least one queue
        return result

    async def publish_many(self, objs: Iterable[Any], **options: Any) -> list[PublishResult]:
        return list(await asyncio.gather(*(self.publish(obj, **options) for obj in objs)))

    async def flush(self) -> None:
        await asyncio.gather(*(p.flush() for p in self._publishers))

    async def aclose(self) -> None:
        """Flush and close every queue's publisher. Safe to call twice."""
        await asyncio.gather(*(p.aclose() for p in self._publishers))
