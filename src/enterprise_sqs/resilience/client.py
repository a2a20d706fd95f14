"""The resilient client: any :class:`~enterprise_sqs.backends.base.Backend` behind retry, breaker.

:class:`ResilientBackend` implements the Backend protocol itself, so publishers, consumers and
users call it exactly as they would call a backend. Every call goes::

    caller ─▶ RetryPolicy ─▶ CircuitBreaker ─▶ backend        (each attempt passes the breaker)

Retry is outside the breaker on purpose: every attempt is one call the breaker sees, so a failing
endpoint trips the breaker after ``failure_threshold`` attempts, however they are spread over
calls; and once it is open the next attempt fails fast with
:class:`~enterprise_sqs.errors.CircuitOpenError`, which is never retried — an outage costs no
further requests and no backoff sleeps.

Batch calls (``send_batch``, ``delete_batch``, ``change_visibility_batch``) retry only the failed
entries that are not the sender's fault. A batch answered with some failed entries is a success
for the breaker: the endpoint answered.

There is one breaker per client by default; ``per_queue_breakers=True`` gives each queue URL its
own (calls that name no queue — create, list, get_queue_url, move tasks — use the client's).
Retries, rejections and transitions are logged with structured ``extra=`` fields and counted in
:attr:`ResilientBackend.stats`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.delegating import DelegatingBackend
from enterprise_sqs.clock import Clock
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.errors import CircuitOpenError, ConfigurationError
from enterprise_sqs.models import (
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    SendEntry,
)
from enterprise_sqs.resilience.breaker import (
    CircuitBreaker,
    CircuitBreakerStatus,
    CircuitState,
    CircuitTransition,
    TransitionListener,
)
from enterprise_sqs.resilience.retry import RetryHook, RetryPolicy
from enterprise_sqs.resilience.stats import ResilienceStats

__all__ = ["ResilientBackend"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")
E = TypeVar("E", SendEntry, DeleteEntry, ChangeVisibilityEntry)

_TRANSITION_COUNTERS = {
    CircuitState.OPEN: "opened",
    CircuitState.HALF_OPEN: "half_opened",
    CircuitState.CLOSED: "closed",
}


class ResilientBackend(DelegatingBackend):
    """A Backend that retries and trips a circuit breaker around another Backend.

    Args:
        backend: the backend to protect (AWS, the embedded engine, a :class:`FaultyBackend`).
        circuit_breaker: breaker settings (default :class:`CircuitBreakerConfig()`).
        retry: retry settings (default :class:`RetryConfig()`).
        per_queue_breakers: one breaker per queue URL instead of one for the client.
        clock: for breaker windows, deadlines and the retry budget (inject in tests).
        uniform: the jitter's random source, ``uniform(a, b)``.
        sleep: how to wait between retries (default :func:`asyncio.sleep`).
        is_failure: which exceptions the breaker counts (default: retryable SQS errors).
        on_transition: listeners for every breaker transition.
        on_retry: hooks called before every retry.

    Raises:
        ConfigurationError: ``backend`` is not a Backend or a setting is of the wrong type.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        circuit_breaker: CircuitBreakerConfig | None = None,
        retry: RetryConfig | None = None,
        per_queue_breakers: bool = False,
        clock: Clock | None = None,
        uniform: Callable[[float, float], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        is_failure: Callable[[BaseException], bool] | None = None,
        on_transition: Sequence[TransitionListener] = (),
        on_retry: Sequence[RetryHook] = (),
    ) -> None:
        super().__init__(backend)
        if circuit_breaker is not None and not isinstance(circuit_breaker, CircuitBreakerConfig):
            raise ConfigurationError(
                "circuit_breaker must be a CircuitBreakerConfig, "
                f"got {type(circuit_breaker).__name__}"
            )
        self._breaker_config = circuit_breaker or CircuitBreakerConfig()
        self._per_queue = bool(per_queue_breakers)
        self._clock = clock
        self._is_failure = is_failure
        self._listeners = [self._count_transition, *on_transition]
        self.stats = ResilienceStats()
        self.retry_policy = RetryPolicy(
            retry, uniform=uniform, sleep=sleep, clock=clock, stats=self.stats, on_retry=on_retry
        )
        self._lock = threading.Lock()
        self._breaker = self._new_breaker(backend.name)
        self._queue_breakers: dict[str, CircuitBreaker] = {}

    @classmethod
    def from_config(
        cls,
        backend: Backend,
        config: EnterpriseSQSConfig,
        *,
        per_queue_breakers: bool = False,
        clock: Clock | None = None,
    ) -> ResilientBackend:
        """Wrap ``backend`` with the breaker and retry sections of ``config``."""
        return cls(
            backend,
            circuit_breaker=config.circuit_breaker,
            retry=config.retry,
            per_queue_breakers=per_queue_breakers,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"ResilientBackend({self._inner.name!r}, breaker={self._breaker.state.value})"

    @property
    def cancel_safe_receive(self) -> bool:
        """Whether cancelling a receive of the wrapped backend strands no messages."""
        return bool(getattr(self._inner, "cancel_safe_receive", False))

    @property
    def name(self) -> str:
        return self._inner.name

    # -- breakers ---------------------------------------------------------------------------------

    def breaker(self, queue_url: str | None = None) -> CircuitBreaker:
        """The breaker a call on ``queue_url`` goes through (the client's when not per queue)."""
        if not self._per_queue or queue_url is None:
            return self._breaker
        with self._lock:
            breaker = self._queue_breakers.get(queue_url)
            if breaker is None:
                breaker = self._queue_breakers[queue_url] = self._new_breaker(queue_url)
            return breaker

    def get_circuit_breaker_status(self, queue_url: str | None = None) -> CircuitBreakerStatus:
        """The seed's ``getCircuitBreakerStatus()``: the client's breaker, or a queue's."""
        return self.breaker(queue_url).get_circuit_breaker_status()

    def circuit_breakers(self) -> dict[str, CircuitBreakerStatus]:
        """Every breaker's status, by breaker name."""
        with self._lock:
            breakers = [self._breaker, *self._queue_breakers.values()]
        return {b.name: b.get_circuit_breaker_status() for b in breakers}

    def _new_breaker(self, name: str) -> CircuitBreaker:
        return CircuitBreaker(
            self._breaker_config,
            name=name,
            clock=self._clock,
            is_failure=self._is_failure,
            listeners=self._listeners,
        )

    def _count_transition(self, transition: CircuitTransition) -> None:
        self.stats.add(_TRANSITION_COUNTERS[transition.to_state])

    # -- the two call paths -----------------------------------------------------------------------

    async def _call(
        self, operation: str, queue_url: str | None, fn: Callable[[], Awaitable[T]]
    ) -> T:
        breaker = self.breaker(queue_url)

        async def attempt() -> T:
            try:
                return await breaker.call(fn)
            except CircuitOpenError as exc:
                self._rejected(operation, queue_url, exc)
                raise

        self.stats.add("calls")
        try:
            result = await self.retry_policy.call(attempt, operation=operation, queue_url=queue_url)
        except BaseException:
            self.stats.add("failures")
            raise
        self.stats.add("successes")
        return result

    async def _call_batch(
        self,
        operation: str,
        queue_url: str,
        entries: Sequence[E],
        fn: Callable[[list[E]], Awaitable[BatchResult[S]]],
    ) -> BatchResult[S]:
        breaker = self.breaker(queue_url)

        async def attempt(pending: list[E]) -> BatchResult[S]:
            try:
                return await breaker.call(fn, pending)
            except CircuitOpenError as exc:
                self._rejected(operation, queue_url, exc)
                raise

        self.stats.add("calls")
        try:
            result = await self.retry_policy.call_batch(
                attempt, entries, operation=operation, queue_url=queue_url
            )
        except BaseException:
            self.stats.add("failures")
            raise
        self.stats.add("successes")
        return result

    def _rejected(self, operation: str, queue_url: str | None, exc: CircuitOpenError) -> None:
        self.stats.add("rejections")
        logger.info(
            "circuit breaker %s refused %s",
            exc.breaker,
            operation,
            extra={
                "breaker": exc.breaker,
                "operation": operation,
                "queue_url": queue_url,
                "retry_after": exc.retry_after,
            },
        )

    # -- lifecycle --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the protected backend (no retry, no breaker: closing must always happen)."""
        await self._inner.aclose()

    async def __aenter__(self) -> ResilientBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
