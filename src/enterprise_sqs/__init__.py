"""Enterprise SQS: production-grade Amazon SQS messaging for Python.

The public API is exactly ``__all__``; everything else is internal and may change.
"""

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import DEFAULT_BACKEND_URL, open_backend
from enterprise_sqs.clock import Clock, ManualClock, SystemClock
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import (
    ConfigurationError,
    EnterpriseSQSError,
    SQSError,
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

__all__ = [
    "DEFAULT_BACKEND_URL",
    "Backend",
    "BatchFailure",
    "BatchResult",
    "ChangeVisibilityEntry",
    "Clock",
    "ConfigurationError",
    "Credentials",
    "DeleteEntry",
    "EnterpriseSQSError",
    "ManualClock",
    "MessageAttributeValue",
    "MoveTask",
    "QueuePage",
    "ReceivedMessage",
    "SQSError",
    "SendEntry",
    "SendSuccess",
    "SystemClock",
    "open_backend",
]

__version__ = "0.1.0"
