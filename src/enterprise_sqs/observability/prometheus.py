"""Prometheus export of the client's metrics (the ``prometheus`` extra: ``prometheus-client``).

:class:`PrometheusExporter` is a custom collector: it reads the live counters and histograms at
scrape time, so exporting costs nothing per message. Labels are ``queue`` and ``outcome`` only —
never a message id or anything else that grows without bound.

Names follow Prometheus conventions and, where OpenTelemetry's messaging conventions define a
metric, its name translated the Prometheus way (dots to underscores, unit suffix, ``_total``)::

    messaging_client_sent_messages_total{queue,outcome}      messaging.client.sent.messages
        outcome: success | error | duplicate
    messaging_client_consumed_messages_total{queue}          messaging.client.consumed.messages
    messaging_process_duration_seconds{queue}                messaging.process.duration
    esqs_publish_duration_seconds{queue}                     publish call to result
    esqs_consumer_messages_total{queue,outcome}              processed | failed | retried |
                                                             dead_lettered | discarded |
                                                             timed_out | released
    esqs_receive_errors_total{queue}, esqs_empty_receives_total{queue}
    esqs_messages_in_flight{queue}
    esqs_client_calls_total{outcome}                         success | failure | rejected
    esqs_client_retries_total, esqs_circuit_breaker_state (0 closed, 1 half-open, 2 open),
    esqs_circuit_breaker_failures, esqs_uptime_seconds, esqs_success_ratio,
    esqs_throughput_messages_per_second, esqs_average_processing_seconds,
    esqs_publishers, esqs_consumers, esqs_consumers_active

``reset_metrics()`` sets the counters back to zero; Prometheus's ``rate()`` treats that as a
counter reset, as it does a process restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability.metrics import LatencyHistogram, Metrics

__all__ = ["PROMETHEUS_BUCKETS", "PrometheusExporter", "prometheus_available"]

#: Histogram bounds exported (seconds); each is one of the collector's own bucket bounds.
PROMETHEUS_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
_BREAKER_STATES = {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}
_CONSUMER_OUTCOMES = (
    "processed",
    "failed",
    "retried",
    "dead_lettered",
    "discarded",
    "timed_out",
    "released",
)


def prometheus_available() -> bool:
    try:
        import prometheus_client  # noqa: F401  # probing the optional dependency
    except ImportError:
        return False
    return True


def _client() -> Any:
    try:
        import prometheus_client  # optional dependency, loaded on demand
        import prometheus_client.core
    except ImportError as exc:
        raise ConfigurationError(
            "Prometheus export needs prometheus-client: pip install 'enterprise-sqs[prometheus]'"
        ) from exc
    return prometheus_client


Histograms = dict[str, tuple[LatencyHistogram, LatencyHistogram]]


class PrometheusExporter:
    """A prometheus_client collector over a client's metrics.

    Args:
        metrics: returns the current :class:`Metrics` (``sqs.get_metrics``).
        histograms: returns the live (processing, publishing) histograms by queue.

    Raises:
        ConfigurationError: prometheus-client is not installed.
    """

    def __init__(
        self, metrics: Callable[[], Metrics], histograms: Callable[[], Histograms]
    ) -> None:
        self._prom = _client()
        self._metrics = metrics
        self._histograms = histograms
        self._registry: Any = None

    @property
    def registry(self) -> Any:
        """A CollectorRegistry holding only this exporter (created on first use)."""
        if self._registry is None:
            self._registry = self._prom.CollectorRegistry(auto_describe=False)
            self._registry.register(self)
        return self._registry

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST

    def describe(self) -> list[Any]:
        return []  # metric names depend on the queues seen; describe nothing up front

    def collect(self) -> Iterator[Any]:
        core = self._prom.core
        counter, gauge = core.CounterMetricFamily, core.GaugeMetricFamily
        metrics = self._metrics()
        queues = metrics.queues

        sent = counter(
            "messaging_client_sent_messages",
            "Messages published, by outcome (success: SQS accepted it).",
            labels=["queue", "outcome"],
        )
        consumed = counter(
            "messaging_client_consumed_messages", "Messages received.", labels=["queue"]
        )
        handled = counter(
            "esqs_consumer_messages",
            "Messages by what the consumer did with them.",
            labels=["queue", "outcome"],
        )
        receive_errors = counter(
            "esqs_receive_errors", "Receive calls that failed.", labels=["queue"]
        )
        empty = counter(
            "esqs_empty_receives", "Receive calls that returned nothing.", labels=["queue"]
        )
        in_flight = gauge(
            "esqs_messages_in_flight", "Messages held by consumers now.", labels=["queue"]
        )
        for name, q in queues.items():
            sent.add_metric([name, "success"], q.sent)
            sent.add_metric([name, "error"], q.send_failed)
            sent.add_metric([name, "duplicate"], q.duplicates)
            consumed.add_metric([name], q.received)
            for outcome in _CONSUMER_OUTCOMES:
                handled.add_metric([name, outcome], getattr(q, outcome))
            receive_errors.add_metric([name], q.poll_errors)
            empty.add_metric([name], q.empty_polls)
            in_flight.add_metric([name], q.in_flight)
        yield from (sent, consumed, handled, receive_errors, empty, in_flight)

        process = core.HistogramMetricFamily(
            "messaging_process_duration_seconds", "Handler duration.", labels=["queue"]
        )
        publish = core.HistogramMetricFamily(
            "esqs_publish_duration_seconds", "Publish call to result.", labels=["queue"]
        )
        for name, (processing, publishing) in self._histograms().items():
            for family, histogram in ((process, processing), (publish, publishing)):
                cumulative = histogram.cumulative(PROMETHEUS_BUCKETS)
                buckets = [
                    (_le(bound), count)
                    for bound, count in zip(PROMETHEUS_BUCKETS, cumulative, strict=True)
                ]
                buckets.append(("+Inf", histogram.count))
                family.add_metric([name], buckets, histogram.sum)
        yield from (process, publish)

        resilience = metrics.resilience
        calls = counter("esqs_client_calls", "SQS operations, by outcome.", labels=["outcome"])
        calls.add_metric(["success"], resilience.get("successes", 0))
        calls.add_metric(["failure"], resilience.get("failures", 0))
        calls.add_metric(["rejected"], resilience.get("rejections", 0))
        yield calls
        yield counter(
            "esqs_client_retries", "Retried attempts.", value=resilience.get("retries", 0)
        )
        breaker = metrics.circuit_breaker
        yield gauge(
            "esqs_circuit_breaker_state",
            "The client's breaker: 0 closed, 1 half-open, 2 open.",
            value=_BREAKER_STATES.get(breaker.state, 2),
        )
        yield gauge(
            "esqs_circuit_breaker_failures",
            "Failures in the breaker's window.",
            value=breaker.failure_count,
        )
        system, components = metrics.system, metrics.components
        yield gauge("esqs_uptime_seconds", "Seconds since the client started.", value=system.uptime)
        yield gauge(
            "esqs_success_ratio",
            "Successful sends and handlings over all attempts (0-1).",
            value=system.success_rate / 100,
        )
        yield gauge(
            "esqs_throughput_messages_per_second",
            "Messages sent or handled per second, recent window.",
            value=system.throughput,
        )
        yield gauge(
            "esqs_average_processing_seconds",
            "Mean handler duration.",
            value=system.average_processing_time,
        )
        yield gauge("esqs_publishers", "Publishers created.", value=components.publishers)
        yield gauge("esqs_consumers", "Consumers created.", value=components.consumers)
        yield gauge(
            "esqs_consumers_active", "Consumers running.", value=components.active_consumers
        )


def _le(bound: float) -> str:
    return repr(float(bound))
