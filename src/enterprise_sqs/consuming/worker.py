"""Handling a unit of messages: decode, call the handler, decide each message's fate.

A handler is ``async def handler(message, context)`` or a plain function, which runs in the
consumer's thread pool (a plain function cannot be interrupted: past ``handler_timeout`` its
message is retried while the thread runs on). A batch handler takes ``list[MessageContext]``
(decoded bodies in ``context.message``) and returns which messages failed: ``None`` (none), an
iterable of message ids or contexts (retried), or a mapping ``message_id → exception`` (each
exception decides that message's fate). A batch handler that raises fails the whole batch.

Fates (see :mod:`.settle`): success → delete; :class:`~enterprise_sqs.errors.ValidationError`,
pydantic's ValidationError, an undecodable body or a ``non_retryable`` class → dead-letter queue
(or delete, logged and counted); :class:`~enterprise_sqs.errors.Retry` → visibility ``delay``;
anything else, and a timeout → visibility by exponential backoff from the receive count.

FIFO: after a message of a group is retried, the rest of that group's messages in the unit are
released (visibility 0) without being handled, so nothing overtakes it. A dead-lettered message
leaves the group for good, so the group goes on.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from enterprise_sqs.codecs.base import CodecContext, Envelope, decode_all
from enterprise_sqs.consuming.context import InFlight, MessageContext
from enterprise_sqs.consuming.decode import Decoder, is_non_retryable
from enterprise_sqs.consuming.events import ConsumerEvent, ConsumerMeter, ConsumerStats, EventBus
from enterprise_sqs.consuming.heartbeat import Heartbeat
from enterprise_sqs.consuming.options import MAX_VISIBILITY, ConsumerOptions
from enterprise_sqs.consuming.policy import check_policy, policy_middleware
from enterprise_sqs.consuming.scheduler import Unit
from enterprise_sqs.consuming.settle import Settler, retry_delay
from enterprise_sqs.errors import HandlerTimeoutError, MessageAccessDenied, Retry
from enterprise_sqs.queues import QueueInfo

__all__ = ["Fate", "Processor", "is_async_callable"]

logger = logging.getLogger(__name__)

Fate = Literal["processed", "retried", "dead_lettered", "discarded", "released"]
_STOPS_GROUP = frozenset({"retried", "released"})


def is_async_callable(fn: object) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004  # an object whose __call__ is async
    )


class Processor:
    """Runs one consumer's handler over units and settles every message exactly once."""

    def __init__(
        self,
        *,
        handler: Callable[..., Any],
        batch: bool,
        options: ConsumerOptions,
        queue: QueueInfo,
        decode: Decoder,
        settler: Settler,
        heartbeat: Heartbeat,
        stats: ConsumerStats,
        events: EventBus,
        meter: ConsumerMeter | None = None,
        executor: ThreadPoolExecutor | None,
        stopping: Callable[[], bool],
    ) -> None:
        self._handler = handler
        self._batch = batch
        self._async = is_async_callable(handler)
        self._options = options
        self._queue = queue
        self._name = queue.name
        self._decode = decode
        self._settler = settler
        self._heartbeat = heartbeat
        self._stats = stats
        self._events = events
        self._meter = meter
        self._executor = executor
        self._stopping = stopping
        self._timeout = options.handler_timeout
        self._throttle = options.throttle_delay_ms / 1000
        self._fifo = queue.fifo
        self._codecs = options.codecs
        self._codec_context = CodecContext(
            queue_name=queue.name, queue_url=queue.url, queue_arn=queue.arn
        )
        self._middleware = options.middleware
        self._policy = options.policy
        if options.policy is not None:  # access control comes before every other middleware
            self._middleware = (policy_middleware(options.policy), *options.middleware)

    # -- units ------------------------------------------------------------------------------------

    async def run_unit(self, unit: Unit) -> None:
        records = unit.records
        try:
            if self._batch:
                batch = list(records)
                records.clear()
                await self._run_batch(batch)
            else:
                while records:
                    if self._stopping():
                        break
                    record = records.popleft()
                    fate = await self._run_one(record)
                    if self._throttle:
                        await asyncio.sleep(self._throttle)
                    if self._fifo and fate in _STOPS_GROUP:
                        break  # the rest of the group must not overtake this message
        finally:
            # Whatever was not handled (a FIFO group stopped, a shutdown, a cancellation)
            # goes back to the queue at once.
            while records:
                self.release(records.popleft())

    def release(self, record: InFlight) -> None:
        if record.settled:
            return
        self._stats.released += 1
        self._settler.change(record, 0)
        self._emit("released", record)

    # -- one message ------------------------------------------------------------------------------

    async def _run_one(self, record: InFlight) -> Fate:
        context = MessageContext(record, self._queue, self._heartbeat.extend)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            message = await self._decoded(record)
            context.message = message
            if self._middleware:
                await self._through_middleware(message, context)
            else:
                await self._call(self._handler, message, context)
        except asyncio.CancelledError:
            self.release(record)
            raise
        except Exception as exc:
            return await self._failed(record, exc, loop.time() - started)
        duration = loop.time() - started
        self._stats.processed += 1
        self._stats.add_processing_time(duration)
        self._settler.delete(record)
        self._emit("processed", record, duration=duration)
        return "processed"

    async def _decoded(self, record: InFlight) -> Any:
        """The body through the codecs (in reverse), then through the decoder."""
        body = record.message.body
        if self._codecs:
            envelope = await decode_all(
                self._codecs,
                Envelope(body=body, attributes=record.message.message_attributes),
                dataclasses.replace(self._codec_context, message_id=record.message.message_id),
            )
            body = envelope.body
        return self._decode(body)

    async def _through_middleware(self, message: Any, context: MessageContext) -> Any:
        async def call_handler() -> Any:
            return await self._call(self._handler, message, context)

        call: Callable[[], Awaitable[Any]] = call_handler
        for middleware in reversed(self._middleware):
            call = functools.partial(middleware, context, call)
        return await call()

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        timeout = self._timeout
        if self._async:
            if timeout is None:
                return await fn(*args)
            return await self._with_timeout(fn(*args), timeout)
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        future: Awaitable[Any] = loop.run_in_executor(self._executor, call)
        result = await (future if timeout is None else self._with_timeout(future, timeout))
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            result = await result
        return result

    @staticmethod
    async def _with_timeout(awaitable: Awaitable[Any], timeout: float) -> Any:  # noqa: ASYNC109  # it is the asyncio.timeout wrapper
        try:
            async with asyncio.timeout(timeout) as scope:
                return await awaitable
        except TimeoutError as exc:
            if scope.expired():
                raise HandlerTimeoutError(
                    f"the handler ran longer than handler_timeout={timeout} s"
                ) from exc
            raise

    async def _failed(self, record: InFlight, error: BaseException, duration: float) -> Fate:
        stats = self._stats
        stats.add_processing_time(duration)
        if isinstance(error, Retry):
            return self._retry(record, error, error.delay, duration)
        if isinstance(error, MessageAccessDenied):
            return await self._denied(record, error)
        stats.failed += 1
        if is_non_retryable(error, self._options.non_retryable):
            fate: Fate = await self._settler.dead_letter(record, error)  # type: ignore[assignment]  # returns one of three fates
            if fate == "dead_lettered":
                stats.dead_lettered += 1
            elif fate == "discarded":
                stats.discarded += 1
            else:
                stats.retried += 1
            self._emit(fate, record, error=error, duration=duration)
            return fate
        if isinstance(error, HandlerTimeoutError):
            stats.timed_out += 1
            self._emit("timed_out", record, error=error, duration=duration)
        logger.warning(
            "handler failed; the message will be retried",
            extra={"queue": self._name, "message_id": record.message.message_id},
            exc_info=error,
        )
        self._emit("failed", record, error=error, duration=duration)
        return self._retry(record, error, None, duration)

    async def _denied(self, record: InFlight, error: MessageAccessDenied) -> Fate:
        """A message the policy refused: never handled, never silently dropped."""
        self._stats.denied += 1
        action = self._options.on_denied
        logger.warning(
            "access denied: message not processed (%s)",
            "sent to the dead-letter queue" if action == "dead_letter" else "deleted",
            extra={
                "queue": self._name,
                "message_id": record.message.message_id,
                "group_id": record.message.attributes.get("MessageGroupId"),
            },
        )
        self._emit("denied", record, error=error)
        if action == "delete":
            self._settler.delete(record)
            return "discarded"
        fate: Fate = await self._settler.dead_letter(record, error)  # type: ignore[assignment]  # returns one of three fates
        if fate == "dead_lettered":
            self._stats.dead_lettered += 1
        elif fate == "discarded":
            self._stats.discarded += 1
        else:
            self._stats.retried += 1
        self._emit(fate, record, error=error)
        return fate

    def _retry(
        self, record: InFlight, error: BaseException, delay: float | None, duration: float
    ) -> Fate:
        if delay is None:
            count = record.message.attributes.get("ApproximateReceiveCount", "1")
            seconds = retry_delay(
                int(count) if count.isdigit() else 1,
                base=self._options.retry_base_delay,
                cap=self._options.retry_max_delay,
            )
        else:
            seconds = min(MAX_VISIBILITY, math.ceil(delay))
        self._stats.retried += 1
        self._settler.change(record, seconds)
        self._emit("retried", record, error=error, duration=duration, delay=seconds)
        return "retried"

    # -- batches ----------------------------------------------------------------------------------

    async def _run_batch(self, records: list[InFlight]) -> None:
        contexts: list[MessageContext] = []
        for record in records:
            context = MessageContext(record, self._queue, self._heartbeat.extend)
            try:
                context.message = await self._decoded(record)
                if self._policy is not None:
                    await check_policy(self._policy, context.message, context)
            except Exception as exc:
                await self._failed(record, exc, 0.0)
                continue
            contexts.append(context)
        if not contexts:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        failures: dict[str, BaseException] = {}
        try:
            outcome = await self._call(self._handler, contexts)
            failures = _failures(outcome, contexts)
        except asyncio.CancelledError:
            for context in contexts:
                self.release(context._record)
            raise
        except Exception as exc:
            failures = {c.message_id: exc for c in contexts}
        duration = loop.time() - started
        stopped_groups: set[str | None] = set()
        for context in contexts:
            record = context._record
            if self._fifo and context.group_id in stopped_groups:
                self.release(record)  # an earlier message of its group failed: keep the order
                continue
            error = failures.get(context.message_id)
            if error is None:
                self._stats.processed += 1
                self._settler.delete(record)
                self._emit("processed", record, duration=duration)
                fate: Fate = "processed"
            else:
                fate = await self._failed(record, error, duration)
            if fate in _STOPS_GROUP:
                stopped_groups.add(context.group_id)
        self._stats.add_processing_time(duration)

    # -- events -----------------------------------------------------------------------------------

    def _emit(
        self,
        kind: str,
        record: InFlight,
        *,
        error: BaseException | None = None,
        duration: float | None = None,
        delay: int | None = None,
    ) -> None:
        if self._meter is not None:
            self._meter.record(kind, duration)
        if not self._events.wants(kind):
            return
        count = record.message.attributes.get("ApproximateReceiveCount", "")
        self._events.emit(
            ConsumerEvent(
                kind=kind,  # type: ignore[arg-type]  # callers pass EventKind literals
                queue=self._name,
                message_id=record.message.message_id,
                receive_count=int(count) if count.isdigit() else None,
                error=error,
                duration=duration,
                delay=delay,
            )
        )


class _HandlerReportedError(Exception):
    """A batch handler reported a message as failed without saying why."""


def _failures(outcome: object, contexts: list[MessageContext]) -> dict[str, BaseException]:
    if outcome is None:
        return {}
    if isinstance(outcome, Mapping):
        failures: dict[str, BaseException] = {}
        for key, error in outcome.items():
            message_id = key.message_id if isinstance(key, MessageContext) else str(key)
            failures[message_id] = (
                error
                if isinstance(error, BaseException)
                else _HandlerReportedError(f"the batch handler reported {error!r}")
            )
        return failures
    if isinstance(outcome, Iterable) and not isinstance(outcome, str | bytes):
        return {
            (item.message_id if isinstance(item, MessageContext) else str(item)): (
                _HandlerReportedError("the batch handler reported this message as failed")
            )
            for item in outcome
        }
    raise TypeError(
        "a batch handler must return None, message ids, contexts, or a mapping "
        f"message_id -> exception; it returned {type(outcome).__name__}"
    )
