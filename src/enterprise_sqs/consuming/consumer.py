"""The consumer: ``await consumer.start(handler)`` … ``await consumer.stop()``.

::

    consumer = sqs.create_consumer("events", processing_mode="parallel", batch_size=10)
    await consumer.start(handler)          # returns once polling; handlers run as tasks
    ...
    await consumer.stop()                  # or: async with consumer, or: await consumer.run(fn)

The poll loop receives only when there is room (held messages ≤ concurrency + prefetch), so a
slow handler never makes the consumer hoard messages whose visibility runs out. It pauses while
the circuit breaker is open (a refused call costs no receive count) and backs off after a failed
receive. Workers (:mod:`.worker`) handle the units the scheduler (:mod:`.scheduler`) cuts; the
settler (:mod:`.settle`) deletes, retries and dead-letters; the heartbeat (:mod:`.heartbeat`)
keeps held messages invisible.

Shutdown (:meth:`Consumer.stop`): stop receiving (a long poll in flight is let finish, at most
``wait_time_seconds``, and what it brings is released at once: an abandoned receive could leave
messages invisible until their visibility timeout), release the messages no handler has started
(visibility 0), let running handlers finish, all within ``shutdown_timeout`` seconds, cancel the
handlers still running and release their messages, flush deletes and visibility changes, stop.
:meth:`Consumer.run` does the same on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.consuming.context import InFlight
from enterprise_sqs.consuming.decode import make_decoder
from enterprise_sqs.consuming.events import (
    ConsumerEvent,
    ConsumerMeter,
    ConsumerStats,
    EventBus,
    Observer,
)
from enterprise_sqs.consuming.heartbeat import Heartbeat
from enterprise_sqs.consuming.options import ConsumerOptions
from enterprise_sqs.consuming.scheduler import Scheduler
from enterprise_sqs.consuming.settle import Settler
from enterprise_sqs.consuming.worker import Processor, is_async_callable
from enterprise_sqs.errors import (
    CircuitOpenError,
    ClientClosedError,
    ConfigurationError,
    EnterpriseSQSError,
)
from enterprise_sqs.models import ReceivedMessage
from enterprise_sqs.queues import QueueInfo, QueueResolver
from enterprise_sqs.resilience.retry import compute_backoff, is_testing

__all__ = ["Consumer"]

logger = logging.getLogger(__name__)

_ALL = ("All",)


class Consumer:
    """Consumes one queue with one handler. Create with ``EnterpriseSQS.create_consumer``.

    Args:
        backend: where to receive from (normally the client's resilient backend).
        queue: a queue name or URL.
        options: see :class:`ConsumerOptions`.
        resolver: shares name → URL resolution with the client's publishers.
    """

    def __init__(
        self,
        backend: Backend,
        queue: str,
        options: ConsumerOptions | None = None,
        *,
        resolver: QueueResolver | None = None,
    ) -> None:
        if not isinstance(queue, str) or not queue.strip():
            raise ConfigurationError(f"queue must be a non-empty queue name or URL, got {queue!r}")
        if options is not None and not isinstance(options, ConsumerOptions):
            raise ConfigurationError(
                f"options must be a ConsumerOptions, got {type(options).__name__}"
            )
        self._backend = backend
        self._queue = queue
        self.options = options or ConsumerOptions()
        self._resolver = resolver or QueueResolver(backend)
        self.stats = ConsumerStats()
        self._events = EventBus()
        self._meters: Callable[[str], ConsumerMeter] | None = None
        self._meter: ConsumerMeter | None = None
        self._state = "new"
        self._held: dict[str, InFlight] = {}
        self._room = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._poller: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._info: QueueInfo | None = None
        self._settler: Settler | None = None
        self._scheduler: Scheduler | None = None
        self._processor: Processor | None = None
        self._limit = 0
        self._want = 0
        self._visibility = 0

    def __repr__(self) -> str:
        return f"Consumer(queue={self._queue!r}, state={self._state})"

    @property
    def queue(self) -> str:
        return self._queue

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def in_flight(self) -> int:
        """Messages held right now (received and not yet settled)."""
        return len(self._held)

    def subscribe(
        self, observer: Observer, kinds: Collection[str] | None = None
    ) -> Callable[[], None]:
        """Call ``observer(event)`` for events of ``kinds`` (default all); returns an
        unsubscribe function. An observer that raises is logged and ignored.

        Raises:
            ConfigurationError: ``observer`` is not callable or a kind is unknown.
        """
        return self._events.subscribe(observer, kinds)

    def attach_meters(self, meters: Callable[[str], ConsumerMeter]) -> None:
        """Report every outcome to ``meters(queue_name)`` (how the client's metrics count
        without subscribing to events). Call before :meth:`start`.

        Raises:
            ConfigurationError: the consumer already started, or ``meters`` is not callable.
        """
        if not callable(meters):
            raise ConfigurationError(f"meters must be callable, got {meters!r}")
        if self._state != "new":
            raise ConfigurationError(f"{self!r} already started; attach meters before start()")
        self._meters = meters

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self, handler: Callable[..., Any], *, batch: bool = False) -> None:
        """Resolve the queue, start polling and return; handlers run as tasks until :meth:`stop`.

        ``batch=True`` calls ``handler(contexts)`` with up to ``batch_size`` messages (see
        :mod:`enterprise_sqs.consuming.worker` for what it returns).

        Raises:
            ConfigurationError: ``handler`` is not callable, or the consumer already started.
            ClientClosedError: the consumer was stopped.
            QueueDoesNotExist, SQSError, CircuitOpenError: the queue cannot be read.
        """
        if not callable(handler):
            raise ConfigurationError(f"handler must be callable, got {handler!r}")
        if self._state in ("stopping", "stopped"):
            raise ClientClosedError(f"{self!r} was stopped; create a new consumer")
        if self._state != "new":
            raise ConfigurationError(f"{self!r} is already started; a consumer runs one handler")
        self._state = "starting"
        try:
            await self._setup(handler, batch)
        except BaseException:
            self._state = "new"
            raise
        self._state = "running"
        logger.info(
            "consumer started",
            extra={
                "queue": self._info.name if self._info else self._queue,
                "mode": self.options.processing_mode,
                "concurrency": self.options.effective_concurrency,
            },
        )

    async def _setup(self, handler: Callable[..., Any], batch: bool) -> None:
        options = self.options
        info = await self._resolver.resolve(self._queue)
        if options.visibility_timeout_seconds is not None:
            visibility = options.visibility_timeout_seconds
        else:
            values = await self._backend.get_queue_attributes(info.url, ["VisibilityTimeout"])
            visibility = int(values.get("VisibilityTimeout", "30"))
        concurrency = options.effective_concurrency
        workers = max(1, concurrency // options.batch_size) if batch else concurrency
        prefetch = options.effective_prefetch
        self._limit = concurrency + prefetch
        # With a prefetch, receive full batches; without one, receive into any free slot.
        self._want = min(options.max_messages, self._limit) if prefetch else 1
        self._visibility = visibility
        self._info = info
        self._meter = self._meters(info.name) if self._meters is not None else None
        for codec in options.codecs:
            attach = getattr(codec, "attach", None)
            if callable(attach):  # codecs acting after processing (e.g. payload deletion)
                attach(self)
        self._settler = Settler(self._backend, info, self.stats, self._settled)
        heartbeat = Heartbeat(
            self._backend,
            info,
            self._held,
            self.stats,
            self._events,
            visibility=visibility,
            fraction=options.heartbeat_fraction,
        )
        self._scheduler = Scheduler(
            fifo=info.fifo, batch_size=options.batch_size if batch else None
        )
        if not is_async_callable(handler):
            self._executor = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix=f"esqs-consumer-{info.name}"
            )
        self._processor = Processor(
            handler=handler,
            batch=batch,
            options=options,
            queue=info,
            decode=make_decoder(options.message_type, options.serializer),
            settler=self._settler,
            heartbeat=heartbeat,
            stats=self.stats,
            events=self._events,
            meter=self._meter,
            executor=self._executor,
            stopping=self._stop_requested.is_set,
        )
        loop = asyncio.get_running_loop()
        self._room.set()
        self._workers = [loop.create_task(self._work()) for _ in range(workers)]
        if options.heartbeat:
            self._heartbeat_task = loop.create_task(heartbeat.run())
        self._poller = loop.create_task(self._poll())

    async def stop(
        self,
        timeout: float | None = None,  # noqa: ASYNC109  # a shutdown deadline, not a call timeout
        *,
        abort_receive: bool | None = None,
    ) -> None:
        """Stop gracefully (see the module docstring). Safe to call twice; waits for a stop
        already under way. ``timeout`` overrides ``shutdown_timeout``. ``abort_receive=True``
        cancels a long poll in flight instead of letting it finish (a quicker stop; messages
        SQS may already have handed to it come back when their visibility timeout ends).
        The default cancels it only where that strands nothing (the embedded engine), and
        otherwise lets it finish."""
        if abort_receive is None:
            abort_receive = bool(getattr(self._backend, "cancel_safe_receive", False))
        if self._state == "new":
            self._state = "stopped"
            self._stopped.set()
            return
        if self._state in ("stopping", "stopped"):
            await self._stopped.wait()
            return
        self._state = "stopping"
        self._stop_requested.set()
        deadline = self.options.shutdown_timeout if timeout is None else timeout
        try:
            await self._shutdown(deadline, abort_receive)
        finally:
            self._state = "stopped"
            self._stopped.set()
            if self._events.wants("stopped"):
                self._events.emit(ConsumerEvent(kind="stopped", queue=self._name, count=0))
            logger.info("consumer stopped", extra={"queue": self._name})

    async def _shutdown(self, deadline: float, abort_receive: bool) -> None:
        assert self._scheduler is not None  # set by start()
        assert self._processor is not None
        assert self._settler is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        self._room.set()  # wake a poll loop waiting for room: it sees the stop and returns
        if self._poller is not None:
            # A receive in flight is let finish (its messages are released at once): cancelling
            # it could leave messages SQS already handed to the abandoned request invisible
            # until their visibility timeout ends.
            done, _ = await asyncio.wait({self._poller}, timeout=0 if abort_receive else deadline)
            if not done:
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poller
        for unit in self._scheduler.pending():
            for record in unit.records:
                self._processor.release(record)
            self._scheduler.finished(unit)
        self._scheduler.close(len(self._workers))
        if self._workers:
            _, late = await asyncio.wait(self._workers, timeout=max(0.0, end - loop.time()))
            for task in late:
                task.cancel()
            if late:
                logger.warning(
                    "handlers did not finish within the shutdown timeout; their messages "
                    "were returned to the queue",
                    extra={"queue": self._name, "handlers": len(late)},
                )
                await asyncio.wait(late)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
        await self._settler.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def run(
        self,
        handler: Callable[..., Any],
        *,
        batch: bool = False,
        signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    ) -> None:
        """Start, then run until SIGTERM/SIGINT (or :meth:`stop`), then stop gracefully: the
        main of a worker process (``asyncio.run(consumer.run(handler))``).

        Raises: as :meth:`start`.
        """
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in signals:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or a platform without signal support
            installed.append(sig)
        try:
            await self.start(handler, batch=batch)
            await self._stop_requested.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()

    def _on_signal(self, sig: signal.Signals) -> None:
        logger.info("consumer stopping on %s", sig.name, extra={"queue": self._name})
        self._stop_requested.set()

    async def __aenter__(self) -> Consumer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- the loops --------------------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return self._info.name if self._info is not None else self._queue

    def _settled(self, record: InFlight) -> None:
        if self._held.pop(record.message.receipt_handle, None) is not None:
            self.stats.in_flight = len(self._held)
            if self._limit - len(self._held) >= self._want:
                self._room.set()

    async def _work(self) -> None:
        assert self._scheduler is not None  # set by start()
        assert self._processor is not None
        scheduler, processor = self._scheduler, self._processor
        while True:
            unit = await scheduler.next_unit()
            if unit is None:
                return
            try:
                await processor.run_unit(unit)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug of ours, not the handler's (handler errors are settled inside).
                logger.exception("consumer worker failed", extra={"queue": self._name})
                for record in unit.records:
                    processor.release(record)
            finally:
                scheduler.finished(unit)

    async def _poll(self) -> None:
        assert self._info is not None  # set by start()
        assert self._scheduler is not None
        assert self._processor is not None
        info, options = self._info, self.options
        loop = asyncio.get_running_loop()
        errors = 0
        pause_after_empty = options.polling_interval / 1000
        stopping = self._stop_requested.is_set
        while not stopping():
            while self._limit - len(self._held) < self._want and not stopping():
                self._room.clear()
                await self._room.wait()
            if stopping():
                return
            want = min(options.max_messages, self._limit - len(self._held))
            wait = options.wait_time_seconds
            if info.fifo and self._held:
                # Our own messages lock their groups; a long poll may not wake when a delete
                # unlocks one, so poll briefly while we hold any.
                wait = min(wait, 1)
            try:
                messages = await self._receive(info.url, want, wait)
            except CircuitOpenError as exc:
                # Nothing was sent, so no receive count was spent: wait for the breaker.
                self._poll_failed(exc)
                await self._pause(exc.retry_after if exc.retry_after is not None else 1.0)
                continue
            except EnterpriseSQSError as exc:
                errors += 1
                self._poll_failed(exc)
                await self._pause(self._poll_backoff(errors))
                continue
            errors = 0
            if not messages:
                self.stats.empty_polls += 1
                if self._meter is not None:
                    self._meter.record("empty_poll", count=0)
                if self._events.wants("empty_poll"):
                    self._events.emit(ConsumerEvent(kind="empty_poll", queue=info.name, count=0))
                if pause_after_empty:
                    await self._pause(pause_after_empty)
                continue
            now = loop.time()
            visibility = self._visibility
            records = []
            held = self._held
            for message in messages:
                record = InFlight(message, now, visibility)
                held[message.receipt_handle] = record
                records.append(record)
            self.stats.received += len(records)
            self.stats.in_flight = len(held)
            if self._meter is not None:
                self._meter.record("received", count=len(records))
            if stopping():
                for record in records:  # received while stopping: give them back at once
                    self._processor.release(record)
                return
            if self._events.wants("received"):
                for message in messages:
                    self._events.emit(
                        ConsumerEvent(
                            kind="received", queue=info.name, message_id=message.message_id
                        )
                    )
            self._scheduler.dispatch(records)

    async def _receive(self, url: str, want: int, wait: int) -> list[ReceivedMessage]:
        options = self.options
        if want <= 10:
            return await self._backend.receive(
                url,
                max_messages=want,
                wait_time_seconds=wait,
                visibility_timeout=options.visibility_timeout_seconds,
                attribute_names=_ALL,
                message_attribute_names=_ALL,
            )
        sizes = [10] * (want // 10) + ([want % 10] if want % 10 else [])
        # Only the first receive long-polls; the rest are short polls that take what is there
        # now. If all long-polled, the gather would wait out the whole wait time whenever the
        # queue holds fewer than ``want`` messages (each idle receive sleeps until it expires).
        results = await asyncio.gather(
            *(self._receive(url, size, wait if i == 0 else 0) for i, size in enumerate(sizes)),
            return_exceptions=True,
        )
        messages = [m for r in results if isinstance(r, list) for m in r]
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None and not messages:
            raise failure
        return messages

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when a stop is requested."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    def _poll_backoff(self, errors: int) -> float:
        if is_testing():
            return 0.01
        return compute_backoff(errors - 1, initial_delay=0.1, multiplier=2.0, max_backoff=20.0)

    def _poll_failed(self, error: BaseException) -> None:
        self.stats.poll_errors += 1
        if self._meter is not None:
            self._meter.record("poll_failed", count=0)
        logger.warning(
            "receive failed on %s: %s",
            self._name,
            error,
            extra={"queue": self._name, "error": repr(error)},
        )
        if self._events.wants("poll_failed"):
            self._events.emit(
                ConsumerEvent(kind="poll_failed", queue=self._name, error=error, count=0)
            )
