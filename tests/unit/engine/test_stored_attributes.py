"""Message attributes in the store: they come back exactly as sent, rows written by earlier
versions (attributes as JSON text) still read back after an upgrade, and a batch's size counts
them (its valid entries' and its invalid entries' alike)."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from enterprise_sqs import ManualClock, SendEntry
from enterprise_sqs.checksums import md5_of_attributes
from enterprise_sqs.engine.backend import EngineBackend
from enterprise_sqs.engine.store import SCHEMA_VERSION
from enterprise_sqs.errors import BatchRequestTooLong, ConfigurationError
from enterprise_sqs.models import MessageAttributeValue

ATTRIBUTES = {
    "traceparent": MessageAttributeValue.string(
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    ),
    "cities": MessageAttributeValue.string("Zürich ✓ 𝄞"),
    "note": MessageAttributeValue.string("line one\r\nline\ttwo"),
    "count": MessageAttributeValue.number("-12.50"),
    "ratio": MessageAttributeValue.number("3", "int"),
    "blob": MessageAttributeValue.binary(b"\x00\x01\xfe\xff"),
    "signed": MessageAttributeValue.binary(b"sig", "sha256"),
    "label": MessageAttributeValue.string("x", "custom.type"),
    "app.region": MessageAttributeValue.string("eu-west-1"),
}


async def test_attributes_come_back_exactly_as_sent(engine: EngineBackend) -> None:
    url = await engine.create_queue("attrs")
    sent = await engine.send_message(
        url, SendEntry(id="a", body="b", message_attributes=ATTRIBUTES)
    )
    assert sent.md5_of_message_attributes == md5_of_attributes(ATTRIBUTES)
    (message,) = await engine.receive(url, message_attribute_names=["All"])
    assert dict(message.message_attributes) == ATTRIBUTES
    assert message.md5_of_message_attributes == md5_of_attributes(ATTRIBUTES)
    for value in message.message_attributes.values():  # types as a sender would build them
        assert type(value.binary_value if value.binary_value is not None else b"") is bytes
        assert value.string_value is None or type(value.string_value) is str


def _old_json_form(attributes: dict[str, MessageAttributeValue]) -> str:
    """How earlier versions stored message attributes: a JSON list of [name, type, text, b64]."""
    return json.dumps(
        [
            [
                name,
                value.data_type,
                value.string_value,
                None
                if value.binary_value is None
                else base64.b64encode(value.binary_value).decode("ascii"),
            ]
            for name, value in attributes.items()
        ]
    )


async def test_rows_with_attributes_stored_as_json_still_read_back(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "upgraded.db")
    before = EngineBackend(path, clock=clock)
    url = await before.create_queue("old")
    dlq = await before.create_queue("old-dlq")
    dlq_arn = (await before.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    await before.set_queue_attributes(url, {"RedrivePolicy": policy})
    for i in range(3):
        entry = SendEntry(id=str(i), body=f"m{i}", message_attributes=ATTRIBUTES)
        await before.send_message(url, entry)
    await before.aclose()
    # rewrite the rows and the schema version as an earlier version wrote them
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE messages SET attrs = ?", (_old_json_form(ATTRIBUTES),))
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()

    after = EngineBackend(path, clock=clock)
    try:
        # opening it marked the file with this engine's version
        assert _schema_version(path) == str(SCHEMA_VERSION) == "2"
        (whole,) = await after.receive(url, message_attribute_names=["All"])
        assert dict(whole.message_attributes) == ATTRIBUTES
        assert whole.md5_of_message_attributes == md5_of_attributes(ATTRIBUTES)

        (part,) = await after.receive(url, message_attribute_names=["count", "app.*"])
        selected = {name: ATTRIBUTES[name] for name in ("count", "app.region")}
        assert dict(part.message_attributes) == selected
        assert part.md5_of_message_attributes == md5_of_attributes(selected)

        # an old row moved to the dead-letter queue keeps its attributes too
        (last,) = await after.receive(url)
        await after.change_visibility(url, last.receipt_handle, 0)
        assert await after.receive(url) == []
        (dead,) = await after.receive(dlq, message_attribute_names=["All"])
        assert dead.message_id == last.message_id
        assert dict(dead.message_attributes) == ATTRIBUTES
        assert dead.md5_of_message_attributes == md5_of_attributes(ATTRIBUTES)
    finally:
        await after.aclose()


def _schema_version(path: str) -> str:
    conn = sqlite3.connect(path)
    try:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    finally:
        conn.close()
    return str(value)


async def test_a_file_from_a_newer_engine_is_refused_clearly(tmp_path: Path) -> None:
    path = str(tmp_path / "newer.db")
    first = EngineBackend(path)
    await first.create_queue("q")
    await first.aclose()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(ConfigurationError, match="version 3; this engine reads version 2"):
        EngineBackend(path)


def _batch(invalid_value_length: int) -> list[SendEntry]:
    """Four valid entries of 260,007 bytes each (UTF-8 attribute values) and an invalid one."""
    valid = [
        SendEntry(
            id=f"v{i}",
            body="x" * 250_000,
            message_attributes={"a": MessageAttributeValue.string("é" * 5_000)},
        )
        for i in range(4)
    ]
    invalid = SendEntry(
        id="bad",
        body="y" * 8_000,
        message_attributes={"AWS.x": MessageAttributeValue.string("v" * invalid_value_length)},
    )
    return [*valid, invalid]


async def test_a_batch_counts_the_attributes_of_valid_and_invalid_entries(
    engine: EngineBackend,
) -> None:
    url = await engine.create_queue("sizes")
    valid_total = 4 * (250_000 + len("a") + len("String") + 10_000)
    invalid_size = 8_000 + len("AWS.x") + len("String")
    over = 1_048_576 - valid_total - invalid_size + 1  # the invalid value that tips it over
    with pytest.raises(BatchRequestTooLong) as caught:
        await engine.send_batch(url, _batch(over))
    assert caught.value.message.endswith("You have sent 1048577 bytes.")

    result = await engine.send_batch(url, _batch(over - 1))
    assert sorted(s.id for s in result.successful) == ["v0", "v1", "v2", "v3"]
    assert [f.id for f in result.failed] == ["bad"]
    assert "reserved for use by Amazon Web Services" in result.failed[0].message
