"""The backoff formula, the retry rules, the budget, and batch retries of only what may succeed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import RetryConfig
from enterprise_sqs.errors import (
    CircuitOpenError,
    ConfigurationError,
    InvalidParameterValue,
    QueueDoesNotExist,
    ServiceUnavailable,
    SQSError,
    ThrottlingError,
    TransportError,
)
from enterprise_sqs.models import BatchFailure, BatchResult, SendEntry, SendSuccess
from enterprise_sqs.resilience import (
    RetryBudget,
    RetryDetails,
    RetryPolicy,
    compute_backoff,
    is_testing,
    no_backoff,
    set_testing,
)


def top(a: float, b: float) -> float:
    return b


# -- the formula ----------------------------------------------------------------------------------


def test_the_seeds_production_backoff_ceilings() -> None:
    ceilings = [
        compute_backoff(n, initial_delay=2.0, multiplier=2.0, max_backoff=60.0, uniform=top)
        for n in range(7)
    ]
    assert ceilings == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    calls: list[tuple[float, float]] = []

    def record(a: float, b: float) -> float:
        calls.append((a, b))
        return (a + b) / 2

    delay = compute_backoff(3, initial_delay=0.5, multiplier=3.0, max_backoff=100.0, uniform=record)
    assert calls == [(0.0, 13.5)]
    assert delay == 6.75


@given(
    retry=st.integers(min_value=0, max_value=10_000),
    initial=st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=100.0)),
    multiplier=st.floats(min_value=1.0, max_value=100.0),
    extra=st.floats(min_value=0.0, max_value=1000.0),
    fraction=st.floats(min_value=0.0, max_value=1.0),
)
def test_backoff_stays_within_bounds(
    retry: int, initial: float, multiplier: float, extra: float, fraction: float
) -> None:
    cap = initial + extra
    delay = compute_backoff(
        retry,
        initial_delay=initial,
        multiplier=multiplier,
        max_backoff=cap,
        uniform=lambda a, b: a + (b - a) * fraction,
    )
    # An independent oracle: exact decimal arithmetic never overflows where floats would.
    ceiling = float(min(Decimal(cap), Decimal(initial) * Decimal(multiplier) ** retry))
    assert 0.0 <= delay <= cap
    assert delay == pytest.approx(ceiling * fraction, rel=1e-9, abs=1e-12)


def test_backoff_rejects_negative_retry() -> None:
    with pytest.raises(ConfigurationError):
        compute_backoff(-1, initial_delay=1, multiplier=2, max_backoff=2)


def test_test_mode_makes_backoff_zero() -> None:
    policy = RetryPolicy(RetryConfig(initial_delay=5, max_backoff=50), uniform=top)
    assert policy.backoff(2) == 20.0
    with no_backoff():
        assert is_testing()
        assert policy.backoff(2) == 0.0
    assert not is_testing()
    set_testing(True)
    try:
        assert policy.backoff(5) == 0.0
    finally:
        set_testing(False)


# -- the retry loop -------------------------------------------------------------------------------


class Sleeps:
    """A sleep that records and moves a manual clock instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)


def policy(clock: ManualClock, **config: object) -> tuple[RetryPolicy, Sleeps]:
    sleeps = Sleeps(clock)
    defaults: dict[str, object] = {"max_retries": 3, "initial_delay": 1.0, "max_backoff": 100.0}
    retry_config = RetryConfig(**{**defaults, **config})  # type: ignore[arg-type]  # test knobs, checked at runtime
    return RetryPolicy(retry_config, uniform=top, sleep=sleeps, clock=clock), sleeps


class Flaky:
    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retries_retryable_errors_with_backoff_then_succeeds() -> None:
    clock = ManualClock()
    retry, sleeps = policy(clock)
    flaky = Flaky(ThrottlingError(), TransportError())
    assert await retry.call(flaky) == "ok"
    assert flaky.calls == 3
    assert sleeps.delays == [1.0, 2.0]
    snap = retry.stats.snapshot()
    assert (snap.attempts, snap.retries) == (3, 2)


async def test_never_more_than_max_retries() -> None:
    clock = ManualClock()
    retry, sleeps = policy(clock, max_retries=2)
    flaky = Flaky(*[ServiceUnavailable() for _ in range(10)])
    with pytest.raises(ServiceUnavailable):
        await retry.call(flaky)
    assert flaky.calls == 3
    assert len(sleeps.delays) == 2


