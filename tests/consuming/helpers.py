"""Waiting on consumers without sleeping: an observer that records events and wakes waiters."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import Consumer, ConsumerEvent
from enterprise_sqs.models import DeleteEntry, ReceivedMessage

WAIT = 20.0  # generous: moto server is slow; a passing test never waits this long


class Recorder:
    """Subscribe to a consumer; ``await recorder.wait(lambda r: r.count("processed") >= 3)``."""

    def __init__(self, consumer: Consumer) -> None:
        self.events: list[ConsumerEvent] = []
        self.kinds: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        self._loop = asyncio.get_running_loop()
        consumer.subscribe(self._observe)

    def _observe(self, event: ConsumerEvent) -> None:
        self.events.append(event)
        self.kinds[event.kind] += event.count
        self._loop.create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def count(self, kind: str) -> int:
        return self.kinds[kind]

    def of(self, kind: str) -> list[ConsumerEvent]:
        return [e for e in self.events if e.kind == kind]

    async def wait(
        self,
        predicate: Callable[[Recorder], bool],
        timeout: float = WAIT,  # noqa: ASYNC109  # a test's bound, passed to asyncio.timeout
    ) -> None:
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))


async def drain(
    sqs: EnterpriseSQS, url: str, *, wait: int = 1, expect: int | None = None
) -> list[ReceivedMessage]:
    """Receive and delete what is visible in ``url``: stop at the first empty receive, or as
    soon as ``expect`` messages were found."""
    client = sqs.get_sqs_client()
    found: list[ReceivedMessage] = []
    while expect is None or len(found) < expect:
        messages = await client.receive(
            url,
            max_messages=10,
            wait_time_seconds=wait,
            attribute_names=["All"],
            message_attribute_names=["All"],
        )
        if not messages:
            return found
        found.extend(messages)
        await client.delete_batch(
            url,
            [
                DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                for i, m in enumerate(messages)
            ],
        )
    return found


async def counts(sqs: EnterpriseSQS, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = await sqs.get_sqs_client().get_queue_attributes(
        url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )
