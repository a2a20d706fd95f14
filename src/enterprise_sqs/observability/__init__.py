"""Observability: metrics, Prometheus export, OpenTelemetry tracing, health checks, alerts, HTTP
endpoints and opt-in JSON logging. Each optional integration imports its library only when used
(``prometheus``: prometheus-client; ``otel``: opentelemetry-api).
"""

from enterprise_sqs.observability.alerts import (
    Alert,
    AlertInput,
    AlertManager,
    AlertRule,
    AlertSink,
    CallbackSink,
    CircuitBreakerOpen,
    DeadLetters,
    Finding,
    HealthCheckFailing,
    LogSink,
    ProcessingTimeAbove,
    SuccessRateBelow,
    ThroughputBelow,
    WebhookSink,
)
from enterprise_sqs.observability.health import (
    CheckResult,
    ConsumerLiveness,
    HealthMonitor,
    HealthStatus,
)
from enterprise_sqs.observability.http import ObservabilityServer
from enterprise_sqs.observability.logging import JsonFormatter, configure_json_logging
from enterprise_sqs.observability.metrics import (
    CircuitBreakerMetrics,
    ComponentMetrics,
    LatencySummary,
    Metrics,
    MetricsCollector,
    QueueMetrics,
    SystemMetrics,
)
from enterprise_sqs.observability.tracing import Tracing

__all__ = [
    "Alert",
    "AlertInput",
    "AlertManager",
    "AlertRule",
    "AlertSink",
    "CallbackSink",
    "CheckResult",
    "CircuitBreakerMetrics",
    "CircuitBreakerOpen",
    "ComponentMetrics",
    "ConsumerLiveness",
    "DeadLetters",
    "Finding",
    "HealthCheckFailing",
    "HealthMonitor",
    "HealthStatus",
    "JsonFormatter",
    "LatencySummary",
    "LogSink",
    "Metrics",
    "MetricsCollector",
    "ObservabilityServer",
    "ProcessingTimeAbove",
    "QueueMetrics",
    "SuccessRateBelow",
    "SystemMetrics",
    "ThroughputBelow",
    "Tracing",
    "WebhookSink",
    "configure_json_logging",
]
