"""Enterprise SQS: production-grade Amazon SQS messaging for Python.

The public API is exactly ``__all__``; everything else is internal and may change. Names that
need an optional extra (encryption and signing need ``cryptography``: the ``crypto`` extra) are
imported on first use, so ``import enterprise_sqs`` works on a base install and using them
without the extra raises an ImportError that names it.
"""

import importlib
from typing import TYPE_CHECKING, Any

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import DEFAULT_BACKEND_URL, open_backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.clock import Clock, ManualClock, SystemClock
from enterprise_sqs.codecs.base import Codec, CodecContext, Envelope
from enterprise_sqs.codecs.compression import Compression
from enterprise_sqs.codecs.offload import (
    DirectoryPayloadStore,
    PayloadOffload,
    S3PayloadStore,
    SQLitePayloadStore,
)
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
from enterprise_sqs.consuming.multi import MultiQueueConsumer
from enterprise_sqs.credentials import AssumeRole, Credentials
from enterprise_sqs.errors import (
    CircuitOpenError,
    CodecError,
    ConfigurationError,
    EnterpriseSQSError,
    HandlerTimeoutError,
    MessageAccessDenied,
    Retry,
    SpoolFullError,
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
from enterprise_sqs.observability import (
    Alert,
    AlertManager,
    HealthMonitor,
    HealthStatus,
    Metrics,
    Tracing,
    configure_json_logging,
)
from enterprise_sqs.publishing.backup import MessageBackup, open_backup_store, replay
from enterprise_sqs.publishing.balance import BalancedPublisher
from enterprise_sqs.publishing.events import PublishEvent
from enterprise_sqs.publishing.failover import FailoverPublisher
from enterprise_sqs.publishing.partition import PartitionedPublisher
from enterprise_sqs.publishing.publisher import Publisher, PublishResult
from enterprise_sqs.publishing.spool import Spool, SpoolingPublisher
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
    "Alert",
    "AlertManager",
    "AssumeRole",
    "Backend",
    "BalancedPublisher",
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
    "Compression",
    "ConfigurationError",
    "Consumer",
    "ConsumerEvent",
    "ConsumerOptions",
    "ConsumerStatsSnapshot",
    "Credentials",
    "DeleteEntry",
    "DirectoryPayloadStore",
    "EnterpriseSQS",
    "EnterpriseSQSConfig",
    "EnterpriseSQSError",
    "Envelope",
    "EnvelopeEncryption",
    "FailoverPublisher",
    "FaultyBackend",
    "HandlerTimeoutError",
    "HealthMonitor",
    "HealthStatus",
    "KMSKeyProvider",
    "LocalKeyring",
    "LoggingConfig",
    "ManualClock",
    "MessageAccessDenied",
    "MessageAttributeValue",
    "MessageBackup",
    "MessageContext",
    "MessageSigning",
    "Metrics",
    "MoveTask",
    "MultiQueueConsumer",
    "PartitionedPublisher",
    "PayloadOffload",
    "PublishEvent",
    "PublishResult",
    "Publisher",
    "QueuePage",
    "ReceivedMessage",
    "ResilientBackend",
    "Retry",
    "RetryConfig",
    "S3PayloadStore",
    "SQLitePayloadStore",
    "SQSError",
    "SendEntry",
    "SendSuccess",
    "Spool",
    "SpoolFullError",
    "SpoolingPublisher",
    "SystemClock",
    "Tracing",
    "ValidationError",
    "configure_json_logging",
    "open_backend",
    "open_backup_store",
    "replay",
    "set_testing",
]

__version__ = "0.1.0"

# name -> module, for the names whose modules need an optional extra (see the docstring).
_NEEDS_EXTRA = {
    "EnvelopeEncryption": "enterprise_sqs.codecs.encryption",
    "KMSKeyProvider": "enterprise_sqs.codecs.keys",
    "LocalKeyring": "enterprise_sqs.codecs.keys",
    "MessageSigning": "enterprise_sqs.codecs.signing",
}

if TYPE_CHECKING:
    from enterprise_sqs.codecs.encryption import EnvelopeEncryption
    from enterprise_sqs.codecs.keys import KMSKeyProvider, LocalKeyring
    from enterprise_sqs.codecs.signing import MessageSigning


def __getattr__(name: str) -> Any:
    module = _NEEDS_EXTRA.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
