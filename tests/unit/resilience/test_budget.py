"""The retry budget's token arithmetic, on a manual clock."""

from __future__ import annotations

import pytest

from enterprise_sqs.clock import ManualClock
from enterprise_sqs.config import RetryConfig
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.resilience import RetryBudget


def test_starts_full_and_spends_one_token_per_retry() -> None:
    budget = RetryBudget(ratio=0.0, min_per_second=0.0, capacity=3, clock=ManualClock())
    assert [budget.try_spend() for _ in range(4)] == [True, True, True, False]
    assert budget.available == 0.0


def test_successes_earn_ratio_tokens_up_to_capacity() -> None:
    budget = RetryBudget(ratio=0.25, min_per_second=0.0, capacity=2, clock=ManualClock())
    budget.try_spend()
    budget.try_spend()
    for _ in range(3):
        budget.record_success()
    assert budget.available == pytest.approx(0.75)
    assert not budget.try_spend()
    budget.record_success()
    assert budget.try_spend()
    for _ in range(100):
        budget.record_success()
    assert budget.available == 2.0


def test_the_floor_refills_with_time() -> None:
    clock = ManualClock()
    budget = RetryBudget(ratio=0.0, min_per_second=2.0, capacity=10, clock=clock)
    while budget.try_spend():
        pass
    clock.advance(1.5)
    assert budget.available == pytest.approx(3.0)
    clock.advance(100)
    assert budget.available == 10.0


def test_bounds_retries_over_an_outage() -> None:
    # Over t seconds with no success: at most capacity + floor·t retries.
    clock = ManualClock()
    budget = RetryBudget(ratio=0.2, min_per_second=1.0, capacity=5, clock=clock)
    granted = 0
    for _ in range(600):  # a minute of attempts, ten per second
        granted += budget.try_spend()
        clock.advance(0.1)
    assert granted == 5 + 59  # the initial five, then one per elapsed second


def test_from_config() -> None:
    budget = RetryBudget.from_config(
        RetryConfig(budget_ratio=0.5, budget_min_per_second=0.0, budget_capacity=4)
    )
    assert (budget.ratio, budget.min_per_second, budget.capacity) == (0.5, 0.0, 4.0)


@pytest.mark.parametrize(
    "kwargs", [{"ratio": -1}, {"min_per_second": -0.1}, {"capacity": 0.5}, {"ratio": True}]
)
def test_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="RetryBudget"):
        RetryBudget(**kwargs)  # type: ignore[arg-type]  # bad values on purpose
