"""Fault injection: a Backend wrapper that fails, throttles, stalls or refuses entries on command.

For our tests and for users' own: wrap any backend (usually ``memory://``), tell it what to break,
and watch retries, breakers, publishers and consumers cope::

    faulty = FaultyBackend(open_backend("memory://"))
    faulty.throttle(times=2)                       # the next two calls raise ThrottlingError
    faulty.fail(ServiceUnavailable, fraction=0.1)  # then 10% of calls fail, until cleared
    rule = faulty.stall(operations={"receive"})    # receives hang until rule.release()
    faulty.fail_entries(ServiceUnavailable, ids={"m2"})  # entry m2 of each batch fails
    faulty.clear()

Rules apply in the order they were added; the first that matches a call decides it. ``times``
limits how many calls a rule affects, ``fraction`` makes it affect that share of calls (drawn
from a seeded :class:`random.Random`, so runs repeat), ``operations`` restricts it to some
Backend method names. :attr:`FaultyBackend.calls` counts calls by operation and
:attr:`FaultyBackend.batches` records every batch's entry ids, so tests can see what was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.delegating import DelegatingBackend
from enterprise_sqs.errors import ConfigurationError, SQSError, ThrottlingError
from enterprise_sqs.models import (
    BatchFailure,
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    SendEntry,
)

__all__ = ["FaultRule", "FaultyBackend"]

T = TypeVar("T")
S = TypeVar("S")
E = TypeVar("E", SendEntry, DeleteEntry, ChangeVisibilityEntry)

ErrorSpec = BaseException | type[BaseException] | Callable[[], BaseException]
_BATCH_OPERATIONS = frozenset({"send_batch", "delete_batch", "change_visibility_batch"})


@dataclass(eq=False)
class FaultRule:
    """One instruction given to a :class:`FaultyBackend`. Returned so tests can inspect it.

    Attributes:
        applied: how many calls (or, for entry rules, batch entries) it has affected.
    """

    kind: str  # "fail", "stall" or "entries"
    error: ErrorSpec | None
    times: int | None
    fraction: float | None
    operations: frozenset[str] | None
    ids: frozenset[str] | None = None
    stall_seconds: float | None = None
    applied: int = 0
    held: int = 0  # calls a stall rule is holding right now
    _released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    def release(self) -> None:
        """Let every call this stall rule holds (and will hold) go on to the real backend."""
        self._released.set()

    async def wait_stalled(self, count: int = 1) -> None:
        """Wait until this stall rule holds at least ``count`` calls at once."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.held >= count)

    async def _hold(self) -> None:
        async with self._changed:
            self.held += 1
            self._changed.notify_all()
        try:
            if self.stall_seconds is None:
                await self._released.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), self.stall_seconds)
        finally:
            self.held -= 1

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times


def _make_error(spec: ErrorSpec) -> BaseException:
    if isinstance(spec, BaseException):
        # A fresh copy per raise: one instance raised twice would pile up tracebacks.
        return copy.copy(spec)
    return spec()


