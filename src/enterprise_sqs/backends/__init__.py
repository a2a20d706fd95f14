"""Backends: the one boundary between Enterprise SQS and a place that stores messages.

``base`` defines the :class:`~enterprise_sqs.backends.base.Backend` protocol; ``url`` opens one
from a URL (``memory://``, ``sqlite:///path.db``, ``aws://``/``https://...``).
"""

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import open_backend

__all__ = ["Backend", "open_backend"]