@pytest.mark.parametrize(
    "error", [InvalidParameterValue(), QueueDoesNotExist(), CircuitOpenError("b"), KeyError("x")]
)
async def test_non_retryable_errors_are_raised_at_once(error: BaseException) -> None:
    retry, sleeps = policy(ManualClock())
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        await retry.call(flaky)
    assert flaky.calls == 1 and sleeps.delays == []


async def test_max_retries_zero_disables_retrying() -> None:
    retry, _ = policy(ManualClock(), max_retries=0)
    flaky = Flaky(ServiceUnavailable())
    with pytest.raises(ServiceUnavailable):
        await retry.call(flaky)
    assert flaky.calls == 1


async def test_deadline_stops_a_retry_that_would_end_too_late() -> None:
    clock = ManualClock()
    retry, sleeps = policy(clock, max_retries=10, deadline=10.0)
    flaky = Flaky(*[ServiceUnavailable() for _ in range(10)])
    with pytest.raises(ServiceUnavailable):
        await retry.call(flaky)
    # Delays 1, 2, 4 end at t=7; the next (8) would end at 15 > 10.
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert retry.stats.snapshot().deadline_exceeded == 1


async def test_budget_stops_a_retry_storm_across_calls() -> None:
    clock = ManualClock()
    sleeps = Sleeps(clock)
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, capacity=2.0, clock=clock)
    retry = RetryPolicy(
        RetryConfig(max_retries=5, initial_delay=0.0, max_backoff=0.0),
        budget=budget,
        sleep=sleeps,
        clock=clock,
    )
    flaky = Flaky(*[ServiceUnavailable() for _ in range(100)])
    with pytest.raises(ServiceUnavailable):
        await retry.call(flaky)
    assert flaky.calls == 3  # the first attempt and the two retries the bucket held
    with pytest.raises(ServiceUnavailable):
        await retry.call(flaky)
    assert flaky.calls == 4  # no token left: no retry at all
    assert retry.stats.snapshot().budget_exhausted == 2
    # Two successes earn one retry back.
    ok = Flaky()
    await retry.call(ok)
    await retry.call(ok)
    flaky.calls = 0
    with pytest.raises(ServiceUnavailable):
        await retry.call(flaky)
    assert flaky.calls == 2


async def test_retry_hooks_and_logs_carry_structured_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[RetryDetails] = []
    clock = ManualClock()
    retry = RetryPolicy(
        RetryConfig(max_retries=1, initial_delay=1.0),
        uniform=top,
        sleep=Sleeps(clock),
        clock=clock,
        on_retry=[heard.append],
    )
    with caplog.at_level(logging.INFO, logger="enterprise_sqs.resilience.retry"):
        await retry.call(Flaky(ThrottlingError()), operation="receive", queue_url="q")
    assert [(d.operation, d.retry, d.delay, d.queue_url) for d in heard] == [
        ("receive", 1, 1.0, "q")
    ]
    assert isinstance(heard[0].error, ThrottlingError)
    (record,) = caplog.records
    fields = vars(record)
    assert fields["operation"] == "receive"
    assert fields["retry"] == 1
    assert fields["error_code"] == "RequestThrottled"
    assert fields["delay_seconds"] == 1.0


def test_policy_validates_its_config() -> None:
    with pytest.raises(ConfigurationError, match="RetryConfig"):
        RetryPolicy({"max_retries": 1})  # type: ignore[arg-type]  # the wrong type on purpose


# -- batches --------------------------------------------------------------------------------------


def entries(*ids: str) -> list[SendEntry]:
    return [SendEntry(id=i, body=f"body-{i}") for i in ids]


class BatchScript:
    """Answers each round from a script: {entry id: error} per round; unlisted entries succeed."""

    def __init__(self, *rounds: dict[str, SQSError] | BaseException) -> None:
        self.rounds = list(rounds)
        self.sent: list[list[str]] = []

    async def __call__(self, pending: Sequence[SendEntry]) -> BatchResult[SendSuccess]:
        self.sent.append([e.id for e in pending])
        plan = self.rounds.pop(0) if self.rounds else {}
        if isinstance(plan, BaseException):
            raise plan
        ok = [
            SendSuccess(id=e.id, message_id=f"mid-{e.id}", md5_of_body="")
            for e in pending
            if e.id not in plan
        ]
        failed = [
            BatchFailure(
                id=i, code=err.actual_code, message=err.message, sender_fault=err.sender_fault
            )
            for i, err in plan.items()
        ]
        return BatchResult(ok, failed)


