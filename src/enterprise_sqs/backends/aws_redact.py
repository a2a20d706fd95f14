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
import re
import threading
from collections import Counter

__all__ = ["forget_secrets", "install_redaction", "remember_secrets"]

_LOGGERS = ("botocore.endpoint", "botocore.auth", "aiobotocore.endpoint", "botocore.parsers")
_REDACTED = "<redacted>"

_lock = threading.Lock()
_secrets: Counter[str] = Counter()
_installed = False
# Session tokens by where botocore prints them (the headers dict, the canonical request, a
# presigned query string): redacted even when they came from the default chain or a role
# refresh, which we never see as strings.
_TOKEN_PATTERNS = (
    re.compile(r"(X-Amz-Security-Token'?: b?')([^']+)", re.IGNORECASE),
    re.compile(r"(x-amz-security-token:)(\S+)", re.IGNORECASE),
    re.compile(r"(X-Amz-Security-Token=)([^&\s'\"]+)", re.IGNORECASE),
)


class _RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            secrets = [s for s in _secrets if s]
        message = record.getMessage()
        redacted = message
        if "ecurity-" in message or "ECURITY-" in message:
            for pattern in _TOKEN_PATTERNS:
                redacted = pattern.sub(rf"\g<1>{_REDACTED}", redacted)
        for secret in secrets:
            if secret in redacted:
                redacted = redacted.replace(secret, _REDACTED)
        if redacted is not message:
            record.msg = redacted
            record.args = None
        return True


def install_redaction() -> None:
    """Attach the filter to botocore's loggers (idempotent), so session tokens are redacted
    even when no explicit secret was registered."""
    global _installed
    with _lock:
        if not _installed:
            redact = _RedactCredentials()
            for name in _LOGGERS:
                logging.getLogger(name).addFilter(redact)
            _installed = True


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
