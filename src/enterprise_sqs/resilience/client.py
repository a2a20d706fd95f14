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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.clock import Clock
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.errors import CircuitOpenError, ConfigurationError
from enterprise_sqs.models import (
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    MoveTask,
    QueuePage,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
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


class ResilientBackend:
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
        if not isinstance(backend, Backend):
            raise ConfigurationError(
                f"backend must implement the Backend protocol, got {type(backend).__name__}"
            )
        if circuit_breaker is not None and not isinstance(circuit_breaker, CircuitBreakerConfig):
            raise ConfigurationError(
                "circuit_breaker must be a CircuitBreakerConfig, "
                f"got {type(circuit_breaker).__name__}"
            )
        self._inner = backend
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

    @property
    def inner(self) -> Backend:
        """The protected backend."""
        return self._inner

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

    # -- queues -----------------------------------------------------------------------------------

    async def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        return await self._call(
            "create_queue", None, lambda: self._inner.create_queue(name, attributes, tags)
        )

    async def get_queue_url(self, name: str, *, owner_account_id: str | None = None) -> str:
        return await self._call(
            "get_queue_url",
            None,
            lambda: self._inner.get_queue_url(name, owner_account_id=owner_account_id),
        )

    async def delete_queue(self, queue_url: str) -> None:
        await self._call("delete_queue", queue_url, lambda: self._inner.delete_queue(queue_url))

    async def list_queues(
        self,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return await self._call(
            "list_queues",
            None,
            lambda: self._inner.list_queues(
                prefix=prefix, max_results=max_results, next_token=next_token
            ),
        )

    async def get_queue_attributes(
        self, queue_url: str, names: Sequence[str] = ("All",)
    ) -> dict[str, str]:
        return await self._call(
            "get_queue_attributes",
            queue_url,
            lambda: self._inner.get_queue_attributes(queue_url, names),
        )

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self._call(
            "set_queue_attributes",
            queue_url,
            lambda: self._inner.set_queue_attributes(queue_url, attributes),
        )

    async def purge_queue(self, queue_url: str) -> None:
        await self._call("purge_queue", queue_url, lambda: self._inner.purge_queue(queue_url))

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        await self._call("tag_queue", queue_url, lambda: self._inner.tag_queue(queue_url, tags))

    async def untag_queue(self, queue_url: str, tag_keys: Sequence[str]) -> None:
        await self._call(
            "untag_queue", queue_url, lambda: self._inner.untag_queue(queue_url, tag_keys)
        )

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        return await self._call(
            "list_queue_tags", queue_url, lambda: self._inner.list_queue_tags(queue_url)
        )

    async def list_dead_letter_source_queues(
        self,
        queue_url: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return await self._call(
            "list_dead_letter_source_queues",
            queue_url,
            lambda: self._inner.list_dead_letter_source_queues(
                queue_url, max_results=max_results, next_token=next_token
            ),
        )

    # -- messages ---------------------------------------------------------------------------------

    async def send_batch(
        self, queue_url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SendSuccess]:
        return await self._call_batch(
            "send_batch",
            queue_url,
            entries,
            lambda pending: self._inner.send_batch(queue_url, pending),
        )

    async def receive(
        self,
        queue_url: str,
        *,
        max_messages: int = 1,
        wait_time_seconds: int | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        receive_request_attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        return await self._call(
            "receive",
            queue_url,
            lambda: self._inner.receive(
                queue_url,
                max_messages=max_messages,
                wait_time_seconds=wait_time_seconds,
                visibility_timeout=visibility_timeout,
                attribute_names=attribute_names,
                message_attribute_names=message_attribute_names,
                receive_request_attempt_id=receive_request_attempt_id,
            ),
        )

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        return await self._call_batch(
            "delete_batch",
            queue_url,
            entries,
            lambda pending: self._inner.delete_batch(queue_url, pending),
        )

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        return await self._call_batch(
            "change_visibility_batch",
            queue_url,
            entries,
            lambda pending: self._inner.change_visibility_batch(queue_url, pending),
        )

    async def send_message(self, queue_url: str, entry: SendEntry) -> SendSuccess:
        return await self._call(
            "send_message", queue_url, lambda: self._inner.send_message(queue_url, entry)
        )

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        await self._call(
            "delete_message",
            queue_url,
            lambda: self._inner.delete_message(queue_url, receipt_handle),
        )

    async def change_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        await self._call(
            "change_visibility",
            queue_url,
            lambda: self._inner.change_visibility(queue_url, receipt_handle, visibility_timeout),
        )

    # -- message move tasks -----------------------------------------------------------------------

    async def start_message_move_task(
        self,
        source_arn: str,
        *,
        destination_arn: str | None = None,
        max_messages_per_second: int | None = None,
    ) -> str:
        return await self._call(
            "start_message_move_task",
            None,
            lambda: self._inner.start_message_move_task(
                source_arn,
                destination_arn=destination_arn,
                max_messages_per_second=max_messages_per_second,
            ),
        )

    async def list_message_move_tasks(
        self, source_arn: str, *, max_results: int | None = None
    ) -> list[MoveTask]:
        return await self._call(
            "list_message_move_tasks",
            None,
            lambda: self._inner.list_message_move_tasks(source_arn, max_results=max_results),
        )

    async def cancel_message_move_task(self, task_handle: str) -> int:
        return await self._call(
            "cancel_message_move_task",
            None,
            lambda: self._inner.cancel_message_move_task(task_handle),
        )

    # -- lifecycle --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the protected backend (no retry, no breaker: closing must always happen)."""
        await self._inner.aclose()

    async def __aenter__(self) -> ResilientBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
