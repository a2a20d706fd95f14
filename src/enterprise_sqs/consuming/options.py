"""Consumer options: the seed's ``createConsumer`` settings, validated once, frozen.

The seed's names keep the seed's meanings and units (``throttle_delay_ms`` and
``polling_interval`` are milliseconds, as in the seed); everything new is in seconds.

- ``processing_mode``: ``"sequential"`` handles one message at a time; ``"parallel"`` handles up
  to ``concurrency`` at once (default ``batch_size``).
- ``batch_size``: messages handled at once in parallel mode, and the most messages a batch handler
  gets in one call.
- ``max_messages``: messages asked for per poll (split into receives of at most 10, SQS's limit).
- ``wait_time_seconds``: long polling, 0-20.
- ``visibility_timeout_seconds``: set on every receive (``None``: the queue's own).
- ``throttle_delay_ms``: a pause after each message a handler slot finishes, before it takes the
  next one.
- ``polling_interval``: milliseconds to pause after a poll that returned nothing, before polling
  again (never while messages are flowing).
- ``concurrency``: handlers running at once, independent of the receive size (hundreds are fine
  when handlers wait on I/O). ``prefetch``: messages held beyond that (default ``max_messages``).
- ``codecs``: the publisher's codecs (decryption, signature checks, decompression, payload fetch),
  undone in reverse order before the body is decoded; a :class:`~enterprise_sqs.errors.CodecError`
  is never retried.
- ``middleware``: ``async def mw(context, call_next)`` wrappers around each per-message handler
  call, outermost first (tracing, access control, timing). A middleware may skip ``call_next``
  by raising, e.g. :class:`~enterprise_sqs.errors.ValidationError` to dead-letter a message.
- ``policy``: access control, ``policy(message, context) -> bool`` (sync or async), run before
  every other middleware; ``on_denied`` (``"dead_letter"`` or ``"delete"``) is what happens to a
  message it refuses (see :mod:`.policy`).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from enterprise_sqs.codecs.base import Codec
from enterprise_sqs.codecs.serialization import Serializer
from enterprise_sqs.errors import ConfigurationError

if TYPE_CHECKING:
    from enterprise_sqs.consuming.context import MessageContext

__all__ = ["ConsumerOptions", "Middleware", "ProcessingMode"]

# async def middleware(context, call_next) -> result of call_next()
Middleware = Callable[["MessageContext", Callable[[], Awaitable[Any]]], Awaitable[Any]]

ProcessingMode = Literal["sequential", "parallel"]

MAX_VISIBILITY = 43_200  # SQS: 12 hours, per change and in total since the first receive


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(f"{name} must be an int from {low} to {high}, got {value!r}")
    return value


def _seconds(name: str, value: object, *, low: float, high: float, open_low: bool) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value > low if open_low else value >= low)
        and value <= high
    )
    if not ok:
        bound = f"more than {low}" if open_low else f"from {low}"
        raise ConfigurationError(f"{name} must be a number {bound} to {high}, got {value!r}")
    return float(value)  # type: ignore[arg-type]  # checked to be int | float above


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerOptions:
    """Validated consumer settings. See the module docstring for what each one means.

    Raises:
        ConfigurationError: a value of the wrong type or out of range, or a combination that
            cannot work (``processing_mode="sequential"`` with ``concurrency`` above 1).
    """

    processing_mode: ProcessingMode = "parallel"
    batch_size: int = 10
    max_messages: int = 10
    wait_time_seconds: int = 20
    visibility_timeout_seconds: int | None = None
    throttle_delay_ms: float = 0
    polling_interval: float = 0
    concurrency: int | None = None
    prefetch: int | None = None
    handler_timeout: float | None = None
    heartbeat: bool = True
    heartbeat_fraction: float = 0.5
    retry_base_delay: float = 1.0
    retry_max_delay: float = 300.0
    shutdown_timeout: float = 30.0
    message_type: Any = None
    serializer: Serializer | None = None
    non_retryable: tuple[type[BaseException], ...] = field(default=())
    codecs: tuple[Codec, ...] = field(default=())
    middleware: tuple[Middleware, ...] = field(default=())
    policy: Callable[..., Any] | None = None
    on_denied: Literal["dead_letter", "delete"] = "dead_letter"

    def __post_init__(self) -> None:
        if self.processing_mode not in ("sequential", "parallel"):
            raise ConfigurationError(
                f"processing_mode must be 'sequential' or 'parallel', got {self.processing_mode!r}"
            )
        _int("batch_size", self.batch_size, 1, 10_000)
        _int("max_messages", self.max_messages, 1, 100)
        _int("wait_time_seconds", self.wait_time_seconds, 0, 20)
        if self.visibility_timeout_seconds is not None:
            _int("visibility_timeout_seconds", self.visibility_timeout_seconds, 0, MAX_VISIBILITY)
        _seconds("throttle_delay_ms", self.throttle_delay_ms, low=0, high=3_600_000, open_low=False)
        _seconds("polling_interval", self.polling_interval, low=0, high=3_600_000, open_low=False)
        if self.concurrency is not None:
            _int("concurrency", self.concurrency, 1, 10_000)
            if self.processing_mode == "sequential" and self.concurrency > 1:
                raise ConfigurationError(
                    f"processing_mode='sequential' handles one message at a time; "
                    f"concurrency={self.concurrency} needs processing_mode='parallel'"
                )
        if self.prefetch is not None:
            _int("prefetch", self.prefetch, 0, 10_000)
        if self.handler_timeout is not None:
            _seconds("handler_timeout", self.handler_timeout, low=0, high=43_200, open_low=True)
        if not isinstance(self.heartbeat, bool):
            raise ConfigurationError(f"heartbeat must be True or False, got {self.heartbeat!r}")
        _seconds("heartbeat_fraction", self.heartbeat_fraction, low=0, high=0.95, open_low=True)
        _seconds("retry_base_delay", self.retry_base_delay, low=0, high=43_200, open_low=False)
        _seconds("retry_max_delay", self.retry_max_delay, low=0, high=43_200, open_low=False)
        _seconds("shutdown_timeout", self.shutdown_timeout, low=0, high=86_400, open_low=False)
        if self.serializer is not None and not isinstance(self.serializer, Serializer):
            raise ConfigurationError(
                f"serializer must have dumps(obj) -> str and loads(str), got {self.serializer!r}"
            )
        if not isinstance(self.non_retryable, tuple) or not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in self.non_retryable
        ):
            raise ConfigurationError(
                f"non_retryable must be a tuple of exception classes, got {self.non_retryable!r}"
            )
        if not isinstance(self.codecs, tuple) or not all(isinstance(c, Codec) for c in self.codecs):
            raise ConfigurationError(
                f"codecs must be a tuple of codecs (name, encode, decode), got {self.codecs!r}"
            )
        if not isinstance(self.middleware, tuple) or not all(callable(m) for m in self.middleware):
            raise ConfigurationError(
                "middleware must be a tuple of async callables (context, call_next), "
                f"got {self.middleware!r}"
            )
        if self.policy is not None and not callable(self.policy):
            raise ConfigurationError(
                f"policy must be a callable (message, context) -> bool, got {self.policy!r}"
            )
        if self.on_denied not in ("dead_letter", "delete"):
            raise ConfigurationError(
                f"on_denied must be 'dead_letter' or 'delete', got {self.on_denied!r}"
            )
        if self.message_type is not None and not isinstance(self.message_type, type):
            raise ConfigurationError(
                "message_type must be a class (str, dict, a dataclass or a pydantic model), "
                f"got {self.message_type!r}"
            )

    @property
    def effective_concurrency(self) -> int:
        """Handlers at once: 1 when sequential, else ``concurrency`` or ``batch_size``."""
        if self.processing_mode == "sequential":
            return 1
        return self.concurrency if self.concurrency is not None else self.batch_size

    @property
    def effective_prefetch(self) -> int:
        return self.max_messages if self.prefetch is None else self.prefetch