async def test_batch_retries_exactly_the_retryable_failed_entries() -> None:
    retry, _ = policy(ManualClock())
    script = BatchScript(
        {"b": ServiceUnavailable(), "c": InvalidParameterValue(), "d": ThrottlingError()},
        {"d": ServiceUnavailable()},
    )
    result = await retry.call_batch(script, entries("a", "b", "c", "d", "e"))
    assert script.sent == [["a", "b", "c", "d", "e"], ["b", "d"], ["d"]]
    assert sorted(s.id for s in result.successful) == ["a", "b", "d", "e"]
    assert [(f.id, f.code) for f in result.failed] == [("c", "InvalidParameterValue")]
    snap = retry.stats.snapshot()
    assert (snap.retries, snap.retried_entries) == (2, 3)


async def test_batch_gives_up_on_entries_after_max_retries() -> None:
    retry, _ = policy(ManualClock(), max_retries=1)
    script = BatchScript({"a": ServiceUnavailable()}, {"a": ServiceUnavailable()})
    result = await retry.call_batch(script, entries("a", "b"))
    assert script.sent == [["a", "b"], ["a"]]
    assert [s.id for s in result.successful] == ["b"]
    assert [(f.id, f.code) for f in result.failed] == [("a", "ServiceUnavailable")]


async def test_batch_whole_request_failure_is_retried_then_raised() -> None:
    retry, _ = policy(ManualClock(), max_retries=1)
    script = BatchScript(TransportError(), TransportError())
    with pytest.raises(TransportError):
        await retry.call_batch(script, entries("a", "b"))
    assert script.sent == [["a", "b"], ["a", "b"]]


async def test_batch_sender_fault_request_is_not_retried() -> None:
    retry, _ = policy(ManualClock())
    script = BatchScript(QueueDoesNotExist())
    with pytest.raises(QueueDoesNotExist):
        await retry.call_batch(script, entries("a"))
    assert len(script.sent) == 1


@pytest.mark.parametrize("late_error", [QueueDoesNotExist(), CircuitOpenError("b", retry_after=3)])
async def test_batch_keeps_earlier_successes_when_a_later_round_fails_whole(
    late_error: BaseException,
) -> None:
    retry, _ = policy(ManualClock())
    script = BatchScript({"b": ServiceUnavailable(), "c": ServiceUnavailable()}, late_error)
    result = await retry.call_batch(script, entries("a", "b", "c"))
    assert [s.id for s in result.successful] == ["a"]
    assert sorted(f.id for f in result.failed) == ["b", "c"]
    assert all(
        f.code
        == (
            "AWS.SimpleQueueService.NonExistentQueue"
            if isinstance(late_error, QueueDoesNotExist)
            else "ServiceUnavailable"
        )
        for f in result.failed
    )


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=10),
    max_retries=st.integers(min_value=0, max_value=4),
)
async def test_batch_retry_property(data: st.DataObject, n: int, max_retries: int) -> None:
    """Each round re-sends exactly the previous round's retryable failures; every entry ends up
    in exactly one of successful/failed; never more than max_retries + 1 rounds."""
    outcomes = st.sampled_from(["ok", "ok", "retryable", "throttled", "sender"])
    errors = {
        "retryable": ServiceUnavailable(),
        "throttled": ThrottlingError(),
        "sender": InvalidParameterValue(),
    }
    sent: list[list[str]] = []
    plans: list[dict[str, str]] = []

    async def send(pending: Sequence[SendEntry]) -> BatchResult[SendSuccess]:
        ids = [e.id for e in pending]
        sent.append(ids)
        plan = {i: data.draw(outcomes) for i in ids}
        plans.append(plan)
        return BatchResult(
            [SendSuccess(id=i, message_id=i, md5_of_body="") for i in ids if plan[i] == "ok"],
            [
                BatchFailure(
                    id=i,
                    code=errors[o].actual_code,
                    message="",
                    sender_fault=errors[o].sender_fault,
                )
                for i, o in plan.items()
                if o != "ok"
            ],
        )

    retry, _ = policy(ManualClock(), max_retries=max_retries)
    ids = [f"e{i}" for i in range(n)]
    result = await retry.call_batch(send, entries(*ids))

    assert sent[0] == ids
    assert len(sent) <= max_retries + 1
    for plan, next_round in zip(plans, sent[1:], strict=False):
        assert next_round == [i for i, o in plan.items() if o in ("retryable", "throttled")]
    ok = [s.id for s in result.successful]
    failed = [f.id for f in result.failed]
    assert sorted(ok + failed) == sorted(ids)
    expected_ok = {i for plan in plans for i, o in plan.items() if o == "ok"}
    assert set(ok) == expected_ok
