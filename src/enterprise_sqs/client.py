"""``EnterpriseSQS``: the entry point the seed describes: one backend and what is built on it.

::

    sqs = EnterpriseSQS(EnterpriseSQSConfig.load())        # or EnterpriseSQS(backend="memory://")
    publisher = sqs.create_publisher("orders.fifo", message_group_id="orders")
    result = await publisher.publish({"type": "order-created"})
    sqs.get_sqs_client().get_circuit_breaker_status()
    await sqs.aclose()                                      # flushes publishers, closes the backend

The backend is opened on first use (no I/O in the constructor) and wrapped in the resilient client,
so every publisher shares one circuit breaker and one retry budget per client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import open_backend
from enterprise_sqs.clock import Clock
from enterprise_sqs.codecs.base import Codec
from enterprise_sqs.codecs.serialization import Serializer
from enterprise_sqs.config import EnterpriseSQSConfig
from enterprise_sqs.consuming.consumer import Consumer
from enterprise_sqs.consuming.multi import MultiQueueConsumer
from enterprise_sqs.consuming.options import ConsumerOptions
from enterprise_sqs.errors import ClientClosedError, ConfigurationError
from enterprise_sqs.observability.alerts import AlertManager
from enterprise_sqs.observability.health import HealthMonitor, HealthStatus
from enterprise_sqs.observability.http import ObservabilityServer
from enterprise_sqs.observability.hub import Observability
from enterprise_sqs.observability.metrics import Metrics
from enterprise_sqs.observability.tracing import Tracing
from enterprise_sqs.publishing.balance import BalancedPublisher
from enterprise_sqs.publishing.dedup import DeduplicationStrategy
from enterprise_sqs.publishing.partition import PartitionedPublisher
from enterprise_sqs.publishing.publisher import Publisher
from enterprise_sqs.queues import QueueResolver
from enterprise_sqs.resilience.client import ResilientBackend

__all__ = ["EnterpriseSQS"]

logger = logging.getLogger(__name__)


class EnterpriseSQS:
    """One configured connection to SQS (or the embedded engine) and its publishers.

    Args:
        config: the configuration (default: ``EnterpriseSQSConfig()``: the in-memory engine).
        backend: a Backend object or URL to use instead of ``config.backend``.
        per_queue_breakers: one circuit breaker per queue instead of one for the client.
        clock: the clock for breakers, retries and deduplication windows (tests inject one).
        metrics: count what publishers and consumers do (``get_metrics()``); on by default.
        tracing: ``True`` or ``Tracing(...)``: OpenTelemetry spans and trace context in message
            attributes for every publisher and consumer (needs the ``otel`` extra).
    """

    def __init__(
        self,
        config: EnterpriseSQSConfig | None = None,
        *,
        backend: Backend | str | None = None,
        per_queue_breakers: bool = False,
        clock: Clock | None = None,
        metrics: bool = True,
        tracing: bool | Tracing = False,
    ) -> None:
        if config is not None and not isinstance(config, EnterpriseSQSConfig):
            raise ConfigurationError(
                f"config must be an EnterpriseSQSConfig, got {type(config).__name__} "
                "(build one with EnterpriseSQSConfig(...) or EnterpriseSQSConfig.load())"
            )
        if backend is not None and not isinstance(backend, str | Backend):
            raise ConfigurationError(
                f"backend must be a URL or a Backend, got {type(backend).__name__}"
            )
        self._config = config or EnterpriseSQSConfig()
        self._backend_arg = backend
        self._per_queue = per_queue_breakers
        self._clock = clock
        self._client: ResilientBackend | None = None
        self._resolver: QueueResolver | None = None
        self._publishers: list[Publisher] = []
        self._consumers: list[Consumer] = []
        self._closed = False
        self._observability = Observability(
            clock=clock,
            metrics=metrics,
            tracing=tracing,
            breaker_timeout=self._config.circuit_breaker.timeout,
        )
        self._observability.bind(self.get_metrics)

    def __repr__(self) -> str:
        target = self._client.name if self._client is not None else self._describe_backend()
        return f"EnterpriseSQS(backend={target!r}, closed={self._closed})"

    def _describe_backend(self) -> str:
        if isinstance(self._backend_arg, str):
            return self._backend_arg.split("?", 1)[0]
        if self._backend_arg is not None:
            return self._backend_arg.name
        return self._config.backend.split("?", 1)[0]

    @property
    def config(self) -> EnterpriseSQSConfig:
        return self._config

    def _open_backend(self) -> Backend:
        if isinstance(self._backend_arg, Backend):
            return self._backend_arg
        url = self._backend_arg if isinstance(self._backend_arg, str) else self._config.backend
        scheme = url.split("://", 1)[0].lower()
        options: dict[str, Any] = {}
        if scheme in ("memory", "sqlite"):
            if self._clock is not None:
                options["clock"] = self._clock
            if self._config.region is not None:
                options["region"] = self._config.region
        else:
            for key in ("region", "credentials", "profile", "endpoint_url", "assume_role"):
                value = getattr(self._config, key)
                if value is not None:
                    options[key] = value
        return open_backend(url, **options)

    def get_sqs_client(self) -> ResilientBackend:
        """The resilient client: every backend call behind retry and the circuit breaker."""
        if self._closed:
            raise ClientClosedError("this EnterpriseSQS is closed")
        if self._client is None:
            self._client = ResilientBackend.from_config(
                self._open_backend(),
                self._config,
                per_queue_breakers=self._per_queue,
                clock=self._clock,
            )
            self._observability.attach_client(self._client)
            logger.info("enterprise sqs ready", extra={"backend": self._client.name})
        return self._client

    def _queue_resolver(self) -> QueueResolver:
        if self._resolver is None:
            self._resolver = QueueResolver(self.get_sqs_client())
        return self._resolver

    def create_publisher(
        self,
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
        codecs: Sequence[Codec] = (),
    ) -> Publisher:
        """A publisher for ``queue`` (a name or URL). See :class:`Publisher` for the options.

        Raises:
            ConfigurationError: an option with a bad value.
            ClientClosedError: this client is closed.
        """
        publisher = Publisher(
            self.get_sqs_client(),
            queue,
            message_group_id=message_group_id,
            enable_deduplication=enable_deduplication,
            deduplication_strategy=deduplication_strategy,
            deduplication_window=deduplication_window,
            delay_seconds=delay_seconds,
            attributes=attributes,
            serializer=serializer,
            linger=linger,
            max_in_flight_batches=max_in_flight_batches,
            create_queue=create_queue,
            resolver=self._queue_resolver(),
            clock=self._clock,
            codecs=tuple(codecs),
        )
        self._observability.attach_publisher(publisher)
        self._publishers.append(publisher)
        return publisher

    @property
    def publishers(self) -> list[Publisher]:
        return list(self._publishers)

    def create_consumer(self, queue: str, **options: Any) -> Consumer:
        """A consumer for ``queue`` (a name or URL); start it with ``await consumer.start(fn)``.

        ``options`` are those of :class:`~enterprise_sqs.consuming.ConsumerOptions`
        (``processing_mode``, ``batch_size``, ``max_messages``, ``wait_time_seconds``,
        ``visibility_timeout_seconds``, ``throttle_delay_ms``, ``polling_interval``,
        ``concurrency``, ``handler_timeout``, ``message_type``, ...).

        Raises:
            ConfigurationError: an unknown option or a bad value.
            ClientClosedError: this client is closed.
        """
        for key in ("codecs", "middleware", "non_retryable"):
            if isinstance(options.get(key), list):
                options[key] = tuple(options[key])
        options = self._observability.consumer_options(options)
        try:
            consumer_options = ConsumerOptions(**options)
        except TypeError as exc:
            known = ", ".join(sorted(ConsumerOptions.__dataclass_fields__))
            raise ConfigurationError(f"{exc}; consumer options are: {known}") from exc
        consumer = Consumer(
            self._observability.consumer_backend(self.get_sqs_client()),
            queue,
            consumer_options,
            resolver=self._queue_resolver(),
        )
        self._observability.attach_consumer(consumer)
        self._consumers.append(consumer)
        return consumer

    @property
    def consumers(self) -> list[Consumer]:
        return list(self._consumers)

    # -- scaling (publishing/partition.py, balance.py; consuming/multi.py) ------------------------

    def create_partitioned_publisher(
        self, template: str, *, partitions: int, **options: Any
    ) -> PartitionedPublisher:
        """A publisher mapping each key to one of ``partitions`` queues named by ``template``
        (``"customer-queue-{partition}.fifo"``). See :class:`PartitionedPublisher`.

        Raises:
            ConfigurationError: a bad template, count or option.
        """
        return PartitionedPublisher(self, template, partitions=partitions, **options)

    def create_balanced_publisher(self, queues: Sequence[str], **options: Any) -> BalancedPublisher:
        """A publisher spreading messages over ``queues`` (``strategy="round_robin"``,
        ``"random"`` or ``"least_backlog"``). See :class:`BalancedPublisher`.

        Raises:
            ConfigurationError: no queues or a bad option.
        """
        return BalancedPublisher(self, queues, **options)

    def create_multi_queue_consumer(
        self, queues: Sequence[str], **options: Any
    ) -> MultiQueueConsumer:
        """One consumer over ``queues`` with a shared, fair ``concurrency`` limit.
        See :class:`MultiQueueConsumer` (it also takes queues of several clients).

        Raises:
            ConfigurationError: no queues or a bad option.
        """
        return MultiQueueConsumer([(self, queue) for queue in queues], **options)

    # -- observability (observability/) ----------------------------------------------------------

    def get_metrics(self) -> Metrics:
        """The seed's ``getMetrics()``: ``system``, ``circuit_breaker``, ``components`` and
        per-queue detail (see :mod:`enterprise_sqs.observability.metrics`)."""
        return self._observability.metrics(self._publishers, self._consumers)

    def reset_metrics(self) -> None:
        """Set every count, latency and the throughput window back to zero (uptime goes on)."""
        self._observability.reset()

    def get_health_monitor(self) -> HealthMonitor:
        """Where health checks are registered (``register_health_check(name, check)``); has
        the built-in ``backend`` (readiness) and ``consumers`` (liveness) checks."""
        if not self._closed:
            self.get_sqs_client()  # wires the backend check; no I/O
        return self._observability.health

    async def get_health_status(self) -> HealthStatus:
        """Run every health check: ``status`` (healthy/degraded/unhealthy), ``details``,
        ``timestamp``."""
        return await self.get_health_monitor().check()

    def get_alert_manager(self) -> AlertManager:
        """Alert rules and sinks over this client's metrics and health."""
        self.get_health_monitor()
        return self._observability.alerts

    async def start_http_server(
        self, host: str = "127.0.0.1", port: int = 9090
    ) -> ObservabilityServer:
        """Serve ``/livez``, ``/readyz``, ``/healthz`` and ``/metrics`` until :meth:`aclose`.

        Raises:
            ConfigurationError: already serving, a bad port, or the address is taken.
        """
        self.get_health_monitor()
        return await self._observability.start_http_server(host, port)

    async def aclose(self) -> None:
        """Stop every consumer, flush and close every publisher, then close the backend.
        Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._observability.aclose()
        await asyncio.gather(*(consumer.stop() for consumer in self._consumers))
        for publisher in self._publishers:
            await publisher.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> EnterpriseSQS:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
