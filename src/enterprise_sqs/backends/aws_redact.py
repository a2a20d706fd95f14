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

import contextlib
import logging
import re
import threading
from collections import Counter

from enterprise_sqs.credentials import Credentials

__all__ = ["client_keys", "forget_secrets", "install_redaction", "remember_secrets"]

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
    install_redaction()
    with _lock:
        for secret in secrets:
            if secret:
                _secrets[secret] += 1


def forget_secrets(*secrets: str | None) -> None:
    with _lock:
        for secret in secrets:
            if secret:
                _secrets[secret] -= 1
                if _secrets[secret] <= 0:
                    del _secrets[secret]


def client_keys(
    credentials: Credentials | None, stack: contextlib.AsyncExitStack
) -> dict[str, str]:
    """The ``create_client`` keyword arguments for explicit ``credentials`` (none for the
    default chain). Redaction is installed either way, and the access key id and session token
    stay redacted from botocore's logs until ``stack`` closes."""
    install_redaction()
    if credentials is None:
        return {}
    keys = {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
    }
    if credentials.session_token is not None:
        keys["aws_session_token"] = credentials.session_token
    secrets = (credentials.access_key_id, credentials.session_token)
    remember_secrets(*secrets)
    stack.callback(forget_secrets, *secrets)
    return keys
