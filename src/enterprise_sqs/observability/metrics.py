"""Client metrics: counters per queue, latency histograms, and the seed's ``getMetrics()`` shape.

:class:`MetricsCollector` keeps one :class:`QueueMeter` per queue. The client hands each publisher
and consumer it creates the meter of its queue, and they report every outcome to it with a plain
method call (no event object is built for metrics); the collector turns the meters into a
:class:`Metrics` snapshot::

    metrics = sqs.get_metrics()
    metrics.system.success_rate            # percent, 100.0 when nothing happened yet
    metrics.circuit_breaker.state          # "CLOSED" / "OPEN" / "HALF_OPEN"
    metrics.components.active_consumers
    metrics.queues["orders"].processing_time.p99

Cheap enough to leave on: an outcome costs a few integer additions and, for timed outcomes, one
bisection into a fixed bucket array (about 1 µs per message in all; building an event object per
message cost about five times that, measured with benchmarks/observability_overhead.py).
Memory is bounded by the number of queues, never by the number of messages: latencies live in
:class:`LatencyHistogram` (fixed log-spaced buckets, so a percentile is exact to within one
bucket: at most 33 % of its value, see :data:`BUCKET_BOUNDS`), throughput in :class:`RateWindow`
(one slot per second of a sliding window).

Definitions (seconds throughout, as everywhere in this library; the seed used milliseconds):

- ``total_messages``: messages SQS accepted from our publishers plus messages our consumers'
  handlers finished (successfully or not) since the last reset.
- ``success_rate``: ``100 * (sent + processed) / (sent + send_failed + processed + failed)``.
- ``throughput``: ``total_messages`` counted over the last ``window`` seconds (default 60), per
  second (over the time since the reset while that is shorter than the window, and over at
  least one second).
- ``average_processing_time``: the mean handler duration of finished messages.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.consuming.events import ConsumerEvent
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.publishing.events import PublishEvent

__all__ = [
    "BUCKET_BOUNDS",
    "CircuitBreakerMetrics",
    "ComponentMetrics",
    "LatencyHistogram",
    "LatencySummary",
    "Metrics",
    "MetricsCollector",
    "QueueMeter",
    "QueueMetrics",
    "RateWindow",
    "SystemMetrics",
]

_MANTISSAS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)
#: Upper bounds (seconds) of the latency buckets: 100 µs to 750 s, ten per decade, plus an
#: overflow bucket. Every Prometheus default-style bound we export is one of them.
BUCKET_BOUNDS: tuple[float, ...] = tuple(
    round(m * 10.0**exp, 10) for exp in range(-4, 3) for m in _MANTISSAS
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySummary:
    """A histogram read out: count, sum, mean, min, max and estimated percentiles (seconds)."""

    count: int = 0
    sum: float = 0.0
    mean: float = 0.0
    min: float = 0.0
    max: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0


class LatencyHistogram:
    """Durations in fixed buckets (:data:`BUCKET_BOUNDS`): constant memory, O(log n) to add."""

    __slots__ = ("count", "counts", "max", "min", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKET_BOUNDS) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = 0.0
        self.max = 0.0

    def observe(self, seconds: float) -> None:
        if seconds < 0:
            seconds = 0.0
        self.counts[bisect_left(BUCKET_BOUNDS, seconds)] += 1
        if self.count == 0 or seconds < self.min:
            self.min = seconds
        if seconds > self.max:
            self.max = seconds
        self.count += 1
        self.sum += seconds

    def percentile(self, q: float) -> float:
        """The ``q``-quantile (0 < q ≤ 1), interpolated linearly inside its bucket and clamped
        to the observed min and max; 0.0 when empty."""
        if self.count == 0:
            return 0.0
        rank = q * self.count
        seen = 0
        for index, n in enumerate(self.counts):
            if n and seen + n >= rank:
                lower = BUCKET_BOUNDS[index - 1] if index > 0 else 0.0
                upper = BUCKET_BOUNDS[index] if index < len(BUCKET_BOUNDS) else self.max
                value = lower + (upper - lower) * max(0.0, rank - seen) / n
                return min(max(value, self.min), self.max)
            seen += n
        return self.max

    def cumulative(self, bounds: tuple[float, ...]) -> list[int]:
        """Counts of observations ≤ each of ``bounds`` (each must be one of BUCKET_BOUNDS)."""
        result = []
        for bound in bounds:
            index = BUCKET_BOUNDS.index(bound)
            result.append(sum(self.counts[: index + 1]))
        return result

    def summary(self) -> LatencySummary:
        if self.count == 0:
            return LatencySummary()
        return LatencySummary(
            count=self.count,
            sum=self.sum,
            mean=self.sum / self.count,
            min=self.min,
            max=self.max,
            p50=self.percentile(0.5),
            p90=self.percentile(0.9),
            p95=self.percentile(0.95),
            p99=self.percentile(0.99),
        )


class RateWindow:
    """Events per second over a sliding window of whole seconds (one slot per second)."""

    __slots__ = ("_counts", "_seconds", "window")

    def __init__(self, window: int = 60) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 3600:
            raise ConfigurationError(f"window must be an int from 1 to 3600 s, got {window!r}")
        self.window = window
        self.clear()

    def clear(self) -> None:
        self._seconds = [-1] * self.window
        self._counts = [0] * self.window

    def add(self, now: float, amount: int = 1) -> None:
        second = int(now)
        slot = second % self.window
        if self._seconds[slot] != second:
            self._seconds[slot] = second
            self._counts[slot] = 0
        self._counts[slot] += amount

    def total(self, now: float) -> int:
        """Events in the last ``window`` whole seconds, the current one included."""
        newest = int(now)
        oldest = newest - self.window
        return sum(
            n for s, n in zip(self._seconds, self._counts, strict=True) if oldest < s <= newest
        )


_QUEUE_COUNTERS = (
    "sent",
    "send_failed",
    "duplicates",
    "received",
    "processed",
    "failed",
    "retried",
    "dead_lettered",
    "discarded",
    "timed_out",
    "released",
    "poll_errors",
    "empty_polls",
)


class QueueMeter:
    """One queue's counters and latency histograms, fed directly by its publishers and consumers.

    Implements :class:`~enterprise_sqs.publishing.events.PublishMeter` and
    :class:`~enterprise_sqs.consuming.events.ConsumerMeter`. Updated from the event loop only.
    Finished work (messages SQS accepted, handler runs that ended) also counts toward the
    collector's throughput window, shared by every queue.
    """

    __slots__ = (*_QUEUE_COUNTERS, "_now", "_rate", "processing", "publishing")

    def __init__(self, rate: RateWindow, now: Callable[[], float]) -> None:
        self._rate = rate
        self._now = now
        self.clear()

    sent: int
    send_failed: int
    duplicates: int
    received: int
    processed: int
    failed: int
    retried: int
    dead_lettered: int
    discarded: int
    timed_out: int
    released: int
    poll_errors: int
    empty_polls: int

    def clear(self) -> None:
        for name in _QUEUE_COUNTERS:
            setattr(self, name, 0)
        self.processing = LatencyHistogram()
        self.publishing = LatencyHistogram()

    # -- publishers -------------------------------------------------------------------------------

    def published(self, seconds: float) -> None:
        self.sent += 1
        self.publishing.observe(seconds)
        self._rate.add(self._now())

    def publish_failed(self, seconds: float) -> None:
        self.send_failed += 1
        self.publishing.observe(seconds)

    def duplicate(self) -> None:
        self.duplicates += 1

    # -- consumers --------------------------------------------------------------------------------

    def record(self, kind: str, duration: float | None = None, count: int = 1) -> None:
        """A consumer outcome of ``kind`` (a :data:`~enterprise_sqs.consuming.events.EventKind`);
        kinds metrics does not count are ignored."""
        if kind == "processed":
            self.processed += 1
            self._finished(duration)
        elif kind == "received":
            self.received += count
        elif kind in ("failed", "dead_lettered", "discarded"):
            # A retryable failure reports "failed" then "retried"; a non-retryable one only its
            # fate: each handler failure is counted here exactly once.
            self.failed += 1
            if kind == "dead_lettered":
                self.dead_lettered += 1
            elif kind == "discarded":
                self.discarded += 1
            self._finished(duration)
        elif kind == "retried":
            self.retried += 1
        elif kind == "timed_out":
            self.timed_out += 1
        elif kind == "released":
            self.released += 1
        elif kind == "poll_failed":
            self.poll_errors += 1
        elif kind == "empty_poll":
            self.empty_polls += 1

    def _finished(self, duration: float | None) -> None:
        if duration is not None:
            self.processing.observe(duration)
        self._rate.add(self._now())


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMetrics:
    """One queue's counts since the last reset; ``in_flight`` is held by consumers right now.

    ``failed`` counts handler failures of any kind (retried ones, timeouts, dead-lettered and
    discarded messages); ``retried`` counts messages returned for another attempt, including
    those a handler asked to retry with :class:`~enterprise_sqs.errors.Retry`.
    """

    sent: int = 0
    send_failed: int = 0
    duplicates: int = 0
    received: int = 0
    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    discarded: int = 0
    timed_out: int = 0
    released: int = 0
    poll_errors: int = 0
    empty_polls: int = 0
    in_flight: int = 0
    processing_time: LatencySummary = field(default_factory=LatencySummary)
    publish_latency: LatencySummary = field(default_factory=LatencySummary)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemMetrics:
    """The seed's ``metrics.system`` (see the module docstring for each definition).

    ``uptime`` is seconds since the client was created; ``since_reset`` since the last reset.
    """

    uptime: float
    total_messages: int
    success_rate: float
    throughput: float
    average_processing_time: float
    since_reset: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerMetrics:
    """The client's breaker, as the seed's ``metrics.circuitBreaker``."""

    state: str = "CLOSED"
    failure_count: int = 0
    success_count: int = 0
    rejected_count: int = 0
    time_since_last_failure: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentMetrics:
    """The seed's ``metrics.components``."""

    publishers: int = 0
    consumers: int = 0
    active_consumers: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Metrics:
    """What ``sqs.get_metrics()`` returns. ``resilience`` holds the retry/breaker counters
    (:class:`~enterprise_sqs.resilience.stats.ResilienceStatsSnapshot` as a dict)."""

    system: SystemMetrics
    circuit_breaker: CircuitBreakerMetrics
    components: ComponentMetrics
    queues: Mapping[str, QueueMetrics]
    resilience: Mapping[str, int]
    timestamp: float

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (``/healthz``, dashboards)."""
        data = asdict(self)
        data["queues"] = {name: asdict(q) for name, q in self.queues.items()}
        data["resilience"] = dict(self.resilience)
        return data


class MetricsCollector:
    """Counts what publishers and consumers report, one :class:`QueueMeter` per queue.

    The client gives each publisher and consumer :meth:`meter` of its queue; anything else can
    feed the collector with events through :meth:`on_publish` and :meth:`on_consumer` (observers
    of ``publisher.events`` and ``consumer.subscribe``).

    Updated from the event loop only; reads from other threads see consistent integers.

    Args:
        clock: for uptime and throughput (inject a ManualClock in tests).
        window: seconds of the throughput window.
    """

    def __init__(self, *, clock: Clock | None = None, window: int = 60) -> None:
        self._clock = clock or SystemClock()
        self._started = self._clock.monotonic()
        self._since = self._started
        self._queues: dict[str, QueueMeter] = {}
        self._rate = RateWindow(window)
        self._now = self._clock.monotonic  # bound once: it runs for every message

    @property
    def clock(self) -> Clock:
        return self._clock

    def meter(self, queue: str) -> QueueMeter:
        """The meter of ``queue`` (a queue name), created on first use and kept for good:
        components hold on to it, and :meth:`reset` clears it in place."""
        meter = self._queues.get(queue)
        if meter is None:
            meter = self._queues[queue] = QueueMeter(self._rate, self._now)
        return meter

    def on_publish(self, event: PublishEvent) -> None:
        meter = self.meter(event.queue)
        if event.kind == "published":
            meter.published(event.duration)
        elif event.kind == "failed":
            meter.publish_failed(event.duration)
        else:
            meter.duplicate()

    def on_consumer(self, event: ConsumerEvent) -> None:
        meter = self.meter(event.queue)
        meter.record(event.kind, event.duration, event.count)

    def reset(self) -> None:
        """Forget every count and latency; uptime goes on, ``since_reset`` starts again."""
        for meter in self._queues.values():
            meter.clear()
        self._rate.clear()
        self._since = self._clock.monotonic()

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def histograms(self) -> dict[str, tuple[LatencyHistogram, LatencyHistogram]]:
        """Live (processing, publishing) histograms by queue, for exporters."""
        return {name: (q.processing, q.publishing) for name, q in self._queues.items()}

    def snapshot(
        self,
        *,
        circuit_breaker: CircuitBreakerMetrics | None = None,
        components: ComponentMetrics | None = None,
        in_flight: Mapping[str, int] | None = None,
        resilience: Mapping[str, int] | None = None,
    ) -> Metrics:
        """The numbers now, with what the collector cannot see given by the caller (the
        breaker, the components, messages held right now)."""
        now = self._clock.monotonic()
        in_flight = in_flight or {}
        queues: dict[str, QueueMetrics] = {}
        sent = failed_sends = processed = failed = handled_count = 0
        handled_seconds = 0.0
        names = list(self._queues)
        names += [n for n in in_flight if n not in self._queues]
        for name in names:
            q = self._queues.get(name) or QueueMeter(self._rate, self._now)
            counts = {c: getattr(q, c) for c in _QUEUE_COUNTERS}
            queues[name] = QueueMetrics(
                **counts,
                in_flight=in_flight.get(name, 0),
                processing_time=q.processing.summary(),
                publish_latency=q.publishing.summary(),
            )
            sent += q.sent
            failed_sends += q.send_failed
            processed += q.processed
            failed += q.failed
            handled_count += q.processing.count
            handled_seconds += q.processing.sum
        attempts = sent + failed_sends + processed + failed
        elapsed = max(now - self._since, 0.0)
        span = max(1.0, min(float(self._rate.window), elapsed))
        recent = self._rate.total(now)
        system = SystemMetrics(
            uptime=max(now - self._started, 0.0),
            total_messages=sent + processed + failed,
            success_rate=100.0 * (sent + processed) / attempts if attempts else 100.0,
            throughput=recent / span,
            average_processing_time=handled_seconds / handled_count if handled_count else 0.0,
            since_reset=elapsed,
        )
        return Metrics(
            system=system,
            circuit_breaker=circuit_breaker or CircuitBreakerMetrics(),
            components=components or ComponentMetrics(),
            queues=queues,
            resilience=dict(resilience or {}),
            timestamp=self._clock.time(),
        )
