"""Enterprise SQS: production-grade Amazon SQS messaging for Python.

The public API is exactly ``__all__``; everything else is internal and may change.
"""

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import DEFAULT_BACKEND_URL, open_backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import Clock, ManualClock, SystemClock
from enterprise_sqs.codecs.base import Codec, CodecContext, Envelope
from enterprise_sqs.config import (
    CircuitBreakerConfig,
    EnterpriseSQSConfig,
    LoggingConfig,
    RetryConfig,
)
from enterprise_sqs.consuming import (
    Consumer,
    ConsumerEvent,
    ConsumerOptions,
    ConsumerStatsSnapshot,
    MessageContext,
)
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import (
    CircuitOpenError,
    CodecError,
    ConfigurationError,
    EnterpriseSQSError,
    HandlerTimeoutError,
    Retry,
    SQSError,
    ValidationError,
)
from enterprise_sqs.models import (
    BatchFailure,
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    MoveTask,
    QueuePage,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
)
from enterprise_sqs.publishing.events import PublishEvent
from enterprise_sqs.publishing.publisher import Publisher, PublishResult
from enterprise_sqs.resilience import (
    CircuitBreakerStatus,
    CircuitState,
    FaultyBackend,
    ResilientBackend,
    set_testing,
)
from enterprise_sqs.sync import BlockingEnterpriseSQS, BlockingPublisher

__all__ = [
    "DEFAULT_BACKEND_URL",
    "Backend",
    "BatchFailure",
    "BatchResult",
    "BlockingEnterpriseSQS",
    "BlockingPublisher",
    "ChangeVisibilityEntry",
    "CircuitBreakerConfig",
    "CircuitBreakerStatus",
    "CircuitOpenError",
    "CircuitState",
    "Clock",
    "Codec",
    "CodecContext",
    "CodecError",
    "ConfigurationError",
    "Consumer",
    "ConsumerEvent",
    "ConsumerOptions",
    "ConsumerStatsSnapshot",
    "Credentials",
    "DeleteEntry",
    "EnterpriseSQS",
    "EnterpriseSQSConfig",
    "EnterpriseSQSError",
    "Envelope",
    "FaultyBackend",
    "HandlerTimeoutError",
    "LoggingConfig",
    "ManualClock",
    "MessageAttributeValue",
    "MessageContext",
    "MoveTask",
    "PublishEvent",
    "PublishResult",
    "Publisher",
    "QueuePage",
    "ReceivedMessage",
    "ResilientBackend",
    "Retry",
    "RetryConfig",
    "SQSError",
    "SendEntry",
    "SendSuccess",
    "SystemClock",
    "ValidationError",
    "open_backend",
    "set_testing",
]

__version__ = "0.1.0"