class FaultyBackend(DelegatingBackend):
    """A Backend that forwards to another unless told to misbehave. See the module docstring."""

    def __init__(self, backend: Backend, *, seed: int = 0) -> None:
        super().__init__(backend)
        self._random = random.Random(seed)
        self._rules: list[FaultRule] = []
        self.calls: Counter[str] = Counter()
        self.batches: list[tuple[str, list[str]]] = []

    @property
    def name(self) -> str:
        return f"faulty({self._inner.name})"

    # -- commands ---------------------------------------------------------------------------------

    def fail(
        self,
        error: ErrorSpec,
        *,
        times: int | None = None,
        fraction: float | None = None,
        operations: Collection[str] | None = None,
    ) -> FaultRule:
        """Make matching calls raise ``error`` (an instance, a class or a factory).

        Raises:
            ConfigurationError: bad ``times``, ``fraction`` or operation names.
        """
        return self._add(FaultRule("fail", error, *self._limits(times, fraction, operations)))

    def throttle(
        self,
        *,
        times: int | None = None,
        fraction: float | None = None,
        operations: Collection[str] | None = None,
    ) -> FaultRule:
        """Make matching calls raise :class:`~enterprise_sqs.errors.ThrottlingError`."""
        return self.fail(ThrottlingError, times=times, fraction=fraction, operations=operations)

    def stall(
        self,
        *,
        seconds: float | None = None,
        times: int | None = None,
        fraction: float | None = None,
        operations: Collection[str] | None = None,
    ) -> FaultRule:
        """Make matching calls hang until ``rule.release()`` (or for ``seconds``), then proceed.

        A stalled call that is cancelled (a timeout, a shutdown) never reaches the backend.
        """
        if seconds is not None and (isinstance(seconds, bool) or not seconds > 0):
            raise ConfigurationError(f"seconds must be a positive number or None, got {seconds!r}")
        rule = FaultRule("stall", None, *self._limits(times, fraction, operations))
        rule.stall_seconds = seconds
        return self._add(rule)

    def fail_entries(
        self,
        error: type[SQSError] | SQSError,
        *,
        ids: Collection[str] | None = None,
        fraction: float | None = None,
        times: int | None = None,
        operations: Collection[str] | None = None,
    ) -> FaultRule:
        """Make matching batch entries come back failed with ``error``'s code; the rest of the
        batch goes through. ``ids`` picks entries by id, ``fraction`` by chance, ``times``
        counts entries.

        Raises:
            ConfigurationError: ``operations`` names a non-batch operation, or bad limits.
        """
        ops = _BATCH_OPERATIONS if operations is None else frozenset(operations)
        if not ops <= _BATCH_OPERATIONS:
            raise ConfigurationError(
                f"fail_entries applies to {sorted(_BATCH_OPERATIONS)}, got {sorted(ops)}"
            )
        rule = FaultRule("entries", error, *self._limits(times, fraction, ops))
        rule.ids = None if ids is None else frozenset(ids)
        return self._add(rule)

    def clear(self) -> None:
        """Forget every rule and release every stalled call."""
        for rule in self._rules:
            rule.release()
        self._rules.clear()

    # -- machinery --------------------------------------------------------------------------------

    @staticmethod
    def _limits(
        times: int | None, fraction: float | None, operations: Collection[str] | None
    ) -> tuple[int | None, float | None, frozenset[str] | None]:
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ConfigurationError(f"times must be a positive integer or None, got {times!r}")
        if fraction is not None and (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not 0 < fraction <= 1
        ):
            raise ConfigurationError(f"fraction must be in (0, 1] or None, got {fraction!r}")
        ops = None if operations is None else frozenset(operations)
        if ops is not None:
            unknown = ops - _OPERATIONS
            if unknown:
                raise ConfigurationError(f"unknown operations {sorted(unknown)}")
        return times, fraction, ops

    def _add(self, rule: FaultRule) -> FaultRule:
        self._rules.append(rule)
        return rule

    def _matches(self, rule: FaultRule, operation: str) -> bool:
        if rule.exhausted or (rule.operations is not None and operation not in rule.operations):
            return False
        return rule.fraction is None or self._random.random() < rule.fraction

    async def _call(
        self, operation: str, queue_url: str | None, fn: Callable[[], Awaitable[T]]
    ) -> T:
        self.calls[operation] += 1
        for rule in self._rules:
            if rule.kind == "entries" or not self._matches(rule, operation):
                continue
            rule.applied += 1
            if rule.kind == "fail":
                assert rule.error is not None  # fail rules always carry one
                raise _make_error(rule.error)
            await rule._hold()
            break
        return await fn()

    async def _call_batch(
        self,
        operation: str,
        queue_url: str,
        entries: Sequence[E],
        fn: Callable[[list[E]], Awaitable[BatchResult[S]]],
    ) -> BatchResult[S]:
        self.batches.append((operation, [e.id for e in entries]))
        forward: list[E] = []
        failed: list[BatchFailure] = []
        for entry in entries:
            failure = self._entry_failure(operation, entry.id)
            if failure is None:
                forward.append(entry)
            else:
                failed.append(failure)
        if not failed:
            return await self._call(operation, queue_url, lambda: fn(list(entries)))
        if not forward:
            self.calls[operation] += 1
            return BatchResult([], failed)
        partial: BatchResult[S] = await self._call(operation, queue_url, lambda: fn(forward))
        return BatchResult(list(partial.successful), [*partial.failed, *failed])

    def _entry_failure(self, operation: str, entry_id: str) -> BatchFailure | None:
        for rule in self._rules:
            if rule.kind != "entries" or (rule.ids is not None and entry_id not in rule.ids):
                continue
            if not self._matches(rule, operation):
                continue
            rule.applied += 1
            assert isinstance(rule.error, SQSError | type)  # entry rules carry an SQSError
            error = rule.error if isinstance(rule.error, SQSError) else _make_error(rule.error)
            if not isinstance(error, SQSError):
                raise ConfigurationError("fail_entries needs an SQSError class or instance")
            return BatchFailure(
                id=entry_id,
                code=error.actual_code,
                message=error.message,
                sender_fault=error.sender_fault,
            )
        return None

    async def aclose(self) -> None:
        """Release every stalled call, then close the wrapped backend."""
        self.clear()
        await self._inner.aclose()


# The Backend protocol's operations (every async method but aclose) are what rules may name.
_OPERATIONS = frozenset(
    name
    for name, member in vars(Backend).items()
    if inspect.iscoroutinefunction(member) and name != "aclose"
)
