"""Message attributes and system attributes: what SendMessage accepts, refuses and gives back."""

from __future__ import annotations

import pytest

from enterprise_sqs.checksums import md5_of_attributes
from enterprise_sqs.errors import InvalidParameterValue, SenderError
from enterprise_sqs.models import MessageAttributeValue
from tests.contract.conftest import Harness
from tests.contract.messaging import receive, send

S = MessageAttributeValue.string

# -- how many, and their names -------------------------------------------------------------------


async def test_ten_message_attributes_are_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    attributes = {f"attr{i}": S(str(i)) for i in range(10)}
    await send(sqs, url, "ten", attributes=attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert dict(message.message_attributes) == attributes


@pytest.mark.moto_deviation("moto accepts more than 10 message attributes")
async def test_eleven_message_attributes_are_refused(sqs: Harness) -> None:
    url = await sqs.create()
    attributes = {f"attr{i}": S(str(i)) for i in range(11)}
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "eleven", attributes=attributes)


async def test_attribute_name_of_256_characters_is_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    name = "n" * 256
    await send(sqs, url, "long name", attributes={name: S("v")})
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert list(message.message_attributes) == [name]


@pytest.mark.moto_deviation("moto does not limit attribute name length")
async def test_attribute_name_of_257_characters_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "too long", attributes={"n" * 257: S("v")})


async def test_attribute_names_are_case_sensitive(sqs: Harness) -> None:
    url = await sqs.create()
    attributes = {"Key": S("upper"), "key": S("lower")}
    await send(sqs, url, "two keys", attributes=attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert dict(message.message_attributes) == attributes


async def test_attribute_name_may_use_letters_digits_underscore_hyphen_period(sqs: Harness) -> None:
    url = await sqs.create()
    name = "Az09_-.x.Y-z_"
    await send(sqs, url, "ok", attributes={name: S("v")})
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert list(message.message_attributes) == [name]


BAD_NAME_CHARACTERS = {
    "space": "a b",
    "bang": "a!b",
    "slash": "a/b",
    "question": "a?b",
    "paren": "a(b",
}


@pytest.mark.parametrize(
    "name", BAD_NAME_CHARACTERS.values(), ids=[f"name_with_{k}" for k in BAD_NAME_CHARACTERS]
)
async def test_attribute_name_with_other_characters_is_refused(sqs: Harness, name: str) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "bad name", attributes={name: S("v")})


RESERVED_PREFIXES = ["AWS.trace", "aws.trace", "aWs.trace", "Amazon.x", "AMAZON.x", "amazon.x"]


@pytest.mark.moto_deviation("moto allows the reserved AWS./Amazon. attribute name prefixes")
@pytest.mark.parametrize("name", RESERVED_PREFIXES)
async def test_attribute_name_with_reserved_prefix_is_refused(sqs: Harness, name: str) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "reserved", attributes={name: S("v")})


PERIOD_RULES = {"leading_period": ".name", "trailing_period": "name.", "double_period": "na..me"}


@pytest.mark.moto_deviation("moto does not check periods in attribute names")
@pytest.mark.parametrize("name", PERIOD_RULES.values(), ids=PERIOD_RULES.keys())
async def test_attribute_name_period_rules(sqs: Harness, name: str) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "periods", attributes={name: S("v")})


# -- data types and values -----------------------------------------------------------------------


@pytest.mark.parametrize("data_type", ["Text", "Integer", "Strings", "Bool"])
async def test_unknown_data_type_is_refused(sqs: Harness, data_type: str) -> None:
    url = await sqs.create()
    bad = MessageAttributeValue(data_type, string_value="v")
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "bad type", attributes={"a": bad})


async def test_custom_type_suffixes_round_trip(sqs: Harness) -> None:
    url = await sqs.create()
    attributes = {
        "price": MessageAttributeValue.number("9.99", custom="float"),
        "doc": MessageAttributeValue.string('{"a": 1}', custom="json"),
        "zipped": MessageAttributeValue.binary(b"\x1f\x8b", custom="gzip"),
    }
    result = await send(sqs, url, "custom", attributes=attributes)
    assert result.md5_of_message_attributes == md5_of_attributes(attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert message.message_attributes["price"].data_type == "Number.float"
    assert message.message_attributes["doc"].data_type == "String.json"
    assert message.message_attributes["zipped"].data_type == "Binary.gzip"
    assert dict(message.message_attributes) == attributes


@pytest.mark.moto_deviation("moto does not limit the length of a data type")
async def test_data_type_longer_than_256_characters_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    bad = MessageAttributeValue("Number." + "L" * 256, string_value="1")
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "long type", attributes={"a": bad})


