"""SendMessage: ids, checksums, bodies, the size limit and delays."""

from __future__ import annotations

import pytest

from enterprise_sqs.checksums import md5_of_attributes, md5_of_body
from enterprise_sqs.errors import (
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    QueueDoesNotExist,
)
from enterprise_sqs.models import MessageAttributeValue
from tests.contract.conftest import Harness
from tests.contract.messaging import MIB, counts, missing_queue_url, receive, send

# -- ids and checksums ---------------------------------------------------------------------------


async def test_send_returns_a_distinct_message_id_per_message(sqs: Harness) -> None:
    url = await sqs.create()
    first = await send(sqs, url, "one")
    second = await send(sqs, url, "two")
    assert first.message_id
    assert second.message_id
    assert first.message_id != second.message_id
    received = await receive(sqs, url)
    assert {m.message_id for m in received} == {first.message_id, second.message_id}


async def test_send_md5_of_body_is_md5_of_utf8_body(sqs: Harness) -> None:
    url = await sqs.create()
    body = "naïve café — ☕ 🚀"
    result = await send(sqs, url, body)
    assert result.md5_of_body == md5_of_body(body)
    (message,) = await receive(sqs, url)
    assert message.md5_of_body == md5_of_body(body)


async def test_send_md5_of_message_attributes_matches_sqs_encoding(sqs: Harness) -> None:
    url = await sqs.create()
    attributes = {
        "zeta": MessageAttributeValue.string("last"),
        "alpha": MessageAttributeValue.number(42),
        "blob": MessageAttributeValue.binary(b"\x00\x01\xff"),
        "kind": MessageAttributeValue.string("x", custom="custom"),
    }
    result = await send(sqs, url, "body", attributes=attributes)
    assert result.md5_of_message_attributes == md5_of_attributes(attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert message.md5_of_message_attributes == md5_of_attributes(attributes)


async def test_send_without_attributes_has_no_attribute_md5(sqs: Harness) -> None:
    url = await sqs.create()
    result = await send(sqs, url, "plain")
    assert result.md5_of_message_attributes is None
    assert result.sequence_number is None  # only FIFO queues number their messages


async def test_send_to_missing_queue_raises_queue_does_not_exist(sqs: Harness) -> None:
    url = await missing_queue_url(sqs)
    with pytest.raises(QueueDoesNotExist):
        await send(sqs, url, "nobody home")


# -- bodies --------------------------------------------------------------------------------------

ROUND_TRIP_BODIES = {
    "ascii": "hello, world",
    "whitespace_tab_newline_cr": "a\tb\nc\r\nd\r",
    "latin_and_cjk": "Grüße, 世界, Привет",
    "astral_emoji": "🚀🎉 𝄞 \U0001f600",
    "lowest_legal_range_edges": "\x20\x7e\x7f\x80",
    "bmp_range_edges": "\ud7ff\ue000\ufffd",
    "astral_range_edges": "\U00010000\U0010ffff",
    "json": '{"k": [1, 2.5, null, true], "s": "q\\"uote"}',
    "xml_markup": "<a href='x'>&amp;</a><![CDATA[]]>",
    "leading_and_trailing_spaces": "  padded  ",
}


@pytest.mark.parametrize("body", ROUND_TRIP_BODIES.values(), ids=ROUND_TRIP_BODIES.keys())
async def test_body_round_trips_exactly(sqs: Harness, body: str) -> None:
    url = await sqs.create()
    await send(sqs, url, body)
    (message,) = await receive(sqs, url)
    assert message.body == body
    assert message.md5_of_body == md5_of_body(body)


ILLEGAL_CHARACTERS = {
    "nul": "\x00",
    "backspace": "\x08",
    "vertical_tab": "\x0b",
    "form_feed": "\x0c",
    "unit_separator": "\x1f",
    "u_fffe": "\ufffe",
    "u_ffff": "\uffff",
}


@pytest.mark.moto_deviation("moto does not check the body's characters")
@pytest.mark.parametrize(
    "char", ILLEGAL_CHARACTERS.values(), ids=[f"illegal_{k}" for k in ILLEGAL_CHARACTERS]
)
async def test_body_with_character_outside_xml_set_is_refused(sqs: Harness, char: str) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidMessageContents):
        await send(sqs, url, f"before{char}after")
    assert await receive(sqs, url) == []


