"""The wiring between one :class:`~enterprise_sqs.client.EnterpriseSQS` and its observability:
metrics, tracing, health checks, alerts and the HTTP endpoints.

The client hands every publisher, consumer and its resilient client to :class:`Observability`,
which gives each publisher and consumer the metrics meter of its queue (plain calls, no events)
and, when tracing is on, the tracer (publishers call it before their codecs; consumers get its
middleware and backend wrapper), and watches consumers' poll loops for the liveness check and the
breaker's transitions for the alerts. Nothing here does I/O until asked (a health check, an alert
evaluation, starting the HTTP server).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.clock import Clock, SystemClock
from enterprise_sqs.consuming.consumer import Consumer
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability.alerts import AlertInput, AlertManager
from enterprise_sqs.observability.health import ConsumerLiveness, HealthMonitor, HealthStatus
from enterprise_sqs.observability.http import ObservabilityServer
from enterprise_sqs.observability.metrics import (
    CircuitBreakerMetrics,
    ComponentMetrics,
    Metrics,
    MetricsCollector,
)
from enterprise_sqs.observability.tracing import (
    MessagingTracer,
    Tracing,
    TracingBackend,
)
from enterprise_sqs.publishing.publisher import Publisher
from enterprise_sqs.queues import queue_name
from enterprise_sqs.resilience.breaker import CircuitState, CircuitTransition
from enterprise_sqs.resilience.client import ResilientBackend

__all__ = ["Observability"]

logger = logging.getLogger(__name__)


class Observability:
    """Observability for one client.

    Args:
        clock: for uptime, throughput, health timestamps and stuck detection.
        metrics: count events (``False`` leaves only breaker and component numbers).
        tracing: ``True`` or :class:`Tracing` options to trace with OpenTelemetry.
        stuck_after: seconds without poll progress before a consumer counts as stuck.
        breaker_timeout: the breaker's open timeout (part of the default ``stuck_after``).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        metrics: bool = True,
        tracing: bool | Tracing = False,
        stuck_after: float | None = None,
        breaker_timeout: float = 60.0,
    ) -> None:
        if not isinstance(metrics, bool):
            raise ConfigurationError(f"metrics must be True or False, got {metrics!r}")
        if not isinstance(tracing, bool | Tracing):
            raise ConfigurationError(
                f"tracing must be True, False or a Tracing(...), got {tracing!r}"
            )
        self._clock = clock or SystemClock()
        self.metrics_enabled = metrics
        self.collector = MetricsCollector(clock=self._clock)
        self.tracer: MessagingTracer | None = None
        if tracing:
            self.tracer = MessagingTracer(tracing if isinstance(tracing, Tracing) else None)
        self.health = HealthMonitor(clock=self._clock)
        self.liveness = ConsumerLiveness(
            clock=self._clock, stuck_after=stuck_after, breaker_timeout=breaker_timeout
        )
        self.health.register_health_check("consumers", self.liveness, probe="liveness")
        self.alerts = AlertManager(self._alert_input, clock=self._clock)
        self.health.alerts = self.alerts
        self._client: ResilientBackend | None = None
        self._opened = 0
        self._snapshot: Callable[[], Metrics] = self.collector.snapshot
        self._server: ObservabilityServer | None = None

    # -- wiring -----------------------------------------------------------------------------------

    def attach_publisher(self, publisher: Publisher) -> None:
        if self.metrics_enabled:
            publisher.attach_meters(self.collector.meter)
        if self.tracer is not None:
            # Called before the codecs: the trace context is set before encryption or offload
            # codecs run, and they leave message attributes they do not own alone.
            publisher.attach_tracer(self.tracer)

    def consumer_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Consumer options with the tracing middleware outermost."""
        if self.tracer is None:
            return options
        middleware = tuple(options.get("middleware", ()))
        return {**options, "middleware": (self.tracer.middleware, *middleware)}

    def consumer_backend(self, backend: Backend) -> Backend:
        if self.tracer is None:
            return backend
        return TracingBackend(backend, self.tracer).as_backend()

    def attach_consumer(self, consumer: Consumer) -> None:
        if self.metrics_enabled:
            consumer.attach_meters(self.collector.meter)
        self.liveness.watch(consumer)

    def attach_client(self, client: ResilientBackend) -> None:
        """Count breaker openings for alerts and add the backend readiness check."""
        self._client = client
        client.breaker().add_listener(self._on_transition)

        async def backend() -> dict[str, Any]:
            # The protected backend directly: a probe must neither be retried nor be refused
            # by an open breaker (it is how we learn the backend is back).
            await client.inner.list_queues(max_results=1)
            state = client.get_circuit_breaker_status().state
            return {
                "status": "healthy" if state is CircuitState.CLOSED else "degraded",
                "details": {"backend": client.name, "circuit_breaker": str(state)},
            }

        self.health.register_health_check("backend", backend, probe="readiness")

    def _on_transition(self, transition: CircuitTransition) -> None:
        if transition.to_state is CircuitState.OPEN:
            self._opened += 1

    # -- reading ----------------------------------------------------------------------------------

    def metrics(self, publishers: Sequence[Publisher], consumers: Sequence[Consumer]) -> Metrics:
        client = self._client
        breaker = CircuitBreakerMetrics()
        resilience: dict[str, int] = {}
        if client is not None:
            status = client.get_circuit_breaker_status()
            breaker = CircuitBreakerMetrics(
                state=str(status.state),
                failure_count=status.failure_count,
                success_count=status.success_count,
                rejected_count=status.rejected_count,
                time_since_last_failure=status.time_since_last_failure,
            )
            resilience = client.stats.snapshot().as_dict()
        in_flight: dict[str, int] = {}
        for consumer in consumers:
            name = queue_name(consumer.queue)
            in_flight[name] = in_flight.get(name, 0) + consumer.in_flight
        return self.collector.snapshot(
            circuit_breaker=breaker,
            components=ComponentMetrics(
                publishers=len(publishers),
                consumers=len(consumers),
                active_consumers=sum(1 for c in consumers if c.running),
            ),
            in_flight=in_flight,
            resilience=resilience,
        )

    def reset(self) -> None:
        self.collector.reset()
        if self._client is not None:
            self._client.stats.reset()

    def bind(self, snapshot: Callable[[], Metrics]) -> None:
        """Where alerts and ``/metrics`` read the client's metrics from."""
        self._snapshot = snapshot

    async def _alert_input(self) -> AlertInput:
        health = await self.health.check()
        opened, self._opened = self._opened, 0
        return AlertInput(metrics=self._snapshot(), health=health, breaker_opened=opened)

    async def health_status(self) -> HealthStatus:
        return await self.health.check()

    # -- HTTP -------------------------------------------------------------------------------------

    async def start_http_server(self, host: str, port: int) -> ObservabilityServer:
        if self._server is not None:
            raise ConfigurationError(f"the HTTP endpoints are already served at {self._server.url}")
        from enterprise_sqs.observability.prometheus import (  # optional extra
            PrometheusExporter,
            prometheus_available,
        )

        render = None
        if prometheus_available():
            exporter = PrometheusExporter(self._snapshot, self.collector.histograms)
            render = exporter.render
        server = ObservabilityServer(
            liveness=self.health.liveness,
            readiness=self.health.readiness,
            health=self.health.check,
            metrics=render,
        )
        await server.start(host, port)
        self._server = server
        return server

    async def aclose(self) -> None:
        await self.alerts.stop()
        if self._server is not None:
            server, self._server = self._server, None
            await server.aclose()
