"""The circuit breaker: stop calling an endpoint that keeps failing, probe it, and recover.

States, as in the seed::

    CLOSED ──(failure_threshold failures within monitoring_period,
    ▲          or the optional failure-rate rule)──▶ OPEN
    │                                                 │ next call after `timeout` (lazy, no timers)
    │                                                 ▼
    └──(success_threshold successful probes)──── HALF_OPEN ──(a probe fails)──▶ OPEN

- Only failures that say something about the endpoint count: by default retryable
  :class:`~enterprise_sqs.errors.SQSError` s (throttling, 5xx, transport errors, timeouts) and
  ``OSError``/``TimeoutError``. A caller's mistake (:class:`~enterprise_sqs.errors.SenderError`:
  a validation error, a missing queue), any other exception and cancellation count as neither
  success nor failure. Pass ``is_failure=`` to decide otherwise.
- The window is rolling on the injected monotonic :class:`~enterprise_sqs.clock.Clock`. The
  threshold rule is exact (the last ``failure_threshold`` failure times are kept); the rate rule
  counts calls in ten buckets of ``monitoring_period / 10`` each.
- While HALF_OPEN at most ``half_open_max_calls`` probes run at once. A probe holds its slot for at
  most ``probe_timeout`` seconds: a probe that never finishes gives its slot back then (its late
  result is ignored), so the breaker can never get stuck.
- A result only moves the breaker if the state has not changed since the call was admitted: a
  slow call admitted while CLOSED cannot reopen a breaker that has since recovered.
- A ``threading.Lock`` guards the counters and is never held across the protected call, so
  thousands of asyncio calls (and threads of the blocking facade) run through one breaker at once.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, ParamSpec, TypeVar

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.config import CircuitBreakerConfig
from enterprise_sqs.errors import CircuitOpenError, ConfigurationError, SQSError

__all__ = [
    "CircuitBreaker",
    "CircuitBreakerStatus",
    "CircuitState",
    "CircuitTransition",
    "TransitionListener",
    "default_is_failure",
]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
_BUCKETS = 10


class CircuitState(enum.StrEnum):
    """A breaker's state; compares equal to the seed's strings (``status.state == "OPEN"``)."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitTransition:
    """What a listener hears: one change of state and why."""

    breaker: str
    from_state: CircuitState
    to_state: CircuitState
    reason: str  # failure_threshold, failure_rate, timeout_elapsed, probe_succeeded, probe_failed,
    # forced_open, reset
    at: float  # the breaker clock's monotonic time


