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

Waking workers: a dispatch wakes one idle worker, and a worker that takes a unit while more are
waiting wakes the next one, so only as many workers wake as there are units nobody is on the way
to take. A handler that waits on I/O lets the next woken worker run (all ``concurrency`` workers
get busy within as many loop iterations); a handler that finishes without waiting lets its worker
take the next unit at once. Waking every worker for every unit (``asyncio.Queue``) cost a task
wake-up and a future per message, most of them for workers that then found nothing left to do.
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
        self._units: deque[Unit | None] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()  # workers waiting for a unit
        self._waking = 0  # idle workers woken that have not come to take a unit yet
        self._active: dict[str, Unit] = {}

    def dispatch(self, records: list[InFlight]) -> None:
        if self._batch_size is not None:
            self._dispatch_batches(records)
        elif not self._fifo:
            self._units.extend(Unit(deque((record,))) for record in records)
        else:
            self._dispatch_groups(records)
        self._wake_if_needed()

    def _dispatch_groups(self, records: list[InFlight]) -> None:
        fresh: dict[str, Unit] = {}
        for record in records:
            group = record.message.attributes.get("MessageGroupId", "")
            unit = self._active.get(group)
            if unit is None:
                unit = self._active[group] = fresh[group] = Unit(deque(), group)
            unit.records.append(record)
        self._units.extend(fresh.values())

    def _dispatch_batches(self, records: list[InFlight]) -> None:
        assert self._batch_size is not None  # only called in batch mode
        size = self._batch_size
        for start in range(0, len(records), size):
            self._units.append(Unit(deque(records[start : start + size])))

    def _wake_if_needed(self) -> None:
        """Wake one idle worker when units wait and no woken worker is on its way already."""
        if self._waking or not self._units:
            return
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():  # a cancelled worker's future is done: skip it
                waiter.set_result(None)
                self._waking += 1
                return

    async def next_unit(self) -> Unit | None:
        """The next unit to handle; ``None`` tells a worker to stop."""
        units = self._units
        while not units:  # the deque is never replaced, only emptied and refilled
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # woken, then cancelled before running: pass the wake-up on
                    self._waking -= 1
                    self._wake_if_needed()
                raise
            self._waking -= 1
        unit = units.popleft()
        self._wake_if_needed()  # more units wait: the next worker starts while this one works
        return unit

    def finished(self, unit: Unit) -> None:
        """A worker is done with ``unit`` (its records are all settled or released)."""
        if unit.group is not None and self._active.get(unit.group) is unit:
            del self._active[unit.group]

    def close(self, workers: int) -> None:
        self._units.extend([None] * workers)
        self._wake_if_needed()

    def pending(self) -> list[Unit]:
        """Take every unit no worker has started (at shutdown, to release them)."""
        units = [unit for unit in self._units if unit is not None]
        stops = len(self._units) - len(units)
        self._units.clear()  # in place: waiting workers look at this very deque
        self._units.extend([None] * stops)
        return units
