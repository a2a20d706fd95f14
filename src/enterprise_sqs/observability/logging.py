"""Opt-in log setup for applications: JSON lines (or text) at a level.

The library itself never configures logging: every module logs through
``logging.getLogger(__name__)`` with structured ``extra=`` fields (``queue``, ``message_id``,
``operation``, ``attempt``, ``error_type``, ``state``, …). An application that wants JSON logs
calls, once, at start::

    configure_json_logging("info")                     # or
    configure_json_logging(config=sqs.config.logging)  # the seed's logging: {level, structured}

Each record becomes one JSON object: ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``,
``message``, every ``extra`` field, and ``exception`` when there is one. Fields whose names look
secret (``secret``, ``password``, ``token``, ``authorization``, ``credential``, ``signature``,
``access_key``) are written as ``"[redacted]"``, as a last line of defence: the library never puts
secrets in log records in the first place.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from typing import IO, Any

from enterprise_sqs.config import LoggingConfig
from enterprise_sqs.errors import ConfigurationError

__all__ = ["JsonFormatter", "configure_json_logging"]

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
_SECRET = re.compile(
    r"secret|password|passwd|token|authorization|credential|signature|access_key|api_key",
    re.IGNORECASE,
)
_REDACTED = "[redacted]"


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return repr(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            data[key] = _REDACTED if _SECRET.search(key) else _plain(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in typeshed
    """Marks the handler this module installed, so a second call replaces it."""


def configure_json_logging(
    level: str | int | None = None,
    *,
    config: LoggingConfig | None = None,
    stream: IO[str] | None = None,
    logger: str | None = None,
) -> logging.Handler:
    """Send log records to ``stream`` (stderr) as JSON lines — or as text when
    ``config.structured`` is false — at ``level`` (else ``config.level``, else ``info``).

    Applies to the root logger (or ``logger``); calling it again replaces the handler it added.
    Returns the handler.

    Raises:
        ConfigurationError: an unknown level or a config that is not a LoggingConfig.
    """
    if config is not None and not isinstance(config, LoggingConfig):
        raise ConfigurationError(f"config must be a LoggingConfig, got {type(config).__name__}")
    chosen: str | int = level if level is not None else (config.level if config else "info")
    if isinstance(chosen, str):
        number = logging.getLevelName(chosen.upper())
        if not isinstance(number, int):
            raise ConfigurationError(
                f"unknown log level {chosen!r}; use debug, info, warning, error or critical"
            )
    elif isinstance(chosen, int) and not isinstance(chosen, bool):
        number = chosen
    else:
        raise ConfigurationError(f"level must be a name or a number, got {chosen!r}")
    structured = config.structured if config is not None else True
    handler = _OurHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if structured
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    target = logging.getLogger(logger)
    for existing in list(target.handlers):
        if isinstance(existing, _OurHandler):
            target.removeHandler(existing)
    target.addHandler(handler)
    target.setLevel(number)
    return handler