TransitionListener = Callable[[CircuitTransition], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerStatus:
    """A snapshot of a breaker (``get_circuit_breaker_status()``), as the seed reports it.

    Attributes:
        state: CLOSED, OPEN or HALF_OPEN (OPEN→HALF_OPEN happens on the next call, so a breaker
            whose timeout has passed still reads OPEN, with ``retry_after == 0``).
        failure_count: failures within the rolling monitoring window.
        success_count: CLOSED: successes within the window; HALF_OPEN: successful probes so far.
        rejected_count: calls refused with :class:`CircuitOpenError` since the last reset.
        time_since_last_failure: seconds since the last counted failure, or ``None``.
        next_attempt_at: while OPEN, when a probe may pass (breaker clock, monotonic seconds).
        retry_after: while OPEN, seconds until then (0 once due); ``None`` when held open.
        forced: an operator holds the breaker open (:meth:`CircuitBreaker.force_open`).
        in_flight_probes: HALF_OPEN probes running now.
        total_successes, total_failures: every success and counted failure since the last reset.
    """

    name: str
    state: CircuitState
    failure_count: int
    success_count: int
    rejected_count: int
    time_since_last_failure: float | None
    next_attempt_at: float | None
    retry_after: float | None
    forced: bool
    in_flight_probes: int
    total_successes: int
    total_failures: int

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as a plain dict (``state`` as its string), for metrics and JSON."""
        data = asdict(self)
        data["state"] = str(self.state)
        return data

    def __getitem__(self, key: str) -> Any:
        # The seed's metrics read the status like a dict; keep that working.
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)


def default_is_failure(exc: BaseException) -> bool:
    """Retryable SQS errors, ``OSError`` and ``TimeoutError`` count; nothing else does."""
    if isinstance(exc, SQSError):
        return exc.retryable
    return isinstance(exc, OSError | TimeoutError)


class _Permit:
    """Admission to one call; hands its outcome back to the state it was admitted in."""

    __slots__ = ("epoch", "slot")

    def __init__(self, epoch: int, slot: int | None) -> None:
        self.epoch = epoch
        self.slot = slot


class _RollingCounts:
    """Successes and failures over the last ``period`` seconds, in fixed buckets."""

    def __init__(self, period: float) -> None:
        self._width = period / _BUCKETS
        self._index = [-1] * _BUCKETS
        self._ok = [0] * _BUCKETS
        self._bad = [0] * _BUCKETS

    def add(self, now: float, *, ok: bool) -> None:
        index = math.floor(now / self._width)
        slot = index % _BUCKETS
        if self._index[slot] != index:
            self._index[slot], self._ok[slot], self._bad[slot] = index, 0, 0
        if ok:
            self._ok[slot] += 1
        else:
            self._bad[slot] += 1

    def totals(self, now: float) -> tuple[int, int]:
        current = math.floor(now / self._width)
        ok = bad = 0
        for slot in range(_BUCKETS):
            if current - _BUCKETS < self._index[slot] <= current:
                ok += self._ok[slot]
                bad += self._bad[slot]
        return ok, bad

    def clear(self) -> None:
        self._index = [-1] * _BUCKETS


class CircuitBreaker:
    """A circuit breaker for async (and threaded) callers. See the module docstring.

    Args:
        config: thresholds and timings (default :class:`CircuitBreakerConfig()`).
        name: used in logs, errors and status (a client uses its backend's name or a queue URL).
        clock: where time comes from (inject a :class:`~enterprise_sqs.clock.ManualClock` in tests).
        is_failure: decides which exceptions count as failures (default :func:`default_is_failure`).
        listeners: called with a :class:`CircuitTransition` on every change of state, outside the
            lock; an exception in a listener is logged and otherwise ignored.
    """

    def __init__(
        self,
        config: CircuitBreakerConfig | None = None,
        *,
        name: str = "default",
        clock: Clock | None = None,
        is_failure: Callable[[BaseException], bool] | None = None,
        listeners: tuple[TransitionListener, ...] | list[TransitionListener] = (),
    ) -> None:
        if config is not None and not isinstance(config, CircuitBreakerConfig):
            raise ConfigurationError(
                f"config must be a CircuitBreakerConfig, got {type(config).__name__}"
            )
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"breaker name must be a non-empty string, got {name!r}")
        self.config = config or CircuitBreakerConfig()
        self.name = name
        self._clock = clock or SystemClock()
        self._is_failure = is_failure or default_is_failure
        self._listeners = list(listeners)
        self._lock = threading.Lock()
        self._slot_ids = itertools.count()
        self._state = CircuitState.CLOSED
        self._epoch = 0
        self._failures: deque[float] = deque(maxlen=self.config.failure_threshold)
        self._window = _RollingCounts(self.config.monitoring_period)
        self._opened_until = 0.0
        self._forced = False
        self._probes: dict[int, float] = {}  # slot id -> when the slot expires
        self._probe_successes = 0
        self._rejected = 0
        self._total_ok = 0
        self._total_bad = 0
        self._last_failure_at: float | None = None

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self._state.value})"

    # -- public API -------------------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        return self._state

    async def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``await fn(*args, **kwargs)`` through the breaker.

        Raises:
            CircuitOpenError: the breaker refused the call; ``fn`` was not called.
            Whatever ``fn`` raises, unchanged.
        """
        permit = self.acquire()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self.release(permit, exc)
            raise
        self.release(permit, None)
        return result

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """The breaker as a ``with`` block, for sync code or around an ``await``.

        Raises:
            CircuitOpenError: on entry, if the breaker refuses the call.
        """
        permit = self.acquire()
        try:
            yield
        except BaseException as exc:
            self.release(permit, exc)
            raise
        self.release(permit, None)

    def acquire(self) -> _Permit:
        """Ask to make one call. Pair every permit with exactly one :meth:`release`.

        Raises:
            CircuitOpenError: OPEN (before its timeout), forced open, or HALF_OPEN with every
                probe slot taken.
        """
        if not self.config.enabled:
            return _Permit(-1, None)
        transitions: list[CircuitTransition] = []
        try:
            with self._lock:
                now = self._clock.monotonic()
                if self._forced:
                    self._reject_locked(now, None)
                if self._state is CircuitState.OPEN:
                    if now < self._opened_until:
                        self._reject_locked(now, self._opened_until)
                    transitions.append(
                        self._move_locked(CircuitState.HALF_OPEN, "timeout_elapsed", now)
                    )
                if self._state is CircuitState.HALF_OPEN:
                    for slot, expires in list(self._probes.items()):
                        if expires <= now:
                            del self._probes[slot]
                    if len(self._probes) >= self.config.half_open_max_calls:
                        self._reject_locked(now, min(self._probes.values()))
                    slot_id = next(self._slot_ids)
                    self._probes[slot_id] = now + self.config.effective_probe_timeout
                    return _Permit(self._epoch, slot_id)
                return _Permit(self._epoch, None)
        except CircuitOpenError as exc:
            # Logged here, after the lock is released: a slow log handler must not serialise.
            logger.debug(
                "circuit breaker %s refused a call",
                self.name,
                extra={"breaker": self.name, "retry_after": exc.retry_after},
            )
            raise
        finally:
            self._emit(transitions)

    def release(self, permit: _Permit, error: BaseException | None) -> None:
        """Report how a call admitted by :meth:`acquire` ended (``None``: it succeeded)."""
        if permit.epoch < 0:
            return
        if error is None:
            outcome: bool | None = True
        elif isinstance(error, Exception) and self._is_failure(error):
            outcome = False
        else:
            outcome = None  # neither success nor failure (sender error, cancellation, ...)
        transitions: list[CircuitTransition] = []
        with self._lock:
            now = self._clock.monotonic()
            if outcome is True:
                self._total_ok += 1
            elif outcome is False:
                self._total_bad += 1
                self._last_failure_at = now
            current = permit.epoch == self._epoch
            if permit.slot is not None:
                # A probe whose slot expired lost its say: another probe has its slot now.
                current = current and self._probes.pop(permit.slot, None) is not None
            if current and outcome is not None:
                self._record_locked(now, ok=outcome, transitions=transitions)
        self._emit(transitions)

    def get_circuit_breaker_status(self) -> CircuitBreakerStatus:
        """A consistent snapshot of the counters and state."""
        with self._lock:
            now = self._clock.monotonic()
            window_ok, _ = self._window.totals(now)
            failures = sum(1 for t in self._failures if t > now - self.config.monitoring_period)
            is_open = self._state is CircuitState.OPEN
            if self._forced:
                next_at: float | None = None
                retry_after: float | None = None
            elif is_open:
                next_at = self._opened_until
                retry_after = max(0.0, self._opened_until - now)
            else:
                next_at = retry_after = None
            return CircuitBreakerStatus(
                name=self.name,
                state=self._state,
                failure_count=failures,
                success_count={
                    CircuitState.CLOSED: window_ok,
                    CircuitState.HALF_OPEN: self._probe_successes,
                    CircuitState.OPEN: 0,
                }[self._state],
                rejected_count=self._rejected,
                time_since_last_failure=None
                if self._last_failure_at is None
                else now - self._last_failure_at,
                next_attempt_at=next_at,
                retry_after=retry_after,
                forced=self._forced,
                in_flight_probes=len(self._probes),
                total_successes=self._total_ok,
                total_failures=self._total_bad,
            )

    status = get_circuit_breaker_status

    def add_listener(self, listener: TransitionListener) -> Callable[[], None]:
        """Hear every transition; returns a function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def reset(self) -> None:
        """Close the breaker and forget everything it counted (an operator's "all clear")."""
        transitions: list[CircuitTransition] = []
        with self._lock:
            now = self._clock.monotonic()
            if self._state is not CircuitState.CLOSED:
                transitions.append(self._move_locked(CircuitState.CLOSED, "reset", now))
            self._epoch += 1  # results of calls admitted before the reset no longer count
            self._failures.clear()
            self._window.clear()
            self._forced = False
            self._rejected = self._total_ok = self._total_bad = 0
            self._last_failure_at = None
        self._emit(transitions)

    def force_open(self, duration: float | None = None) -> None:
        """Open the breaker now: until :meth:`reset` (``duration=None``) or for ``duration`` s.

        Raises:
            ConfigurationError: ``duration`` is not a positive number.
        """
        if duration is not None and (
            isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0
        ):
            raise ConfigurationError(
                f"duration must be a positive number of seconds or None, got {duration!r}"
            )
        transitions: list[CircuitTransition] = []
        with self._lock:
            now = self._clock.monotonic()
            if self._state is not CircuitState.OPEN:
                transitions.append(self._move_locked(CircuitState.OPEN, "forced_open", now))
            self._forced = duration is None
            self._opened_until = now + (duration or 0.0)
        self._emit(transitions)

    # -- internals (call with the lock held) ------------------------------------------------------

    def _reject_locked(self, now: float, retry_at: float | None) -> None:
        self._rejected += 1
        retry_after = None if retry_at is None else max(0.0, retry_at - now)
        raise CircuitOpenError(self.name, retry_after=retry_after, retry_at=retry_at)

    def _record_locked(self, now: float, *, ok: bool, transitions: list[CircuitTransition]) -> None:
        config = self.config
        if self._state is CircuitState.HALF_OPEN:
            if not ok:
                transitions.append(self._move_locked(CircuitState.OPEN, "probe_failed", now))
                return
            self._probe_successes += 1
            if self._probe_successes >= config.success_threshold:
                transitions.append(self._move_locked(CircuitState.CLOSED, "probe_succeeded", now))
            return
        if self._state is not CircuitState.CLOSED:
            return
        self._window.add(now, ok=ok)
        if ok:
            return
        self._failures.append(now)
        if (
            len(self._failures) == config.failure_threshold
            and self._failures[0] > now - config.monitoring_period
        ):
            transitions.append(self._move_locked(CircuitState.OPEN, "failure_threshold", now))
            return
        if config.failure_rate_threshold is not None:
            good, bad = self._window.totals(now)
            calls = good + bad
            if calls >= config.minimum_throughput and bad / calls >= config.failure_rate_threshold:
                transitions.append(self._move_locked(CircuitState.OPEN, "failure_rate", now))

    def _move_locked(self, to: CircuitState, reason: str, now: float) -> CircuitTransition:
        transition = CircuitTransition(
            breaker=self.name, from_state=self._state, to_state=to, reason=reason, at=now
        )
        self._state = to
        self._epoch += 1
        self._probes.clear()
        self._probe_successes = 0
        if to is CircuitState.OPEN:
            self._opened_until = now + self.config.timeout
        elif to is CircuitState.CLOSED:
            self._failures.clear()
            self._window.clear()
        return transition

    def _emit(self, transitions: list[CircuitTransition]) -> None:
        for transition in transitions:
            level = logging.WARNING if transition.to_state is CircuitState.OPEN else logging.INFO
            logger.log(
                level,
                "circuit breaker %s: %s -> %s (%s)",
                self.name,
                transition.from_state.value,
                transition.to_state.value,
                transition.reason,
                extra={
                    "breaker": self.name,
                    "from_state": transition.from_state.value,
                    "to_state": transition.to_state.value,
                    "reason": transition.reason,
                },
            )
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(transition)
                except Exception:
                    logger.exception(
                        "a circuit breaker listener failed", extra={"breaker": self.name}
                    )
