"""``EngineBackend``: the embedded engine behind the :class:`~enterprise_sqs.backends.base.Backend`
protocol, for asyncio.

Every SQLite call runs on the store's worker thread; this module only hands work over, and owns
what needs the event loop:

- long polling: a receive that finds nothing waits on a future that sends, visibility changes,
  purges and clock advances (``ManualClock.on_advance``) resolve, so it answers as soon as a
  message is there, without polling. For a file other processes may write, it also checks
  ``PRAGMA data_version`` every 100 ms while it waits. Real time bounds the wait itself.
- message move tasks: one asyncio task per running move task, sleeping until the engine's clock
  reaches the next second of its rate budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.engine import messages, movetasks, queues, receiving
from enterprise_sqs.engine.context import Engine
from enterprise_sqs.engine.store import open_store
from enterprise_sqs.engine.validation import check_wait_time
from enterprise_sqs.errors import (
    ClientClosedError,
    ConfigurationError,
    InvalidParameterValue,
    SQSError,
)
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

__all__ = ["EngineBackend"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How often a waiting long poll on a file checks whether another process wrote to it.
CROSS_PROCESS_POLL_SECONDS = 0.1
_CLOCK = -1  # waiter key for "the clock moved" (move-task runners)
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d+|[a-z0-9-]{1,64}")
_ACCOUNT = re.compile(r"\d{12}")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Waiters:
    """Futures waiting for a queue (or the clock) to change; woken from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[int, set[asyncio.Future[None]]] = {}
        self.generation = 0

    def add(self, key: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._futures.setdefault(key, set()).add(future)
        return future

    def discard(self, key: int, future: asyncio.Future[None]) -> None:
        with self._lock:
            waiting = self._futures.get(key)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._futures[key]

    def _wake(self, futures: list[asyncio.Future[None]]) -> None:
        if not futures:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # the store's worker thread
            running = None
        for future in futures:
            loop = future.get_loop()
            if loop is running:
                # The in-memory store runs on the loop: resolve now, without a self-pipe write
                # and an extra loop iteration to read it back.
                _resolve(future)
                continue
            with contextlib.suppress(RuntimeError):  # its loop is already closed
                loop.call_soon_threadsafe(_resolve, future)

    def wake(self, key: int) -> None:
        with self._lock:
            self.generation += 1
            futures = list(self._futures.get(key, ()))
        self._wake(futures)

    def wake_all(self) -> None:
        with self._lock:
            self.generation += 1
            futures = [f for waiting in self._futures.values() for f in waiting]
        self._wake(futures)


def _check_args(
    path: object, clock: object, region: object, account_id: object, base_url: object
) -> tuple[str | None, Clock, str, str, str]:
    if path is not None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str) or not path or "\x00" in path:
            raise ConfigurationError(f"path must be a non-empty file path or None, got {path!r}")
    if clock is None:
        clock = SystemClock()
    elif not (
        callable(getattr(clock, "time", None)) and callable(getattr(clock, "monotonic", None))
    ):
        raise ConfigurationError(f"clock must provide time() and monotonic(), got {clock!r}")
    if not isinstance(region, str) or _REGION.fullmatch(region) is None:
        raise ConfigurationError(
            f"region must be an AWS region name like 'us-east-1', got {region!r}"
        )
    if not isinstance(account_id, str) or _ACCOUNT.fullmatch(account_id) is None:
        raise ConfigurationError(f"account_id must be 12 digits, got {account_id!r}")
    if (
        not isinstance(base_url, str)
        or not base_url.startswith(("http://", "https://"))
        or len(base_url.rstrip("/")) <= len("https://")
    ):
        raise ConfigurationError(f"base_url must be an http(s):// URL, got {base_url!r}")
    return path, clock, region, account_id, base_url.rstrip("/")  # type: ignore[return-value]  # checked above