@pytest.mark.parametrize("value", ["0", "-17", "3.14159", "1e10", "12345678901234567890123456789"])
async def test_number_travels_as_the_exact_string_sent(sqs: Harness, value: str) -> None:
    url = await sqs.create()
    await send(sqs, url, "number", attributes={"n": MessageAttributeValue.number(value)})
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert message.message_attributes["n"] == MessageAttributeValue("Number", string_value=value)


@pytest.mark.moto_deviation("moto does not check that a Number attribute holds a number")
async def test_number_attribute_must_hold_a_number(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(
            sqs, url, "nan", attributes={"n": MessageAttributeValue("Number", string_value="abc")}
        )


@pytest.mark.moto_deviation("moto accepts an empty attribute value (then digests it wrongly)")
async def test_empty_string_attribute_value_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "empty", attributes={"ErrorDetails": S("")})
    assert "ErrorDetails" in caught.value.message
    assert "non-empty" in caught.value.message


@pytest.mark.moto_deviation("moto accepts an empty binary value (then digests it wrongly)")
async def test_empty_binary_attribute_value_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "empty", attributes={"b": MessageAttributeValue.binary(b"")})


@pytest.mark.moto_deviation("moto does not check the characters of a String attribute value")
async def test_string_attribute_value_with_illegal_characters_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "bad value", attributes={"a": S("Invalid-\x08,\x0b")})


async def test_binary_attribute_round_trips_every_byte(sqs: Harness) -> None:
    url = await sqs.create()
    payload = bytes(range(256)) * 4
    attributes = {"blob": MessageAttributeValue.binary(payload)}
    result = await send(sqs, url, "binary", attributes=attributes)
    assert result.md5_of_message_attributes == md5_of_attributes(attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert message.message_attributes["blob"].binary_value == payload
    assert message.message_attributes["blob"].data_type == "Binary"


async def test_unicode_string_attribute_round_trips(sqs: Harness) -> None:
    url = await sqs.create()
    attributes = {"greeting": S("Grüße 🚀 世界\t\n")}
    await send(sqs, url, "unicode", attributes=attributes)
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert dict(message.message_attributes) == attributes


# -- system attributes ---------------------------------------------------------------------------

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


async def test_aws_trace_header_comes_back_on_receive(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "traced", system_attributes={"AWSTraceHeader": S(TRACE)})
    (message,) = await receive(sqs, url, attribute_names=["AWSTraceHeader"])
    assert message.attributes["AWSTraceHeader"] == TRACE


@pytest.mark.moto_deviation("moto does not return MD5OfMessageSystemAttributes")
async def test_aws_trace_header_has_its_own_md5(sqs: Harness) -> None:
    url = await sqs.create()
    system = {"AWSTraceHeader": S(TRACE)}
    attributes = {"timestamp": MessageAttributeValue.number("1493147359900")}
    plain = await send(sqs, url, "a", attributes=attributes)
    traced = await send(sqs, url, "a", attributes=attributes, system_attributes=system)
    # the trace header leaves the message-attribute MD5 alone and gets one of its own
    assert plain.md5_of_message_attributes == traced.md5_of_message_attributes
    assert plain.md5_of_system_attributes is None
    assert traced.md5_of_system_attributes == md5_of_attributes(system)


async def test_trace_header_is_not_a_message_attribute(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "traced", system_attributes={"AWSTraceHeader": S(TRACE)})
    (message,) = await receive(sqs, url, message_attribute_names=["All"])
    assert dict(message.message_attributes) == {}
    assert message.md5_of_message_attributes is None


@pytest.mark.moto_deviation("moto accepts any system attribute name")
@pytest.mark.parametrize("name", ["SenderId", "SentTimestamp", "MyTrace"])
async def test_only_aws_trace_header_may_be_set_as_system_attribute(
    sqs: Harness, name: str
) -> None:
    url = await sqs.create()
    with pytest.raises(SenderError):
        await send(sqs, url, "spoof", system_attributes={name: S("x")})
