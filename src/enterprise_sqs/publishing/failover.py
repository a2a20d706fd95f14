"""Multi-region failover: one publisher over two or more clients (regions or endpoints).

::

    orders = FailoverPublisher({"us-east-1": primary, "us-west-2": secondary}, "queue.fifo",
                               message_group_id="orders")
    result = await orders.publish(order)    # result.destination == "us-east-1" (or the next)

Clients are tried in the order given. The *active* client takes every message until it cannot:
its circuit breaker refuses the call, or a retryable failure persists through its retries. The
message then goes to the next client, which becomes active. While a client other than the first
is active, a probe task asks the better ones every ``probe_interval`` seconds (a
``GetQueueAttributes`` through that client's breaker, so a half-open breaker admits it as its
probe); the first to answer becomes active again: failback. A failure that is the message's own
fault (validation, too large) is returned without trying elsewhere. Each result's
``destination`` names the client that took the message.

FIFO caveats (a queue per region is a separate queue):

- Order holds within each region, not across them: during a failover a group's messages are
  split between regions, and after failback the ones in the secondary may be consumed after newer
  ones in the primary. Consume every region (:class:`~enterprise_sqs.consuming.multi.
  MultiQueueConsumer` over both clients) and make handlers tolerate that.
- The deduplication id of a message is the same in every region (the explicit
  ``deduplication_id=``, or the same SHA-256 of the same body), so a message resent to the same
  region within its 5-minute window is dropped there. Regions do not share windows: a request
  that timed out (and was perhaps accepted) in one region and is then sent to the next may be
  delivered once in each. A refused or reset connection never is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from enterprise_sqs.errors import ConfigurationError, EnterpriseSQSError
from enterprise_sqs.publishing.balance import is_unavailable
from enterprise_sqs.publishing.publisher import Publisher, PublishResult
from enterprise_sqs.queues import QueueResolver
from enterprise_sqs.resilience.breaker import CircuitState

if TYPE_CHECKING:
    from enterprise_sqs.client import EnterpriseSQS

__all__ = ["FailoverPublisher"]

logger = logging.getLogger(__name__)


def _names_and_clients(
    clients: Sequence[EnterpriseSQS] | Mapping[str, EnterpriseSQS],
) -> tuple[list[str], list[EnterpriseSQS]]:
    if isinstance(clients, Mapping):
        return [str(name) for name in clients], list(clients.values())
    listed = list(clients)
    names = []
    for index, client in enumerate(listed):
        region = getattr(getattr(client, "config", None), "region", None)
        names.append(region or f"client-{index}")
    if len(set(names)) != len(names):  # two clients of one region: number them instead
        names = [f"client-{index}" for index in range(len(listed))]
    return names, listed


class FailoverPublisher:
    """Publishes to the first healthy client of several. See the module docstring.

    Args:
        clients: the clients in order of preference, or a mapping name → client (the names
            appear in ``PublishResult.destination``; default: each client's region).
        queue: the queue name (or a URL per client is not supported: names resolve per client).
        probe_interval: seconds between probes of the better clients while failed over.
        publisher_options: passed to every client's ``create_publisher``.

    Raises:
        ConfigurationError: fewer than two clients, or a bad option.
    """

    def __init__(
        self,
        clients: Sequence[EnterpriseSQS] | Mapping[str, EnterpriseSQS],
        queue: str,
        *,
        probe_interval: float = 5.0,
        **publisher_options: Any,
    ) -> None:
        from enterprise_sqs.client import EnterpriseSQS  # here: client.py imports this module

        names, listed = _names_and_clients(clients)
        if len(listed) < 2 or not all(isinstance(c, EnterpriseSQS) for c in listed):
            raise ConfigurationError(
                "a FailoverPublisher needs two or more EnterpriseSQS clients, "
                f"got {len(listed)}: {listed!r}"
            )
        if not isinstance(queue, str) or not queue.strip():
            raise ConfigurationError(f"queue must be a non-empty queue name, got {queue!r}")
        if (
            isinstance(probe_interval, bool)
            or not isinstance(probe_interval, int | float)
            or probe_interval <= 0
        ):
            raise ConfigurationError(f"probe_interval must be seconds > 0, got {probe_interval!r}")
        self._names = names
        self._clients = listed
        self._queue = queue
        self._probe_interval = float(probe_interval)
        self._publishers: list[Publisher] = [
            client.create_publisher(queue, **publisher_options) for client in listed
        ]
        self._resolvers: list[QueueResolver | None] = [None] * len(listed)
        self._urls: list[str | None] = [None] * len(listed)
        self._active = 0
        self._prober: asyncio.Task[None] | None = None
        self._closed = False
        self.failovers = 0
        self.failbacks = 0

    def __repr__(self) -> str:
        return f"FailoverPublisher({self._names!r}, active={self.active!r})"

    @property
    def destinations(self) -> list[str]:
        return list(self._names)

    @property
    def publishers(self) -> list[Publisher]:
        """The underlying publishers (one per client), e.g. to attach a backup."""
        return list(self._publishers)

    @property
    def active(self) -> str:
        """The name of the client taking messages now."""
        return self._names[self._active]

    def _open(self, index: int) -> bool:
        url = self._urls[index]
        status = self._clients[index].get_sqs_client().get_circuit_breaker_status(url)
        return status.state is CircuitState.OPEN and status.retry_after != 0

    async def publish(self, obj: Any, **options: Any) -> PublishResult:
        """Publish ``obj`` through the active client, failing over as needed
        (``options`` as for :meth:`Publisher.publish`).

        Returns the success (``destination`` says where), the message's own failure, or — when
        every client was unavailable — the last client's failure.
        """
        active = self._active
        order = [active, *(i for i in range(len(self._clients)) if i != active)]
        # Clients whose breaker is open go last: tried only if every other one fails too.
        order = [i for i in order if not self._open(i)] + [i for i in order if self._open(i)]
        result: PublishResult | None = None
        for index in order:
            result = await self._publishers[index].publish(obj, **options)
            if result.queue_url is not None:
                self._urls[index] = result.queue_url
            if result.success or not is_unavailable(result.error):
                if result.success and index != self._active:
                    self._switch(index, "failover" if index > self._active else "failback")
                return dataclasses.replace(result, destination=self._names[index])
            logger.warning(
                "region unavailable, failing over",
                extra={
                    "destination": self._names[index],
                    "queue": self._queue,
                    "error_type": type(result.error).__name__,
                },
            )
        assert result is not None
        return result

    def _switch(self, index: int, why: str) -> None:
        previous, self._active = self._active, index
        if why == "failover":
            self.failovers += 1
        else:
            self.failbacks += 1
        logger.warning(
            "%s from %s to %s",
            why,
            self._names[previous],
            self._names[index],
            extra={"from": self._names[previous], "to": self._names[index], "queue": self._queue},
        )
        if self._active != 0 and (self._prober is None or self._prober.done()) and not self._closed:
            self._prober = asyncio.get_running_loop().create_task(self._probe_loop())

    async def probe(self) -> bool:
        """Probe every client better than the active one, best first; fail back to the first
        that answers. Returns whether a failback happened."""
        for index in range(self._active):
            if await self._healthy(index):
                self._switch(index, "failback")
                return True
        return False

    async def _healthy(self, index: int) -> bool:
        backend = self._clients[index].get_sqs_client()
        try:
            url = self._urls[index]
            if url is None:
                resolver = self._resolvers[index] or QueueResolver(backend)
                self._resolvers[index] = resolver
                url = self._urls[index] = (await resolver.resolve(self._queue)).url
            await backend.get_queue_attributes(url, ["QueueArn"])
        except EnterpriseSQSError as exc:
            logger.debug(
                "probe failed",
                extra={"destination": self._names[index], "error_type": type(exc).__name__},
            )
            return False
        return True

    async def _probe_loop(self) -> None:
        while self._active != 0 and not self._closed:
            await asyncio.sleep(self._probe_interval)
            await self.probe()

    async def publish_many(self, objs: Iterable[Any], **options: Any) -> list[PublishResult]:
        return list(await asyncio.gather(*(self.publish(obj, **options) for obj in objs)))

    async def flush(self) -> None:
        await asyncio.gather(*(p.flush() for p in self._publishers))

    async def aclose(self) -> None:
        """Stop probing, flush and close every client's publisher. Safe to call twice."""
        self._closed = True
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        await asyncio.gather(*(p.aclose() for p in self._publishers))