class EngineBackend:
    """The embedded SQS engine: ``EngineBackend(None)`` in memory, ``EngineBackend("q.db")`` on
    a durable SQLite file that several processes may share.

    Raises:
        ConfigurationError: bad arguments, or a file that cannot be opened as an engine store.
    """

    def __init__(
        self,
        path: str | None,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        base_url: str = "http://localhost:9324",
    ) -> None:
        path, clock, region, account_id, base_url = _check_args(
            path, clock, region, account_id, base_url
        )
        self._path = path
        self._clock = clock
        self._store = open_store(path)
        assert self._store.conn is not None  # Store raises when it cannot open
        self._engine = Engine(
            self._store,
            self._store.conn,
            self._store.secret,
            clock,
            region=region,
            account_id=account_id,
            base_url=base_url,
            durable=path is not None,
        )
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._closed = False
        self._closing = False
        self._waiters = _Waiters()
        self._runners: set[asyncio.Task[None]] = set()
        on_advance = getattr(clock, "on_advance", None)
        self._manual = callable(on_advance)
        self._unlisten: Callable[[], None] | None = (
            on_advance(self._waiters.wake_all) if callable(on_advance) else None
        )
        if path is not None:
            self._store.submit(movetasks.fail_orphans, self._engine)

    # Cancelling a receive here never strands messages: a long poll is cancelled while it waits
    # (nothing claimed yet), and a claim already running is given back at once (see receive).
    # Consumers use this to stop without waiting for a long poll to run out.
    cancel_safe_receive = True

    @property
    def name(self) -> str:
        return "memory://" if self._path is None else f"sqlite:///{self._path}"

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"EngineBackend({self.name!r}, {state})"

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed; open a new backend")
        return await self._store.run(fn, self._engine, *args)

    # -- queues ---------------------------------------------------------------------------------

    async def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        return await self._call(queues.create_queue, name, attributes, tags)

    async def get_queue_url(self, name: str, *, owner_account_id: str | None = None) -> str:
        return await self._call(queues.get_queue_url, name, owner_account_id)

    async def delete_queue(self, queue_url: str) -> None:
        queue_id = await self._call(queues.delete_queue, queue_url)
        self._waiters.wake(queue_id)

    async def list_queues(
        self,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return await self._call(queues.list_queues, prefix, max_results, next_token)

    async def get_queue_attributes(
        self, queue_url: str, names: Sequence[str] = ("All",)
    ) -> dict[str, str]:
        return await self._call(queues.get_queue_attributes, queue_url, names)

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self._call(queues.set_queue_attributes, queue_url, attributes)

    async def purge_queue(self, queue_url: str) -> None:
        queue_id = await self._call(queues.purge_queue, queue_url)
        self._waiters.wake(queue_id)

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        await self._call(queues.tag_queue, queue_url, tags)

    async def untag_queue(self, queue_url: str, tag_keys: Sequence[str]) -> None:
        await self._call(queues.untag_queue, queue_url, tag_keys)

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        return await self._call(queues.list_queue_tags, queue_url)

    async def list_dead_letter_source_queues(
        self,
        queue_url: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        return await self._call(
            queues.list_dead_letter_source_queues, queue_url, max_results, next_token
        )

    # -- messages -------------------------------------------------------------------------------

    async def send_batch(
        self, queue_url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SendSuccess]:
        result, queue_id = await self._call(messages.send, queue_url, entries, False)
        if result.successful:
            self._waiters.wake(queue_id)
        return result

    async def send_message(self, queue_url: str, entry: SendEntry) -> SendSuccess:
        if not isinstance(entry, SendEntry):
            raise InvalidParameterValue(f"entry must be a SendEntry, got {type(entry).__name__}")
        result, queue_id = await self._call(messages.send, queue_url, [entry], True)
        self._waiters.wake(queue_id)
        return result.successful[0]

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
        if wait_time_seconds is not None:
            check_wait_time(wait_time_seconds)
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while True:
            generation = self._waiters.generation
            call = self._call(
                receiving.receive,
                queue_url,
                max_messages,
                visibility_timeout,
                attribute_names,
                message_attribute_names,
                receive_request_attempt_id,
                True,
            )
            if self._path is None:
                outcome = await call  # in memory it runs inline: nothing to interrupt half-way
            else:
                claim = asyncio.ensure_future(call)
                try:
                    outcome = await asyncio.shield(claim)
                except asyncio.CancelledError:
                    # The worker thread may be claiming messages for us right now: whatever it
                    # claims goes straight back to the queue instead of waiting out its timeout.
                    claim.add_done_callback(functools.partial(self._give_back, queue_url))
                    raise
            if outcome.dlq_id is not None:
                self._waiters.wake(outcome.dlq_id)
            if outcome.messages:
                return outcome.messages
            wait = outcome.queue_wait_seconds if wait_time_seconds is None else wait_time_seconds
            now = loop.time()
            if deadline is None:
                deadline = now + wait
            remaining = deadline - now
            if remaining <= 0:
                return []
            if generation != self._waiters.generation:
                continue  # something changed while we looked: look again before sleeping
            timeout = remaining
            if outcome.next_visible_at is not None and not self._manual:
                # a delayed or in-flight message becomes visible by itself at that time
                timeout = min(timeout, max(0.0, outcome.next_visible_at - self._clock.time()))
            await self._wait_for_change(outcome.queue_id, timeout, outcome.data_version)
            if self._closed:
                raise ClientClosedError(f"{self!r} was closed during a receive")

    def _give_back(self, queue_url: str, claim: asyncio.Future[Any]) -> None:
        if claim.cancelled() or claim.exception() is not None or self._closing:
            return
        held = claim.result().messages
        if held:
            task = asyncio.get_running_loop().create_task(self._release(queue_url, held))
            self._runners.add(task)
            task.add_done_callback(self._runners.discard)

    async def _release(self, queue_url: str, held: Sequence[ReceivedMessage]) -> None:
        entries = [
            ChangeVisibilityEntry(id=str(i), receipt_handle=m.receipt_handle, visibility_timeout=0)
            for i, m in enumerate(held)
        ]
        result = await self.change_visibility_batch(queue_url, entries)
        if result.failed:
            logger.warning(
                "could not give back messages of a cancelled receive; they return after their "
                "visibility timeout",
                extra={"queue_url": queue_url, "count": len(result.failed)},
            )

    async def _wait_for_change(
        self, queue_id: int, seconds: float, data_version: int | None
    ) -> None:
        """Sleep until the queue may have a message for us, or ``seconds`` pass."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        future = self._waiters.add(queue_id)
        try:
            while True:
                remaining = end - loop.time()
                if remaining <= 0:
                    return
                step = (
                    remaining
                    if data_version is None
                    else min(remaining, CROSS_PROCESS_POLL_SECONDS)
                )
                done, _ = await asyncio.wait({future}, timeout=step)
                if done or self._closed:
                    return
                if data_version is not None:
                    current = await self._call(_data_version)
                    if current != data_version:
                        return  # another process wrote to the file
        finally:
            self._waiters.discard(queue_id, future)

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        _check_entries(entries, DeleteEntry)
        result, wake = await self._call(messages.delete, queue_url, entries, False)
        if wake is not None:
            self._waiters.wake(wake)  # a FIFO group may be free again
        return result

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        entry = DeleteEntry(id="0", receipt_handle=receipt_handle)
        _, wake = await self._call(messages.delete, queue_url, [entry], True)
        if wake is not None:
            self._waiters.wake(wake)

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        _check_entries(entries, ChangeVisibilityEntry)
        result, wake = await self._call(messages.change_visibility, queue_url, entries, False)
        if wake is not None:
            self._waiters.wake(wake)
        return result

    async def change_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        entry = ChangeVisibilityEntry(
            id="0", receipt_handle=receipt_handle, visibility_timeout=visibility_timeout
        )
        _, wake = await self._call(messages.change_visibility, queue_url, [entry], True)
        if wake is not None:
            self._waiters.wake(wake)

    # -- message move tasks ---------------------------------------------------------------------

    async def start_message_move_task(
        self,
        source_arn: str,
        *,
        destination_arn: str | None = None,
        max_messages_per_second: int | None = None,
    ) -> str:
        handle = await self._call(
            movetasks.start, source_arn, destination_arn, max_messages_per_second, self._owner
        )
        runner = asyncio.create_task(self._drive(handle), name=f"esqs-move-task-{handle[:12]}")
        self._runners.add(runner)
        runner.add_done_callback(self._runners.discard)
        return handle

    async def _drive(self, handle: str) -> None:
        """Run one move task to its end, sleeping on the engine's clock between rate slots."""
        while not self._closed:
            try:
                result = await self._call(movetasks.step, handle)
            except ClientClosedError:
                return
            except SQSError as exc:  # the store failed; the task stays RUNNING until reopened
                logger.error("message move task stopped: %s", exc, extra={"task_handle": handle})
                return
            for queue_id in result.woken:
                self._waiters.wake(queue_id)
            if result.finished:
                return
            delay = result.next_due - self._clock.time()
            if delay > 0:
                future = self._waiters.add(_CLOCK)
                try:
                    # a ManualClock wakes us when it moves; real time moves by itself
                    await asyncio.wait({future}, timeout=None if self._manual else delay)
                finally:
                    self._waiters.discard(_CLOCK, future)

    async def list_message_move_tasks(
        self, source_arn: str, *, max_results: int | None = None
    ) -> list[MoveTask]:
        return await self._call(movetasks.list_tasks, source_arn, max_results)

    async def cancel_message_move_task(self, task_handle: str) -> int:
        return await self._call(movetasks.cancel, task_handle)

    # -- lifecycle ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop move tasks, wake long polls (they raise ClientClosedError), close the store."""
        if self._closing:
            return
        self._closing = True
        if self._unlisten is not None:
            self._unlisten()
        runners = list(self._runners)
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        try:
            await self._store.run(movetasks.abandon, self._engine, self._owner)
        except Exception:  # the store may be failing already; closing must go on regardless
            logger.warning(
                "could not mark this engine's running move tasks as failed", exc_info=True
            )
        self._closed = True
        self._waiters.wake_all()
        await self._store.close()

    async def __aenter__(self) -> EngineBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _data_version(engine: Engine) -> int:
    return int(engine.conn.execute("PRAGMA data_version").fetchone()[0])


def _check_entries(entries: Sequence[object], kind: type) -> None:
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InvalidParameterValue(f"entries must be a sequence of {kind.__name__}")
    for entry in entries:
        if not isinstance(entry, kind):
            raise InvalidParameterValue(
                f"entries must be {kind.__name__} objects, got {type(entry).__name__}"
            )
