"""The circuit breaker's every transition, on a manual clock."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import CircuitBreakerConfig
from enterprise_sqs.errors import (
    CircuitOpenError,
    ConfigurationError,
    EnterpriseSQSError,
    InvalidParameterValue,
    QueueDoesNotExist,
    RequestTimeout,
    ServiceUnavailable,
    ThrottlingError,
    TransportError,
)
from enterprise_sqs.resilience import (
    CircuitBreaker,
    CircuitState,
    CircuitTransition,
    default_is_failure,
)


def make(clock: ManualClock, **settings: object) -> tuple[CircuitBreaker, list[CircuitTransition]]:
    seen: list[CircuitTransition] = []
    defaults: dict[str, object] = {
        "failure_threshold": 3,
        "timeout": 30.0,
        "monitoring_period": 10.0,
    }
    config = CircuitBreakerConfig(**{**defaults, **settings})  # type: ignore[arg-type]  # test knobs, checked at runtime
    return CircuitBreaker(config, name="b", clock=clock, listeners=[seen.append]), seen


def fail(breaker: CircuitBreaker, error: BaseException | None = None) -> None:
    permit = breaker.acquire()
    breaker.release(permit, error or ServiceUnavailable())


def succeed(breaker: CircuitBreaker) -> None:
    breaker.release(breaker.acquire(), None)


def state_of(breaker: CircuitBreaker) -> CircuitState:
    # A call, not the property: mypy would otherwise narrow the state across transitions.
    return breaker.state


def path(seen: list[CircuitTransition]) -> list[tuple[str, str, str]]:
    return [(t.from_state.value, t.to_state.value, t.reason) for t in seen]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_opens_after_threshold_failures_within_the_window(clock: ManualClock) -> None:
    breaker, seen = make(clock)
    fail(breaker)
    clock.advance(4)
    fail(breaker)
    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.get_circuit_breaker_status().failure_count == 2
    clock.advance(4)
    fail(breaker)
    assert state_of(breaker) is CircuitState.OPEN
    assert path(seen) == [("CLOSED", "OPEN", "failure_threshold")]
    assert seen[0].breaker == "b"


def test_failures_older_than_the_window_do_not_count(clock: ManualClock) -> None:
    breaker, seen = make(clock)
    fail(breaker)
    fail(breaker)
    clock.advance(10)  # the first two are now exactly monitoring_period old: out of the window
    fail(breaker)
    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.get_circuit_breaker_status().failure_count == 1
    clock.advance(5)
    fail(breaker)
    fail(breaker)
    assert state_of(breaker) is CircuitState.OPEN
    assert len(seen) == 1


def test_successes_do_not_reset_the_failure_window(clock: ManualClock) -> None:
    breaker, _ = make(clock)
    fail(breaker)
    succeed(breaker)
    fail(breaker)
    succeed(breaker)
    fail(breaker)
    assert state_of(breaker) is CircuitState.OPEN


@pytest.mark.parametrize(
    "error",
    [InvalidParameterValue(), QueueDoesNotExist(), ValueError("bug"), asyncio.CancelledError()],
)
def test_sender_errors_bugs_and_cancellation_count_as_neither(
    clock: ManualClock, error: BaseException
) -> None:
    breaker, _ = make(clock, failure_threshold=1)
    fail(breaker, error)
    status = breaker.get_circuit_breaker_status()
    assert status.state is CircuitState.CLOSED
    assert (status.failure_count, status.success_count) == (0, 0)
    assert (status.total_failures, status.total_successes) == (0, 0)


@pytest.mark.parametrize(
    "error",
    [
        ThrottlingError(),
        ServiceUnavailable(),
        TransportError(),
        RequestTimeout(),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
def test_default_failures(error: BaseException) -> None:
    assert default_is_failure(error)


def test_open_refuses_calls_with_when_to_retry(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=1)
    fail(breaker)
    clock.advance(12)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.breaker == "b"
    assert info.value.retry_after == pytest.approx(18.0)
    assert info.value.retry_at == pytest.approx(clock.monotonic() + 18.0)
    assert isinstance(info.value, EnterpriseSQSError)
    status = breaker.get_circuit_breaker_status()
    assert status.rejected_count == 1
    assert status.next_attempt_at == pytest.approx(30.0)
    assert status.retry_after == pytest.approx(18.0)
    assert status.time_since_last_failure == pytest.approx(12.0)


async def test_open_call_never_runs_the_function(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=1)
    fail(breaker)
    ran = []

    async def op() -> None:
        ran.append(1)

    with pytest.raises(CircuitOpenError):
        await breaker.call(op)
    assert ran == []


def test_half_open_is_entered_lazily_and_one_probe_closes(clock: ManualClock) -> None:
    breaker, seen = make(clock, failure_threshold=1)
    fail(breaker)
    clock.advance(30)
    # No timer: the breaker still reads OPEN until someone calls, and says it is due.
    status = breaker.get_circuit_breaker_status()
    assert status.state is CircuitState.OPEN
    assert status.retry_after == 0.0
    permit = breaker.acquire()
    assert state_of(breaker) is CircuitState.HALF_OPEN
    assert breaker.get_circuit_breaker_status().in_flight_probes == 1
    breaker.release(permit, None)
    assert state_of(breaker) is CircuitState.CLOSED
    assert path(seen) == [
        ("CLOSED", "OPEN", "failure_threshold"),
        ("OPEN", "HALF_OPEN", "timeout_elapsed"),
        ("HALF_OPEN", "CLOSED", "probe_succeeded"),
    ]
    # Closing starts a fresh window: old failures are forgotten.
    assert breaker.get_circuit_breaker_status().failure_count == 0


def test_a_failed_probe_reopens_for_a_full_timeout(clock: ManualClock) -> None:
    breaker, seen = make(clock, failure_threshold=1)
    fail(breaker)
    clock.advance(31)
    fail(breaker)
    assert state_of(breaker) is CircuitState.OPEN
    assert path(seen)[-1] == ("HALF_OPEN", "OPEN", "probe_failed")
    assert breaker.get_circuit_breaker_status().retry_after == pytest.approx(30.0)


def test_success_threshold_needs_that_many_successful_probes(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=1, success_threshold=2)
    fail(breaker)
    clock.advance(30)
    succeed(breaker)
    assert state_of(breaker) is CircuitState.HALF_OPEN
    assert breaker.get_circuit_breaker_status().success_count == 1
    succeed(breaker)
    assert state_of(breaker) is CircuitState.CLOSED


def test_half_open_admits_at_most_half_open_max_calls(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=1, half_open_max_calls=2, success_threshold=2)
    fail(breaker)
    clock.advance(30)
    first, second = breaker.acquire(), breaker.acquire()
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.retry_after == pytest.approx(30.0)  # when the oldest probe slot expires
    breaker.release(first, InvalidParameterValue())  # neither: frees the slot only
    third = breaker.acquire()
    breaker.release(second, None)
    breaker.release(third, None)
    assert state_of(breaker) is CircuitState.CLOSED


def test_a_probe_that_never_finishes_cannot_leave_the_breaker_stuck(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=1, probe_timeout=5.0)
    fail(breaker)
    clock.advance(30)
    stuck = breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(5)
    probe = breaker.acquire()  # the stuck probe's slot has expired
    breaker.release(probe, None)
    assert state_of(breaker) is CircuitState.CLOSED
    # The stuck call finally fails: too late to count against the recovered breaker.
    breaker.release(stuck, ServiceUnavailable())
    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.get_circuit_breaker_status().failure_count == 0


def test_results_of_calls_admitted_before_a_transition_are_ignored(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=2)
    slow = breaker.acquire()
    fail(breaker)
    fail(breaker)
    assert state_of(breaker) is CircuitState.OPEN
    clock.advance(30)
    probe = breaker.acquire()
    breaker.release(slow, None)  # admitted while CLOSED: says nothing about recovery
    assert state_of(breaker) is CircuitState.HALF_OPEN
    breaker.release(probe, None)
    assert state_of(breaker) is CircuitState.CLOSED


def test_failure_rate_rule_waits_for_minimum_throughput(clock: ManualClock) -> None:
    breaker, seen = make(
        clock, failure_threshold=100, failure_rate_threshold=0.5, minimum_throughput=6
    )
    for _ in range(3):
        fail(breaker)
    succeed(breaker)
    assert state_of(breaker) is CircuitState.CLOSED  # 75% failed, but only 4 calls
    succeed(breaker)
    assert state_of(breaker) is CircuitState.CLOSED  # 5 calls, success does not trip
    fail(breaker)  # 6 calls, 4 failed: 67% ≥ 50%
    assert path(seen) == [("CLOSED", "OPEN", "failure_rate")]


def test_failure_rate_window_rolls(clock: ManualClock) -> None:
    breaker, _ = make(
        clock, failure_threshold=100, failure_rate_threshold=0.5, minimum_throughput=4
    )
    for _ in range(3):
        fail(breaker)
    clock.advance(10)  # those calls leave the window
    for _ in range(3):
        succeed(breaker)
    fail(breaker)  # 1 of 4 in the window
    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.get_circuit_breaker_status().success_count == 3


def test_force_open_holds_until_reset(clock: ManualClock) -> None:
    breaker, seen = make(clock)
    breaker.force_open()
    clock.advance(10_000)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.retry_after is None
    status = breaker.get_circuit_breaker_status()
    assert status.forced and status.state is CircuitState.OPEN and status.retry_after is None
    breaker.reset()
    assert state_of(breaker) is CircuitState.CLOSED
    succeed(breaker)
    assert path(seen) == [("CLOSED", "OPEN", "forced_open"), ("OPEN", "CLOSED", "reset")]
    assert breaker.get_circuit_breaker_status().rejected_count == 0


def test_force_open_for_a_duration_then_probes(clock: ManualClock) -> None:
    breaker, _ = make(clock)
    breaker.force_open(5.0)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(5)
    succeed(breaker)
    assert state_of(breaker) is CircuitState.CLOSED
    with pytest.raises(ConfigurationError, match="duration"):
        breaker.force_open(-1)


def test_reset_forgets_counted_failures(clock: ManualClock) -> None:
    breaker, seen = make(clock)
    fail(breaker)
    fail(breaker)
    breaker.reset()
    fail(breaker)
    assert state_of(breaker) is CircuitState.CLOSED
    assert seen == []


def test_status_reads_like_the_seeds_dict(clock: ManualClock) -> None:
    breaker, _ = make(clock)
    succeed(breaker)
    fail(breaker)
    status = breaker.get_circuit_breaker_status()
    assert status["state"] == "CLOSED"
    assert status.as_dict()["state"] == "CLOSED"
    assert status.as_dict()["failure_count"] == 1
    assert status["success_count"] == 1
    with pytest.raises(KeyError):
        status["nope"]
    with pytest.raises(AttributeError):
        status.state = CircuitState.OPEN  # type: ignore[misc]  # proving it is frozen


def test_a_failing_listener_is_logged_and_ignored(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    breaker, _ = make(clock, failure_threshold=1)

    def broken(_: CircuitTransition) -> None:
        raise RuntimeError("listener bug")

    heard: list[CircuitTransition] = []
    breaker.add_listener(broken)
    remove = breaker.add_listener(heard.append)
    with caplog.at_level(logging.INFO, logger="enterprise_sqs.resilience.breaker"):
        fail(breaker)
    assert len(heard) == 1
    assert any(r.exc_info for r in caplog.records)
    opened = [r for r in caplog.records if getattr(r, "to_state", None) == "OPEN"]
    assert vars(opened[0])["breaker"] == "b"
    assert vars(opened[0])["reason"] == "failure_threshold"
    remove()
    breaker.reset()
    assert len(heard) == 1


def test_disabled_breaker_lets_everything_through(clock: ManualClock) -> None:
    breaker, seen = make(clock, failure_threshold=1, enabled=False)
    for _ in range(5):
        fail(breaker)
    assert state_of(breaker) is CircuitState.CLOSED and seen == []


def test_custom_is_failure(clock: ManualClock) -> None:
    breaker = CircuitBreaker(
        CircuitBreakerConfig(failure_threshold=1),
        clock=clock,
        is_failure=lambda exc: isinstance(exc, KeyError),
    )
    fail(breaker, ServiceUnavailable())
    assert state_of(breaker) is CircuitState.CLOSED
    fail(breaker, KeyError("x"))
    assert state_of(breaker) is CircuitState.OPEN


def test_guard_works_around_sync_code(clock: ManualClock) -> None:
    breaker, _ = make(clock, failure_threshold=1)
    with breaker.guard():
        pass
    with pytest.raises(ServiceUnavailable), breaker.guard():
        raise ServiceUnavailable()
    with pytest.raises(CircuitOpenError), breaker.guard():
        pass


def test_constructor_validates(clock: ManualClock) -> None:
    with pytest.raises(ConfigurationError, match="CircuitBreakerConfig"):
        CircuitBreaker({"failure_threshold": 3})  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ConfigurationError, match="name"):
        CircuitBreaker(name="")


def test_timedelta_settings(clock: ManualClock) -> None:
    breaker = CircuitBreaker(
        CircuitBreakerConfig(failure_threshold=1, timeout=timedelta(minutes=2)), clock=clock
    )
    fail(breaker)
    assert breaker.get_circuit_breaker_status().retry_after == pytest.approx(120.0)


def test_circuit_open_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(CircuitOpenError("b", retry_after=1.5, retry_at=9.0)))
    assert (error.breaker, error.retry_after, error.retry_at) == ("b", 1.5, 9.0)
    assert "1.500 s" in str(error)


def test_threads_keep_counts_exact() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(failure_threshold=10_000))
    per_thread = 2_000

    def work(fail_every: int) -> None:
        for i in range(per_thread):
            permit = breaker.acquire()
            breaker.release(permit, ServiceUnavailable() if i % fail_every == 0 else None)

    threads = [threading.Thread(target=work, args=(4,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    status = breaker.get_circuit_breaker_status()
    assert status.total_failures == 4 * (per_thread // 4)
    assert status.total_successes == 4 * per_thread - status.total_failures


async def test_a_thousand_concurrent_calls_overlap_and_are_counted_exactly() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(failure_threshold=10_000))
    n = 1_000
    running = 0
    peak = 0
    all_in = asyncio.Event()

    async def op(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == n:
            all_in.set()
        # Every call waits until all 1,000 are inside at once: a breaker that serialised
        # calls would never get there (and the wait_for below would fail the test).
        await all_in.wait()
        running -= 1
        if i % 10 == 0:
            raise ServiceUnavailable()
        return i

    async def one(i: int) -> int | None:
        try:
            return await breaker.call(op, i)
        except ServiceUnavailable:
            return None

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout=30)
    assert peak == n
    status = breaker.get_circuit_breaker_status()
    assert status.total_failures == n // 10
    assert status.total_successes == n - n // 10
    assert sum(r is not None for r in results) == status.total_successes
    assert status.failure_count == n // 10


# -- a model check: the threshold rule against a plain reference implementation -------------------

steps = st.lists(
    st.one_of(
        st.tuples(st.just("fail"), st.just(0.0)),
        st.tuples(st.just("ok"), st.just(0.0)),
        st.tuples(st.just("sender"), st.just(0.0)),
        st.tuples(st.just("wait"), st.floats(min_value=0.0, max_value=40.0)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=2))
def test_breaker_matches_a_reference_model(
    script: list[tuple[str, float]], threshold: int, success_threshold: int
) -> None:
    clock = ManualClock()
    breaker, _ = make(clock, failure_threshold=threshold, success_threshold=success_threshold)
    state, opened_at, probe_ok = "CLOSED", 0.0, 0
    failures: list[float] = []
    for action, amount in script:
        now = clock.monotonic()
        if action == "wait":
            clock.advance(amount)
            continue
        if state == "OPEN":
            if now - opened_at < 30.0:
                with pytest.raises(CircuitOpenError):
                    breaker.acquire()
                continue
            state, probe_ok = "HALF_OPEN", 0
        error = {"fail": ServiceUnavailable(), "ok": None, "sender": QueueDoesNotExist()}[action]
        breaker.release(breaker.acquire(), error)
        if action == "fail":
            if state == "HALF_OPEN":
                state, opened_at = "OPEN", now
            else:
                failures = [t for t in failures if t > now - 10.0] + [now]
                if len(failures) >= threshold:
                    state, opened_at, failures = "OPEN", now, []
        elif action == "ok" and state == "HALF_OPEN":
            probe_ok += 1
            if probe_ok >= success_threshold:
                state, failures = "CLOSED", []
        assert state_of(breaker).value == state, (action, now)
