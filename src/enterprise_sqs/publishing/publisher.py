"""The publisher: ``await publisher.publish(obj)`` → a :class:`PublishResult` for that message.

Per message: serialize the body, map attributes, apply FIFO rules and the deduplication strategy,
check the size as SQS counts it (an oversize message fails here, before any network call), skip a
repeat inside the client-side deduplication window, then hand the message to the auto-batcher.
The backend given is normally the resilient client, so retryable failures are retried and an
open circuit breaker shows up as a result whose ``error`` is a ``CircuitOpenError``.

Results never claim success for a message SQS did not accept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, NoReturn

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.clock import Clock
from enterprise_sqs.codecs.base import Codec, CodecContext, Envelope, encode_all
from enterprise_sqs.codecs.serialization import JSONSerializer, Serializer, encode_body
from enterprise_sqs.errors import (
    ClientClosedError,
    ConfigurationError,
    EnterpriseSQSError,
    InvalidParameterValue,
    MessageTooLong,
    MissingParameter,
)
from enterprise_sqs.events import EventBus
from enterprise_sqs.models import MessageAttributeValue, SendSuccess
from enterprise_sqs.publishing.attributes import message_size, to_message_attributes
from enterprise_sqs.publishing.batcher import Outgoing, SendBatcher
from enterprise_sqs.publishing.dedup import (
    DeduplicationStrategy,
    DeduplicationWindow,
    content_deduplication_id,
)
from enterprise_sqs.publishing.events import (
    PUBLISH_EVENT_KINDS,
    PublishEvent,
    PublishMeter,
    PublishTracer,
)
from enterprise_sqs.queues import QueueInfo, QueueResolver

__all__ = ["PublishResult", "Publisher"]

logger = logging.getLogger(__name__)

_MAX_DELAY_SECONDS = 900
_NO_ATTRIBUTES: Mapping[str, MessageAttributeValue] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishResult:
    """What happened to one published message.

    ``success`` is True only when SQS accepted the message, or when the client-side
    deduplication window recognised a repeat (``duplicate=True``; ``message_id`` is then the
    first message's id, or None if that one is still in flight). ``error`` is the typed
    exception when it failed. ``spooled=True`` (with ``success=True`` and no ``message_id``)
    means SQS could not take it now and it is safe in the local outage spool, to be forwarded.
    """

    success: bool
    queue_url: str | None = None
    message_id: str | None = None
    sequence_number: str | None = None
    duplicate: bool = False
    error: EnterpriseSQSError | None = None
    # Set by the routing layers (publishing.failover / .spool): which client (region) took the
    # message, and whether it waits in the local outage spool instead of SQS.
    destination: str | None = None
    spooled: bool = False

    def raise_for_error(self) -> None:
        """Raise ``error`` if the publish failed; do nothing otherwise."""
        if self.error is not None:
            raise self.error


def _fail(error: EnterpriseSQSError, queue_url: str | None = None) -> PublishResult:
    return PublishResult(success=False, queue_url=queue_url, error=error)


def _check_delay(delay: int | None, where: str) -> None:
    if delay is None:
        return
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int)
        or not 0 <= delay <= _MAX_DELAY_SECONDS
    ):
        raise ConfigurationError(f"{where} must be an int from 0 to 900 seconds, got {delay!r}")


class Publisher:
    """Publishes to one queue, batching concurrent publishes. Create with
    ``EnterpriseSQS.create_publisher`` (or directly, over any Backend).

    Args:
        backend: where to send (normally the resilient client).
        queue: a queue name or URL.
        message_group_id: default group for FIFO queues (``group_id=`` per message wins).
        enable_deduplication: keep a client-side window that reports repeats as
            ``duplicate=True`` without sending them.
        deduplication_strategy: ``"content"`` (SHA-256 of the body), ``"id"`` (the
            ``deduplication_id`` each publish gives) or a callable ``obj -> str``.
        deduplication_window: seconds a key is remembered (SQS FIFO uses 5 minutes).
        delay_seconds: default per-message delay (standard queues only).
        attributes: message attributes added to every message.
        serializer: object → body (default compact JSON).
        linger: seconds a message may wait for others to fill a batch.
        max_in_flight_batches: batches sent concurrently.
        create_queue: create the queue if it does not exist (FIFO for a ``.fifo`` name).
        resolver: shares name → URL resolution between publishers of one client.
        codecs: transformations applied to each serialized message, in order (compression,
            encryption, signing, offload: see :mod:`enterprise_sqs.codecs`).

    Observers subscribe to :attr:`events` (``published``, ``failed``, ``duplicate``).
    """

    def __init__(
        self,
        backend: Backend,
        queue: str,
        *,
        message_group_id: str | None = None,
        enable_deduplication: bool = False,
        deduplication_strategy: DeduplicationStrategy = "content",
        deduplication_window: float = 300.0,
        delay_seconds: int | None = None,
        attributes: Mapping[str, object] | None = None,
        serializer: Serializer | None = None,
        linger: float = 0.005,
        max_in_flight_batches: int = 8,
        create_queue: bool = False,
        resolver: QueueResolver | None = None,
        clock: Clock | None = None,
        codecs: Sequence[Codec] = (),
    ) -> None:
        if not isinstance(queue, str) or not queue.strip():
            raise ConfigurationError(f"queue must be a non-empty queue name or URL, got {queue!r}")
        if message_group_id is not None and (
            not isinstance(message_group_id, str) or not 1 <= len(message_group_id) <= 128
        ):
            raise ConfigurationError(
                "message_group_id must be a string of 1 to 128 characters, "
                f"got {message_group_id!r}"
            )
        if deduplication_strategy not in ("content", "id") and not callable(deduplication_strategy):
            raise ConfigurationError(
                "deduplication_strategy must be 'content', 'id' or a callable(obj) -> str, "
                f"got {deduplication_strategy!r}"
            )
        _check_delay(delay_seconds, "delay_seconds")
        if not isinstance(linger, int | float) or not 0 <= linger <= 1:
            raise ConfigurationError(f"linger must be between 0 and 1 second, got {linger!r}")
        if not isinstance(max_in_flight_batches, int) or not 1 <= max_in_flight_batches <= 1000:
            raise ConfigurationError(
                "max_in_flight_batches must be an int from 1 to 1000, "
                f"got {max_in_flight_batches!r}"
            )
        codecs = tuple(codecs)
        for codec in codecs:
            if not isinstance(codec, Codec):
                raise ConfigurationError(
                    f"codecs must have name, encode() and decode(); got {codec!r}"
                )
        if serializer is not None and not isinstance(serializer, Serializer):
            raise ConfigurationError(
                f"serializer must have dumps(obj) -> str and loads(str), got {serializer!r}"
            )
        self._backend = backend
        self._queue = queue
        self._group_id = message_group_id
        self._strategy = deduplication_strategy
        self._window = (
            DeduplicationWindow(window=deduplication_window, clock=clock)
            if enable_deduplication
            else None
        )
        self._delay = delay_seconds
        self._attributes: Mapping[str, MessageAttributeValue] = MappingProxyType(
            to_message_attributes(attributes)
        )
        self._serializer: Serializer = serializer or JSONSerializer()
        self._linger = float(linger)
        self._max_in_flight = max_in_flight_batches
        self._create_queue = create_queue
        self._resolver = resolver or QueueResolver(backend)
        self._info: QueueInfo | None = None
        self._batcher: SendBatcher | None = None
        self._setup_lock = asyncio.Lock()
        self._arriving = 0
        self._all_arrived = asyncio.Event()
        self._closed = False
        self._codecs = codecs
        self._codec_context: CodecContext | None = None
        self.events: EventBus[PublishEvent] = EventBus(PUBLISH_EVENT_KINDS, source="publisher")
        self._clock_now = clock.monotonic if clock is not None else time.monotonic
        self._meters: Callable[[str], PublishMeter] | None = None
        self._meter: PublishMeter | None = None  # the resolved queue's, once it is known
        self._tracer: PublishTracer | None = None

    def __repr__(self) -> str:
        return f"Publisher(queue={self._queue!r}, closed={self._closed})"

    @property
    def queue(self) -> str:
        return self._queue

    def attach_meters(self, meters: Callable[[str], PublishMeter]) -> None:
        """Report every outcome to ``meters(queue_name)`` (how the client's metrics count
        without subscribing to events).

        Raises:
            ConfigurationError: ``meters`` is not callable.
        """
        if not callable(meters):
            raise ConfigurationError(f"meters must be callable, got {meters!r}")
        self._meters = meters
        self._meter = meters(self._info.name) if self._info is not None else None

    def attach_tracer(self, tracer: PublishTracer) -> None:
        """Trace every message with ``tracer`` (how the client's tracing starts and ends send
        spans without a codec and an event per message: 3-4 µs a message less).

        Raises:
            ConfigurationError: ``tracer`` has no ``send_started`` and ``send_ended`` methods.
        """
        if not all(callable(getattr(tracer, m, None)) for m in ("send_started", "send_ended")):
            raise ConfigurationError(
                f"tracer must have send_started and send_ended methods (a MessagingTracer), "
                f"got {tracer!r}"
            )
        self._tracer = tracer

    @property
    def pending(self) -> int:
        """Messages accepted by ``publish`` and not yet answered."""
        return self._batcher.pending if self._batcher is not None else 0

    async def _setup(self) -> tuple[QueueInfo, SendBatcher]:
        if self._info is not None and self._batcher is not None:
            return self._info, self._batcher
        async with self._setup_lock:
            if self._info is None or self._batcher is None:
                info = await self._resolver.resolve(self._queue, create_missing=self._create_queue)
                if info.fifo and self._delay:
                    raise ConfigurationError(
                        f"{info.name} is a FIFO queue: it takes no per-message delay_seconds "
                        "(set DelaySeconds on the queue instead)"
                    )
                self._batcher = SendBatcher(
                    self._backend,
                    info.url,
                    fifo=info.fifo,
                    linger=self._linger,
                    max_in_flight=self._max_in_flight,
                )
                self._info = info
                if self._meters is not None:
                    self._meter = self._meters(info.name)
            return self._info, self._batcher

    async def publish(
        self,
        obj: Any,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay_seconds: int | None = None,
        attributes: Mapping[str, object] | None = None,
        trace_header: str | None = None,
    ) -> PublishResult:
        """Publish one message and return what happened to it.

        Failures come back as ``PublishResult(success=False, error=...)``; only using a closed
        publisher raises (:class:`ClientClosedError`).
        """
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed; create a new publisher")
        started = self._clock_now()
        # Counted from here until the message is in the batcher, so that flush() (and aclose)
        # also waits for publishes still resolving the queue or running codecs.
        self._arriving += 1
        try:
            info, batcher = (
                (self._info, self._batcher)
                if self._info is not None and self._batcher is not None
                else await self._setup()
            )
        except EnterpriseSQSError as exc:
            self._arrived()
            return self._failed(exc, None, started)
        except BaseException:
            self._arrived()
            raise
        tracer, span = self._tracer, None
        try:
            outgoing, key = self._prepare(
                info, obj, group_id, deduplication_id, delay_seconds, attributes, trace_header
            )
            if tracer is not None:
                # Before the codecs, which leave message attributes they do not own alone.
                outgoing.message_attributes, span = tracer.send_started(
                    info.name, outgoing.body, outgoing.message_attributes
                )
            if self._codecs:
                outgoing = await self._encode(info, outgoing, key)
            self._check_size(info, outgoing)
        except EnterpriseSQSError as exc:
            self._arrived()
            if tracer is not None and span is not None:
                tracer.send_ended(span, error=exc)
            return self._failed(exc, info, started)
        except BaseException as exc:
            self._arrived()
            if tracer is not None and span is not None:  # a cancellation, a codec's bug: end it
                tracer.send_ended(span, error=exc)
            raise
        if key is not None and self._window is not None:
            fresh, first_id = self._window.reserve(key)
            if not fresh:
                self._arrived()
                if tracer is not None and span is not None:
                    tracer.send_ended(span, message_id=first_id, duplicate=True)
                if self._meter is not None:
                    self._meter.duplicate()
                if self.events.wants("duplicate"):
                    self._emit("duplicate", info, outgoing, started, message_id=first_id)
                return PublishResult(
                    success=True, queue_url=info.url, message_id=first_id, duplicate=True
                )
        # submit() queues the message before its first suspension, so no flush can run between
        # this count going down and the message being in the batcher.
        self._arrived()
        try:
            outcome = await batcher.submit(outgoing)
        except BaseException as exc:
            if tracer is not None and span is not None:
                tracer.send_ended(span, error=exc)
            raise
        if isinstance(outcome, SendSuccess):
            if tracer is not None and span is not None:
                tracer.send_ended(span, message_id=outcome.message_id)
            if key is not None and self._window is not None:
                self._window.confirm(key, outcome.message_id)
            if self._meter is not None:
                self._meter.published(self._clock_now() - started)
            if self.events.wants("published"):
                self._emit(
                    "published",
                    info,
                    outgoing,
                    started,
                    message_id=outcome.message_id,
                    sequence_number=outcome.sequence_number,
                )
            return PublishResult(
                success=True,
                queue_url=info.url,
                message_id=outcome.message_id,
                sequence_number=outcome.sequence_number,
            )
        if tracer is not None and span is not None:
            tracer.send_ended(span, error=outcome)
        if key is not None and self._window is not None:
            self._window.release(key)
        return self._failed(outcome, info, started, outgoing)

    def _failed(
        self,
        error: EnterpriseSQSError,
        info: QueueInfo | None,
        started: float,
        outgoing: Outgoing | None = None,
    ) -> PublishResult:
        logger.warning(
            "publish failed",
            extra={
                "queue": info.name if info is not None else self._queue,
                "error_type": type(error).__name__,
                "error_code": getattr(error, "actual_code", None),
            },
        )
        if self._meters is not None:
            meter = self._meters(info.name if info is not None else self._queue)
            meter.publish_failed(self._clock_now() - started)
        if self.events.wants("failed"):
            self._emit("failed", info, outgoing, started, error=error)
        return _fail(error, info.url if info is not None else None)

    def _emit(
        self,
        kind: Literal["published", "failed", "duplicate"],
        info: QueueInfo | None,
        outgoing: Outgoing | None,
        started: float,
        *,
        message_id: str | None = None,
        sequence_number: str | None = None,
        error: EnterpriseSQSError | None = None,
    ) -> None:
        self.events.emit(
            PublishEvent(
                kind=kind,
                queue=info.name if info is not None else self._queue,
                queue_url=info.url if info is not None else None,
                message_id=message_id,
                sequence_number=sequence_number,
                error=error,
                duration=self._clock_now() - started,
                body=outgoing.body if outgoing is not None else None,
                message_attributes=outgoing.message_attributes if outgoing is not None else {},
                group_id=outgoing.group_id if outgoing is not None else None,
                deduplication_id=outgoing.deduplication_id if outgoing is not None else None,
            )
        )

    async def _encode(self, info: QueueInfo, outgoing: Outgoing, key: str | None) -> Outgoing:
        """Run the codecs over the serialized message."""
        if self._codec_context is None:
            self._codec_context = CodecContext(
                queue_name=info.name, queue_url=info.url, queue_arn=info.arn
            )
        envelope = await encode_all(
            self._codecs,
            Envelope(body=outgoing.body, attributes=outgoing.message_attributes),
            self._codec_context,
        )
        outgoing.body = envelope.body
        outgoing.message_attributes = envelope.attributes
        if info.fifo and outgoing.deduplication_id is None and key is not None:
            # The queue would hash the encoded body (different every time once encrypted):
            # deduplicate by the original content instead.
            outgoing.deduplication_id = key
        return outgoing

    @staticmethod
    def _check_size(info: QueueInfo, outgoing: Outgoing) -> None:
        size = message_size(outgoing.body, outgoing.message_attributes)
        outgoing.size = size
        if size > info.maximum_message_size:
            over = size - info.maximum_message_size
            raise MessageTooLong(
                f"message is {size} bytes (body plus attributes), {over} bytes over the "
                f"limit of {info.maximum_message_size} bytes of queue {info.name}"
            )

    async def publish_many(self, objs: Iterable[Any], **options: Any) -> list[PublishResult]:
        """Publish several messages concurrently (so they share batches); results in order."""
        return list(await asyncio.gather(*(self.publish(obj, **options) for obj in objs)))

    def _prepare(
        self,
        info: QueueInfo,
        obj: Any,
        group_id: str | None,
        deduplication_id: str | None,
        delay_seconds: int | None,
        attributes: Mapping[str, object] | None,
        trace_header: str | None,
    ) -> tuple[Outgoing, str | None]:
        body = encode_body(obj, self._serializer)
        # Per-message work only for what the call adds: the publisher's own attributes are
        # shared (read-only) by every message that brings none.
        message_attributes: Mapping[str, MessageAttributeValue] = self._attributes
        if attributes:
            converted = to_message_attributes(attributes)  # a fresh dict: no copy needed
            message_attributes = (
                {**self._attributes, **converted} if self._attributes else converted
            )
        system_attributes: Mapping[str, MessageAttributeValue] = (
            {"AWSTraceHeader": MessageAttributeValue.string(trace_header)}
            if trace_header
            else _NO_ATTRIBUTES
        )
        delay = delay_seconds if delay_seconds is not None else self._delay
        group = group_id if group_id is not None else self._group_id
        if delay_seconds is not None:
            _check_delay(delay_seconds, "delay_seconds")
        if info.fifo:
            if group is None:
                raise MissingParameter(
                    f"{info.name} is a FIFO queue: every message needs a message group id "
                    "(pass message_group_id= to create_publisher or group_id= to publish)"
                )
            if delay:
                raise InvalidParameterValue(
                    f"{info.name} is a FIFO queue: per-message delay_seconds is not allowed"
                )
        key = self._deduplication_key(info, obj, body, deduplication_id)
        sent_dedup_id: str | None = None
        if info.fifo and key is not None:
            by_content = deduplication_id is None and self._strategy == "content"
            if not (by_content and info.content_based_deduplication):
                sent_dedup_id = key
        outgoing = Outgoing(
            body=body,
            size=0,  # set by _check_size, after the codecs
            message_attributes=message_attributes,
            system_attributes=system_attributes,
            group_id=group,
            deduplication_id=sent_dedup_id,
            delay_seconds=None if info.fifo else delay,
        )
        return outgoing, key

    def _deduplication_key(
        self, info: QueueInfo, obj: Any, body: str, explicit: str | None
    ) -> str | None:
        """The deduplication id for this message, or None when nothing needs one."""
        if explicit is not None:
            if not isinstance(explicit, str) or not 1 <= len(explicit) <= 128:
                raise InvalidParameterValue(
                    f"deduplication_id must be a string of 1 to 128 characters, got {explicit!r}"
                )
            return explicit
        if self._window is None and not info.fifo:
            return None
        strategy = self._strategy
        if strategy == "content":
            return content_deduplication_id(body)
        if strategy == "id":
            if self._window is None and info.content_based_deduplication:
                return None  # the FIFO queue deduplicates by content itself
            raise MissingParameter(
                "deduplication_strategy='id' needs deduplication_id= on every publish"
            )
        try:
            key = strategy(obj)
        except Exception as exc:
            _raise_strategy_error(exc)
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidParameterValue(
                f"the deduplication strategy returned {key!r}; it must return 1 to 128 characters"
            )
        return key

    async def flush(self) -> None:
        """Send everything waiting, and wait until every accepted message is answered."""
        while self._arriving:
            self._all_arrived.clear()
            await self._all_arrived.wait()
        if self._batcher is not None:
            await self._batcher.flush()

    def _arrived(self) -> None:
        self._arriving -= 1
        if not self._arriving:
            self._all_arrived.set()

    async def aclose(self) -> None:
        """Refuse new publishes, then wait until every publish already started has its result
        (flushing what waits in batches). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self.flush()

    async def __aenter__(self) -> Publisher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _raise_strategy_error(exc: Exception) -> NoReturn:
    raise InvalidParameterValue(f"the deduplication strategy raised {exc!r}") from exc
