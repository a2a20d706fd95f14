"""Retrying: exponential backoff with full jitter, bounded by count, deadline and budget.

The n-th retry (n = 0 for the first) waits::

    delay(n) = uniform(0, min(max_backoff, initial_delay · backoff_multiplier ** n))

("full jitter": spreading retries over the whole interval is what keeps many clients that failed
together from retrying together). :func:`compute_backoff` is that formula as a pure function with
the random source injectable.

A failed call is retried only if every bound allows it:

1. the error is retryable (:attr:`SQSError.retryable <enterprise_sqs.errors.SQSError>`:
   throttling, 5xx, transport errors, timeouts) — a sender's mistake never is, and neither is
   :class:`~enterprise_sqs.errors.CircuitOpenError` (nothing was sent; waiting is the cure);
2. fewer than ``max_retries`` retries have been made;
3. the retry's backoff ends within ``deadline`` seconds of the first attempt (if set);
4. the :class:`~enterprise_sqs.resilience.budget.RetryBudget` has a token.

Batch calls (:meth:`RetryPolicy.call_batch`) retry only the failed entries whose failure is not
the sender's fault (:attr:`BatchFailure.retryable <enterprise_sqs.models.BatchFailure>`), as one
new batch; the result merges every round, under the caller's original entry ids.

Test mode (:func:`set_testing`) makes every backoff zero so users' tests exercise retries
without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.config import RetryConfig
from enterprise_sqs.errors import CircuitOpenError, ConfigurationError, SQSError
from enterprise_sqs.models import BatchFailure, BatchResult
from enterprise_sqs.resilience.budget import RetryBudget
from enterprise_sqs.resilience.stats import ResilienceStats

__all__ = [
    "RetryDetails",
    "RetryPolicy",
    "compute_backoff",
    "is_testing",
    "no_backoff",
    "set_testing",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


E = TypeVar("E", bound=_HasId)

_testing = False


def set_testing(enabled: bool) -> None:
    """Turn test mode on or off for the whole process: every backoff becomes zero."""
    global _testing  # a process-wide switch is the feature (stamina's set_testing does the same)
    _testing = bool(enabled)


def is_testing() -> bool:
    return _testing


@contextlib.contextmanager
def no_backoff(enabled: bool = True) -> Iterator[None]:
    """Test mode (zero backoff) inside a ``with`` block; the previous mode is restored after."""
    previous = _testing
    set_testing(enabled)
    try:
        yield
    finally:
        set_testing(previous)


def compute_backoff(
    retry: int,
    *,
    initial_delay: float,
    multiplier: float,
    max_backoff: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """``uniform(0, min(max_backoff, initial_delay · multiplier ** retry))``; ``retry`` from 0.

    Raises:
        ConfigurationError: a negative ``retry``.
    """
    if retry < 0:
        raise ConfigurationError(f"retry must be ≥ 0, got {retry}")
    ceiling = max_backoff
    # Compare in log space: multiplier ** retry overflows a float long before retry gets large.
    if initial_delay <= 0:
        ceiling = 0.0
    elif multiplier <= 1 or retry * math.log(multiplier) < math.log(max_backoff / initial_delay):
        ceiling = min(max_backoff, initial_delay * multiplier**retry)
    return uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryDetails:
    """What a retry hook hears before each retry."""

    operation: str
    queue_url: str | None
    retry: int  # 1 for the first retry
    delay: float  # seconds it will wait first
    error: BaseException  # why the previous attempt failed
    elapsed: float  # seconds since the first attempt began
    entries: int | None = None  # batch entries being sent again (batch calls only)


RetryHook = Callable[[RetryDetails], None]


class RetryPolicy:
    """Runs calls with retries. See the module docstring for the rules.

    Args:
        config: the numbers (default :class:`RetryConfig()`).
        budget: the shared retry budget (default: one built from ``config``).
        uniform: the random source for jitter, ``uniform(a, b)`` (inject for determinism).
        sleep: how to wait (default :func:`asyncio.sleep`).
        clock: for the deadline (default the system clock).
        stats: counters to add to.
        on_retry: hooks called before each retry; an exception in a hook is logged and ignored.
    """

    def __init__(
        self,
        config: RetryConfig | None = None,
        *,
        budget: RetryBudget | None = None,
        uniform: Callable[[float, float], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Clock | None = None,
        stats: ResilienceStats | None = None,
        on_retry: Sequence[RetryHook] = (),
    ) -> None:
        if config is not None and not isinstance(config, RetryConfig):
            raise ConfigurationError(f"config must be a RetryConfig, got {type(config).__name__}")
        self.config = config or RetryConfig()
        self._clock = clock or SystemClock()
        self.budget = budget or RetryBudget.from_config(self.config, clock=self._clock)
        self._uniform = uniform or random.uniform
        self._sleep = sleep or asyncio.sleep
        self.stats = stats or ResilienceStats()
        self._hooks = list(on_retry)

    def __repr__(self) -> str:
        return f"RetryPolicy({self.config!r})"

    def backoff(self, retry: int) -> float:
        """The delay before retry number ``retry`` (from 0); zero in test mode."""
        if _testing:
            return 0.0
        c = self.config
        return compute_backoff(
            retry,
            initial_delay=c.initial_delay,
            multiplier=c.backoff_multiplier,
            max_backoff=c.max_backoff,
            uniform=self._uniform,
        )

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        operation: str = "call",
        queue_url: str | None = None,
    ) -> T:
        """``await fn()`` until it succeeds or may not be retried any more.

        Raises:
            The last attempt's exception, unchanged.
        """
        started = self._clock.monotonic()
        retries = 0
        while True:
            self.stats.add("attempts")
            try:
                result = await fn()
            except Exception as exc:
                delay = self._retry_delay(exc, retries, started)
                if delay is None:
                    raise
                retries += 1
                self._before_retry(operation, queue_url, retries, delay, exc, started, None)
                await self._sleep(delay)
                continue
            self.budget.record_success()
            return result

    async def call_batch(
        self,
        fn: Callable[[list[E]], Awaitable[BatchResult[S]]],
        entries: Sequence[E],
        *,
        operation: str = "batch",
        queue_url: str | None = None,
    ) -> BatchResult[S]:
        """Send a batch, then only its retryable failed entries again, re-batched.

        A whole-request failure is retried like :meth:`call`. If it cannot be retried and no
        entry has been answered yet it is raised; once some entries have been answered, the
        unanswered ones are reported as failed entries instead, so no success is lost.

        Raises:
            The whole-request error, when no entry was answered.
        """
        by_id = {entry.id: entry for entry in entries}
        pending: list[E] = list(entries)
        successful: list[S] = []
        failed: list[BatchFailure] = []
        started = self._clock.monotonic()
        retries = 0
        while True:
            self.stats.add("attempts")
            try:
                result = await fn(pending)
            except Exception as exc:
                delay = self._retry_delay(exc, retries, started)
                if delay is None:
                    if not successful and not failed:
                        raise
                    failed.extend(_as_failures(pending, exc))
                    return BatchResult(successful, failed)
                retries += 1
                self._before_retry(operation, queue_url, retries, delay, exc, started, len(pending))
                await self._sleep(delay)
                continue
            self.budget.record_success()
            successful.extend(result.successful)
            retry_these = [f for f in result.failed if f.retryable and f.id in by_id]
            failed.extend(f for f in result.failed if not (f.retryable and f.id in by_id))
            if not retry_these:
                return BatchResult(successful, failed)
            first = retry_these[0].to_exception()
            delay = self._retry_delay(first, retries, started)
            if delay is None:
                failed.extend(retry_these)
                return BatchResult(successful, failed)
            retries += 1
            pending = [by_id[f.id] for f in retry_these]
            self.stats.add("retried_entries", len(pending))
            self._before_retry(operation, queue_url, retries, delay, first, started, len(pending))
            await self._sleep(delay)

    # -- internals --------------------------------------------------------------------------------

    def _retry_delay(self, exc: BaseException, retries: int, started: float) -> float | None:
        """The backoff before the next retry, or ``None`` if the error may not be retried."""
        if not isinstance(exc, SQSError) or not exc.retryable:
            return None
        if retries >= self.config.max_retries:
            return None
        delay = self.backoff(retries)
        deadline = self.config.deadline
        if deadline is not None and self._clock.monotonic() + delay - started > deadline:
            self.stats.add("deadline_exceeded")
            return None
        if not self.budget.try_spend():
            self.stats.add("budget_exhausted")
            logger.warning(
                "retry budget exhausted; not retrying %s",
                exc.actual_code,
                extra={"error_code": exc.actual_code, "retries": retries},
            )
            return None
        return delay

    def _before_retry(
        self,
        operation: str,
        queue_url: str | None,
        retry: int,
        delay: float,
        error: BaseException,
        started: float,
        entries: int | None,
    ) -> None:
        self.stats.add("retries")
        details = RetryDetails(
            operation=operation,
            queue_url=queue_url,
            retry=retry,
            delay=delay,
            error=error,
            elapsed=self._clock.monotonic() - started,
            entries=entries,
        )
        logger.info(
            "retrying %s (retry %d of %d) in %.3f s after %s",
            operation,
            retry,
            self.config.max_retries,
            delay,
            error,
            extra={
                "operation": operation,
                "queue_url": queue_url,
                "retry": retry,
                "max_retries": self.config.max_retries,
                "delay_seconds": delay,
                "error_code": getattr(error, "actual_code", type(error).__name__),
                "entries": entries,
            },
        )
        for hook in self._hooks:
            try:
                hook(details)
            except Exception:
                logger.exception("a retry hook failed", extra={"operation": operation})


def _as_failures(entries: Sequence[_HasId], exc: Exception) -> list[BatchFailure]:
    """Unanswered entries of a batch whose request failed after other entries were answered."""
    if isinstance(exc, SQSError):
        code, message, sender_fault = exc.actual_code, exc.message, exc.sender_fault
    elif isinstance(exc, CircuitOpenError):
        # Nothing was sent; report it in the vocabulary entries use: retryable, not our fault.
        code, message, sender_fault = "ServiceUnavailable", str(exc), False
    else:
        code, message, sender_fault = "InternalError", f"{type(exc).__name__}: {exc}", False
    return [
        BatchFailure(id=e.id, code=code, message=message, sender_fault=sender_fault)
        for e in entries
    ]
