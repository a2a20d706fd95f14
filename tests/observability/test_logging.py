"""Opt-in JSON logs: one object per record with its ``extra`` fields, secrets redacted, the seed's
``logging: {level, structured}`` honoured; the library itself never configures logging."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import EnterpriseSQSConfig, LoggingConfig
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability import configure_json_logging

LOGGER = "esqs-test-logging"


@pytest.fixture
def target() -> Iterator[logging.Logger]:
    log = logging.getLogger(LOGGER)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.setLevel(logging.NOTSET)
    log.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_records_become_json_with_their_extra_fields(target: logging.Logger) -> None:
    stream = io.StringIO()
    configure_json_logging("info", stream=stream, logger=LOGGER)
    target.debug("hidden")
    target.warning(
        "receive failed on %s",
        "orders",
        extra={
            "queue": "orders",
            "attempt": 2,
            "error_type": "TransportError",
            "secret_access_key": "abc",
            "auth_token": "xyz",
        },
    )
    try:
        raise ValueError("boom")
    except ValueError:
        target.exception("handler failed", extra={"message_id": "m-1"})
    first, second = lines(stream)
    assert first["message"] == "receive failed on orders"
    assert first["level"] == "warning" and first["logger"] == LOGGER
    assert (first["queue"], first["attempt"], first["error_type"]) == (
        "orders",
        2,
        "TransportError",
    )
    assert first["secret_access_key"] == "[redacted]" and first["auth_token"] == "[redacted]"
    assert "abc" not in stream.getvalue() and "xyz" not in stream.getvalue()
    assert second["message_id"] == "m-1"
    assert "ValueError: boom" in str(second["exception"])


def test_the_seed_logging_section_is_honoured(target: logging.Logger) -> None:
    text = io.StringIO()
    configure_json_logging(
        config=LoggingConfig(level="warning", structured=False), stream=text, logger=LOGGER
    )
    target.info("not shown")
    target.warning("plain text")
    assert "plain text" in text.getvalue() and "not shown" not in text.getvalue()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.getvalue())

    structured = io.StringIO()
    configure_json_logging(
        config=LoggingConfig(level="debug", structured=True), stream=structured, logger=LOGGER
    )
    target.debug("now json", extra={"state": "OPEN"})
    # A second call replaces the first handler: the text stream hears nothing more.
    assert "now json" not in text.getvalue()
    assert sum(type(h).__name__ == "_OurHandler" for h in target.handlers) == 1
    assert lines(structured)[0]["state"] == "OPEN"


def test_bad_levels_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        configure_json_logging("loud", logger=LOGGER)
    with pytest.raises(ConfigurationError):
        configure_json_logging(config={"level": "info"}, logger=LOGGER)  # type: ignore[arg-type]  # on purpose


async def test_the_library_never_configures_logging() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    library = logging.getLogger("enterprise_sqs")
    library_before = (list(library.handlers), library.level)
    config = EnterpriseSQSConfig(logging=LoggingConfig(level="debug", structured=True))
    async with EnterpriseSQS(config) as sqs:
        await sqs.get_sqs_client().create_queue("q")
        await sqs.create_publisher("q").publish({"n": 1})
        await sqs.get_health_status()
    assert (list(root.handlers), root.level) == before
    assert (list(library.handlers), library.level) == library_before
