"""Keep explicit credentials out of botocore's debug logs.

botocore logs each signed request at DEBUG (``botocore.endpoint``: the headers, including
``X-Amz-Security-Token`` and the access key id inside ``Authorization``; ``botocore.auth``: the
canonical request). A user who turns on DEBUG to chase a problem must not leak a session token
into a log aggregator because of it. We do not configure logging — no handlers, no levels — we
only attach a filter to those loggers that blanks the credential strings of our open backends.
The filter runs only for records that are already enabled, so it costs nothing otherwise. (The
secret access key itself is never sent or logged by botocore: requests carry only a signature.)
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

__all__ = ["forget_secrets", "remember_secrets"]

_LOGGERS = ("botocore.endpoint", "botocore.auth", "aiobotocore.endpoint", "botocore.parsers")
_REDACTED = "<redacted>"

_lock = threading.Lock()
_secrets: Counter[str] = Counter()
_installed = False


class _RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            secrets = [s for s in _secrets if s]
        if not secrets:
            return True
        message = record.getMessage()
        if any(s in message for s in secrets):
            for secret in secrets:
                message = message.replace(secret, _REDACTED)
            record.msg = message
            record.args = None
        return True


def remember_secrets(*secrets: str | None) -> None:
    """Redact these strings from botocore's request logs until :func:`forget_secrets`."""
    global _installed
    with _lock:
        for secret in secrets:
            if secret:
                _secrets[secret] += 1
        if not _installed:
            redact = _RedactCredentials()
            for name in _LOGGERS:
                logging.getLogger(name).addFilter(redact)
            _installed = True


def forget_secrets(*secrets: str | None) -> None:
    with _lock:
        for secret in secrets:
            if secret:
                _secrets[secret] -= 1
                if _secrets[secret] <= 0:
                    del _secrets[secret]
