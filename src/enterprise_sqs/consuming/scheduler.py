"""Scheduling: which received messages are handled together, and in what order.

Received messages are cut into *units*, handed to a fixed set of worker tasks through one queue:

- standard queue, one-message handler: one unit per message, so up to ``concurrency`` run at once;
- FIFO queue: one unit per message group, handled in order by one worker, so order within a group
  is strict while different groups run in parallel. If more messages of a group arrive while its
  unit is still running (possible only when a visibility timeout expired), they join the end of
  that unit instead of starting a second one;
- batch handler: units of up to ``batch_size`` messages in receive order. On a FIFO queue SQS
  delivers no later message of a group while an earlier one is in flight, and the consumer keeps
  what it holds in flight (heartbeat) until it is settled, so two units never share a group.
"""

from __future__ import annotations

import asyncio
from collections import deque

from enterprise_sqs.consuming.context import InFlight

__all__ = ["Scheduler", "Unit"]


class Unit:
    """Messages one worker handles in order (``group``: the FIFO group they belong to)."""

    __slots__ = ("group", "records")

    def __init__(self, records: deque[InFlight], group: str | None = None) -> None:
        self.records = records
        self.group = group


class Scheduler:
    """Turns receives into units for the workers. Runs on the event loop only."""

    def __init__(self, *, fifo: bool, batch_size: int | None) -> None:
        self._fifo = fifo
        self._batch_size = batch_size  # None: one-message handler
        self._queue: asyncio.Queue[Unit | None] = asyncio.Queue()
        self._active: dict[str, Unit] = {}

    def dispatch(self, records: list[InFlight]) -> None:
        if self._batch_size is not None:
            self._dispatch_batches(records)
        elif not self._fifo:
            put = self._queue.put_nowait
            for record in records:
                put(Unit(deque((record,))))
        else:
            self._dispatch_groups(records)

    def _dispatch_groups(self, records: list[InFlight]) -> None:
        fresh: dict[str, Unit] = {}
        for record in records:
            group = record.message.attributes.get("MessageGroupId", "")
            unit = self._active.get(group)
            if unit is None:
                unit = self._active[group] = fresh[group] = Unit(deque(), group)
            unit.records.append(record)
        for unit in fresh.values():
            self._queue.put_nowait(unit)

    def _dispatch_batches(self, records: list[InFlight]) -> None:
        assert self._batch_size is not None  # only called in batch mode
        size = self._batch_size
        for start in range(0, len(records), size):
            self._queue.put_nowait(Unit(deque(records[start : start + size])))

    async def next_unit(self) -> Unit | None:
        """The next unit to handle; ``None`` tells a worker to stop."""
        return await self._queue.get()

    def finished(self, unit: Unit) -> None:
        """A worker is done with ``unit`` (its records are all settled or released)."""
        if unit.group is not None and self._active.get(unit.group) is unit:
            del self._active[unit.group]

    def close(self, workers: int) -> None:
        for _ in range(workers):
            self._queue.put_nowait(None)

    def pending(self) -> list[Unit]:
        """Take every unit no worker has started (at shutdown, to release them)."""
        units = []
        while not self._queue.empty():
            unit = self._queue.get_nowait()
            if unit is not None:
                units.append(unit)
        return units
