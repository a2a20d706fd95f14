"""One consumer over many queues — several queues, the partitions of a partitioned set, or the
same queue in several regions — with one concurrency limit shared fairly between them.

::

    consumer = MultiQueueConsumer([(sqs, "orders"), (sqs, "refunds"), (west, "orders")],
                                  concurrency=20, processing_mode="parallel")
    await consumer.start(handler)            # handler(message, context); context.queue says which
    ...
    await consumer.stop()

Each queue gets its own :class:`~enterprise_sqs.consuming.consumer.Consumer` (its own poller,
heartbeat, settling and breaker pause), and every handler call first takes a slot from one
:class:`FairLimiter`. The limiter hands free slots to the waiting queues in turn (round robin),
not to whichever queue has the most messages waiting: a queue with a deep backlog gets at most
its share while others wait, and all of it when they are idle — one busy queue cannot starve the
rest. A message waiting for a slot is held invisible by its consumer's heartbeat, and each
consumer holds at most ``concurrency`` + prefetch messages, so nothing is hoarded.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from enterprise_sqs.consuming.consumer import Consumer
from enterprise_sqs.consuming.events import ConsumerStatsSnapshot, Observer
from enterprise_sqs.errors import ConfigurationError

if TYPE_CHECKING:
    from enterprise_sqs.client import EnterpriseSQS
    from enterprise_sqs.consuming.context import MessageContext

__all__ = ["FairLimiter", "MultiQueueConsumer"]


class FairLimiter:
    """At most ``limit`` holders at once; free slots go to waiting keys in round-robin order
    (within a key, first come first served)."""

    def __init__(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError(f"concurrency must be a positive int, got {limit!r}")
        self.limit = limit
        self.in_use = 0
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._turns: deque[str] = deque()  # keys with waiters, in the order they are served

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    async def acquire(self, key: str) -> None:
        if self.in_use < self.limit and not self._turns:
            self.in_use += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting.setdefault(key, deque())
        if not queue:
            self._turns.append(key)
        queue.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted as we were cancelled: pass the slot on
            elif future in queue:
                queue.remove(future)
                if not queue and key in self._turns:
                    self._turns.remove(key)
            raise

    def release(self) -> None:
        self.in_use -= 1
        while self._turns and self.in_use < self.limit:
            key = self._turns.popleft()
            queue = self._waiting[key]
            future = queue.popleft()
            if queue:
                self._turns.append(key)  # its next waiter queues behind the other keys
            if not future.done():
                self.in_use += 1
                future.set_result(None)


class MultiQueueConsumer:
    """Consumes several queues (of one or several clients) with one handler and one fair
    concurrency limit.

    Args:
        sources: ``(client, queue)`` pairs; the same queue name may appear for several clients
            (regions).
        concurrency: handlers running at once across every queue.
        consumer_options: options of each queue's consumer (``processing_mode``,
            ``batch_size``, ``visibility_timeout_seconds``, ``middleware``, ...); each may run up to
            ``concurrency`` handlers, the limiter keeps the total.

    Raises:
        ConfigurationError: no sources, a repeated source, or a bad option.
    """

    def __init__(
        self,
        sources: Sequence[tuple[EnterpriseSQS, str]],
        *,
        concurrency: int = 10,
        **consumer_options: Any,
    ) -> None:
        sources = list(sources)
        if not sources or not all(isinstance(s, tuple) and len(s) == 2 for s in sources):
            raise ConfigurationError(
                f"sources must be a non-empty list of (client, queue) pairs, got {sources!r}"
            )
        if len({(id(c), q) for c, q in sources}) != len(sources):
            raise ConfigurationError("each (client, queue) may appear only once in sources")
        self.limiter = FairLimiter(concurrency)
        user_middleware = tuple(consumer_options.pop("middleware", ()) or ())
        consumer_options.setdefault("processing_mode", "parallel")
        self.consumers: list[Consumer] = []
        for index, (client, queue) in enumerate(sources):
            slot = self._slot_middleware(f"{index}:{queue}")
            self.consumers.append(
                client.create_consumer(
                    queue,
                    concurrency=concurrency,
                    middleware=(slot, *user_middleware),
                    **consumer_options,
                )
            )

    @classmethod
    def for_partitions(
        cls,
        client: EnterpriseSQS,
        template: str,
        partitions: int,
        **options: Any,
    ) -> MultiQueueConsumer:
        """A consumer over every partition queue of a partitioned set (see
        :class:`~enterprise_sqs.publishing.partition.PartitionedPublisher`)."""
        if not isinstance(template, str) or "{partition}" not in template:
            raise ConfigurationError(f"template must contain '{{partition}}', got {template!r}")
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise ConfigurationError(f"partitions must be a positive int, got {partitions!r}")
        return cls([(client, template.format(partition=i)) for i in range(partitions)], **options)

    def __repr__(self) -> str:
        return f"MultiQueueConsumer({[c.queue for c in self.consumers]!r})"

    def _slot_middleware(
        self, key: str
    ) -> Callable[[MessageContext, Callable[[], Awaitable[Any]]], Awaitable[Any]]:
        limiter = self.limiter

        async def take_slot(
            context: MessageContext, call_next: Callable[[], Awaitable[Any]]
        ) -> Any:
            await limiter.acquire(key)
            try:
                return await call_next()
            finally:
                limiter.release()

        return take_slot

    @property
    def running(self) -> bool:
        return any(c.running for c in self.consumers)

    def subscribe(
        self, observer: Observer, kinds: Collection[str] | None = None
    ) -> Callable[[], None]:
        """Hear every queue's consumer events (``event.queue`` says which)."""
        stops = [c.subscribe(observer, kinds) for c in self.consumers]

        def unsubscribe() -> None:
            for stop in stops:
                stop()

        return unsubscribe

    def stats(self) -> dict[str, ConsumerStatsSnapshot]:
        """Each queue's consumer statistics, by ``"<index>:<queue>"``."""
        return {f"{i}:{c.queue}": c.stats.snapshot() for i, c in enumerate(self.consumers)}

    async def start(self, handler: Callable[..., Any]) -> None:
        """Start every queue's consumer with ``handler(message, context)``."""
        try:
            for consumer in self.consumers:
                await consumer.start(handler)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every consumer (each drains as :meth:`Consumer.stop` does). Safe to call twice."""
        await asyncio.gather(*(c.stop() for c in self.consumers))

    async def __aenter__(self) -> MultiQueueConsumer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