@pytest.mark.moto_deviation("moto accepts an empty MessageBody")
async def test_empty_body_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(MissingParameter) as caught:
        await send(sqs, url, "")
    assert "MessageBody" in caught.value.message


# -- size limit ----------------------------------------------------------------------------------


async def test_body_of_exactly_one_mib_is_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    body = "x" * MIB
    await send(sqs, url, body)
    (message,) = await receive(sqs, url)
    assert len(message.body) == MIB
    assert message.md5_of_body == md5_of_body(body)


async def test_body_one_byte_over_one_mib_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "x" * (MIB + 1))
    assert "Message must be shorter than 1048576 bytes" in caught.value.message
    assert await receive(sqs, url) == []


@pytest.mark.moto_deviation("moto counts characters, not UTF-8 bytes, toward the size limit")
async def test_size_limit_counts_utf8_bytes_not_characters(sqs: Harness) -> None:
    url = await sqs.create()
    body = "é" * (MIB // 2 + 1)  # fewer than 1 MiB characters, more than 1 MiB bytes
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, body)


@pytest.mark.moto_deviation("moto counts only the body toward the size limit")
async def test_message_attributes_count_toward_size_limit(sqs: Harness) -> None:
    url = await sqs.create()
    body = "x" * (MIB - 10)
    attributes = {"pad": MessageAttributeValue.string("y" * 20)}
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, body, attributes=attributes)
    assert "Message must be shorter than 1048576 bytes" in caught.value.message


async def test_body_plus_attributes_exactly_at_limit_is_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    # An attribute counts its name, its data type and its value: 1 + 6 + 9 = 16 bytes.
    attributes = {"a": MessageAttributeValue.string("z" * 9)}
    body = "x" * (MIB - 16)
    await send(sqs, url, body, attributes=attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert len(message.body) == MIB - 16
    assert message.message_attributes["a"].string_value == "z" * 9


async def test_system_attributes_do_not_count_toward_size_limit(sqs: Harness) -> None:
    url = await sqs.create()
    trace = {"AWSTraceHeader": MessageAttributeValue.string("Root=1-5759e988-bd862e3fe1be46a9")}
    await send(sqs, url, "x" * MIB, system_attributes=trace)
    assert len(await receive(sqs, url)) == 1


async def test_lowered_maximum_message_size_is_enforced(sqs: Harness) -> None:
    url = await sqs.create(MaximumMessageSize="1024")
    await send(sqs, url, "x" * 1024)
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "x" * 1025)
    assert "Message must be shorter than 1024 bytes" in caught.value.message


# -- delays --------------------------------------------------------------------------------------


async def test_per_message_delay_hides_message_until_it_passes(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "later", delay_seconds=1)
    assert await receive(sqs, url) == []
    assert await counts(sqs, url) == (0, 0, 1)
    await sqs.advance(1.5)
    (message,) = await receive(sqs, url)
    assert message.body == "later"


async def test_queue_delay_applies_to_every_message(sqs: Harness) -> None:
    url = await sqs.create(DelaySeconds="1")
    await send(sqs, url, "queued")
    assert await receive(sqs, url) == []
    await sqs.advance(1.5)
    assert [m.body for m in await receive(sqs, url)] == ["queued"]


async def test_per_message_delay_zero_overrides_queue_delay(sqs: Harness) -> None:
    url = await sqs.create(DelaySeconds="900")
    await send(sqs, url, "now", delay_seconds=0)
    await send(sqs, url, "in fifteen minutes")
    assert [m.body for m in await receive(sqs, url)] == ["now"]


async def test_per_message_delay_longer_than_queue_delay_wins(sqs: Harness) -> None:
    url = await sqs.create(DelaySeconds="1")
    await send(sqs, url, "much later", delay_seconds=900)
    await sqs.advance(1.5)
    assert await receive(sqs, url) == []
    assert await counts(sqs, url) == (0, 0, 1)


async def test_delay_of_900_seconds_is_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "max delay", delay_seconds=900)
    assert await counts(sqs, url) == (0, 0, 1)


async def test_delay_of_901_seconds_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "never", delay_seconds=901)
    assert "DelaySeconds" in caught.value.message
    assert await counts(sqs, url) == (0, 0, 0)


@pytest.mark.moto_deviation("moto accepts a negative DelaySeconds")
async def test_negative_delay_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "never", delay_seconds=-1)
    assert "DelaySeconds" in caught.value.message
