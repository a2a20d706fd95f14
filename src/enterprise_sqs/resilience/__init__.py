"""Resilience: the circuit breaker, the retry policy and budget, the resilient client, and
fault injection for tests.

- :class:`CircuitBreaker` (:mod:`.breaker`): CLOSED / OPEN / HALF_OPEN, as in the seed.
- :class:`RetryPolicy` (:mod:`.retry`): full-jitter exponential backoff, deadline, and a
  :class:`RetryBudget` (:mod:`.budget`); :func:`set_testing` makes backoff zero for tests.
- :class:`ResilientBackend` (:mod:`.client`): any Backend behind retry and breaker.
- :class:`FaultyBackend` (:mod:`.faults`): a Backend that fails, stalls or throttles on command.
"""

from enterprise_sqs.resilience.breaker import (
    CircuitBreaker,
    CircuitBreakerStatus,
    CircuitState,
    CircuitTransition,
    default_is_failure,
)
from enterprise_sqs.resilience.budget import RetryBudget
from enterprise_sqs.resilience.client import ResilientBackend
from enterprise_sqs.resilience.faults import FaultRule, FaultyBackend
from enterprise_sqs.resilience.retry import (
    RetryDetails,
    RetryPolicy,
    compute_backoff,
    is_testing,
    no_backoff,
    set_testing,
)
from enterprise_sqs.resilience.stats import ResilienceStats, ResilienceStatsSnapshot

__all__ = [
    "CircuitBreaker",
    "CircuitBreakerStatus",
    "CircuitState",
    "CircuitTransition",
    "FaultRule",
    "FaultyBackend",
    "ResilienceStats",
    "ResilienceStatsSnapshot",
    "ResilientBackend",
    "RetryBudget",
    "RetryDetails",
    "RetryPolicy",
    "compute_backoff",
    "default_is_failure",
    "is_testing",
    "no_backoff",
    "set_testing",
]
