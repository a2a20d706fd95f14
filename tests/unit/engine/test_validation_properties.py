"""Properties of the pure validation functions and of FIFO ordering, found by hypothesis."""

from __future__ import annotations

import asyncio
import decimal
import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enterprise_sqs import DeleteEntry, ManualClock, MessageAttributeValue, SendEntry
from enterprise_sqs.checksums import decode_attributes, md5_of_attributes, md5_of_body
from enterprise_sqs.engine import validation
from enterprise_sqs.engine.backend import EngineBackend
from enterprise_sqs.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    TooManyEntriesInBatchRequest,
)

_LEGAL = st.characters(
    codec="utf-8", exclude_categories=("Cs",), exclude_characters="\ufffe\uffff"
).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20)
_ILLEGAL = st.sampled_from(
    [chr(c) for c in range(0x20) if c not in (9, 10, 13)] + ["\ufffe", "\uffff", "\ud800"]
)


@given(st.text(_LEGAL, min_size=1))
def test_legal_bodies_pass_and_measure_their_utf8_size(body: str) -> None:
    raw = validation.check_body(body)
    assert raw == body.encode("utf-8")


@given(st.text(_LEGAL), _ILLEGAL, st.text(_LEGAL))
def test_any_illegal_character_is_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(InvalidMessageContents) as caught:
        validation.check_body(before + bad + after)
    assert f"#x{ord(bad):X}" in caught.value.message


@given(st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True))
def test_valid_standard_queue_names(name: str) -> None:
    assert validation.check_queue_name(name, fifo=False) == name


@given(st.text(min_size=1, max_size=90))
def test_queue_names_outside_the_alphabet_or_length_are_refused(name: str) -> None:
    if re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name):
        return
    with pytest.raises(InvalidParameterValue):
        validation.check_queue_name(name, fifo=False)


@given(st.from_regex(r"[A-Za-z0-9_-]{1,75}", fullmatch=True))
def test_fifo_names_need_the_suffix(stem: str) -> None:
    assert validation.check_queue_name(stem + ".fifo", fifo=True) == stem + ".fifo"
    with pytest.raises(InvalidParameterValue):
        validation.check_queue_name(stem, fifo=True)


@given(st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True), max_size=15))
def test_batch_shapes(ids: list[str]) -> None:
    if not ids:
        with pytest.raises(EmptyBatchRequest):
            validation.check_batch_ids(ids, "SendMessageBatchRequestEntry")
    elif len(ids) > 10:
        with pytest.raises(TooManyEntriesInBatchRequest) as caught:
            validation.check_batch_ids(ids, "SendMessageBatchRequestEntry")
        assert caught.value.message.endswith(f"You have sent {len(ids)}.")
    elif len(set(ids)) < len(ids):
        with pytest.raises(BatchEntryIdsNotDistinct):
            validation.check_batch_ids(ids, "SendMessageBatchRequestEntry")
    else:
        validation.check_batch_ids(ids, "SendMessageBatchRequestEntry")


@given(
    st.text(st.characters(exclude_characters="-_"), min_size=1, max_size=5).filter(
        lambda s: not re.fullmatch(r"[A-Za-z0-9]+", s)
    )
)
def test_malformed_batch_ids_are_refused(bad: str) -> None:
    with pytest.raises(InvalidBatchEntryId):
        validation.check_batch_ids(["ok", bad], "DeleteMessageBatchRequestEntry")


@given(
    st.sampled_from(
        ["AWS.x", "aws.x", "Amazon.y", "amazon.Y", ".lead", "trail.", "dou..ble", "sp ace"]
    )
)
def test_reserved_or_malformed_attribute_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        validation.check_message_attributes({name: MessageAttributeValue.string("v")})


@given(
    st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30).filter(
        lambda x: x == 0 or abs(x) > 1e-100
    )
)
def test_numbers_are_accepted_and_counted(number: int | float) -> None:
    value = MessageAttributeValue.number(number)
    size = validation.check_message_attributes({"n": value})
    assert size == len("n") + len("Number") + len(str(number))


def test_non_numbers_and_empty_values_are_refused() -> None:
    for bad in (
        MessageAttributeValue("Number", string_value="12abc"),
        MessageAttributeValue("String", string_value=""),
        MessageAttributeValue("Binary", binary_value=b""),
        MessageAttributeValue("Text", string_value="x"),
    ):
        with pytest.raises(InvalidParameterValue):
            validation.check_message_attributes({"a": bad})
    too_many = {f"a{i}": MessageAttributeValue.string("v") for i in range(11)}
    with pytest.raises(InvalidParameterValue) as caught:
        validation.check_message_attributes(too_many)
    assert (
        caught.value.message
        == "Number of message attributes [11] exceeds the allowed maximum [10]."
    )


def _sqs_accepts_name(name: str) -> bool:
    """The attribute name rules, spelled out independently of validation's shortcuts."""
    return (
        re.fullmatch(r"[A-Za-z0-9_.-]{1,256}", name) is not None
        and not name.lower().startswith(("aws.", "amazon."))
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
    )


_NAME_PARTS = st.sampled_from(
    ["a", "Z", "9", "_", "-", ".", "..", "aws.", "AWS.", "aWs", "Amazon.", "amazonx", " ", "é"]
)


@given(
    st.lists(_NAME_PARTS, min_size=1, max_size=8).map("".join)
    | st.text(max_size=20)
    | st.integers(250, 260).map(lambda n: "n" * n)
)
def test_attribute_names_are_judged_by_the_sqs_rules(name: str) -> None:
    value = MessageAttributeValue.string("v")
    for _ in range(2):  # the second time, a name accepted before is already known
        if _sqs_accepts_name(name):
            size = validation.check_message_attributes({name: value})
            assert size == len(name) + len("String") + 1
        else:
            with pytest.raises(InvalidParameterValue, match="attribute name"):
                validation.check_message_attributes({name: value})


@given(
    st.text(st.characters(codec="utf-8") | _ILLEGAL, max_size=12),
    st.sampled_from(["String", "String.x", "Number", "Binary"]),
)
def test_attribute_text_values_are_judged_by_the_xml_character_rules(
    text: str, data_type: str
) -> None:
    value = MessageAttributeValue(data_type, string_value=text)
    legal = re.search("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", text) is None
    if text == "" or data_type == "Binary":  # (a Binary attribute needs binary_value)
        expected = "must contain a non-empty value"
    elif not legal:
        expected = "contains the invalid character"
    elif data_type.startswith("String"):
        size = validation.check_message_attributes({"a": value})
        assert size == len("a") + len(data_type) + len(text.encode("utf-8"))
        return
    else:  # a Number: text that is no decimal at all is refused as such (numbers: see above)
        try:
            decimal.Decimal(text)
        except decimal.InvalidOperation:
            expected = "to a number"
        else:
            return
    with pytest.raises(InvalidParameterValue, match=expected):
        validation.check_message_attributes({"a": value})


_VALUES = st.one_of(
    st.builds(MessageAttributeValue.string, st.text(_LEGAL, min_size=1, max_size=20)),
    st.builds(MessageAttributeValue.number, st.integers()),
    st.builds(MessageAttributeValue.binary, st.binary(min_size=1, max_size=20)),
    st.builds(MessageAttributeValue.string, st.text(_LEGAL, min_size=1), st.just("t")),
)


def _value_bytes(value: MessageAttributeValue) -> bytes:
    if value.binary_value is not None:
        return value.binary_value
    assert value.string_value is not None
    return value.string_value.encode("utf-8")


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True), _VALUES, max_size=10))
def test_encoded_attributes_are_what_the_md5_is_over_and_count_their_size(
    attributes: dict[str, MessageAttributeValue],
) -> None:
    size, encoded = validation.encode_message_attributes(attributes)
    assert size == validation.check_message_attributes(attributes)
    assert size == sum(
        len(name.encode()) + len(value.data_type.encode()) + len(_value_bytes(value))
        for name, value in attributes.items()
    )
    assert (hashlib.md5(encoded).hexdigest() if encoded else None) == md5_of_attributes(attributes)
    assert decode_attributes(encoded) == attributes


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=25),
    st.integers(min_value=1, max_value=10),
)
def test_fifo_receive_keeps_group_order_and_takes_groups_first(
    groups: list[str], batch_size: int
) -> None:
    async def scenario() -> None:
        engine = EngineBackend(None, clock=ManualClock())
        try:
            url = await engine.create_queue("prop.fifo", {"FifoQueue": "true"})
            sent: list[tuple[str, str]] = []
            for i, group in enumerate(groups):
                result = await engine.send_message(
                    url,
                    SendEntry(id="e", body=f"{group}{i}", group_id=group, deduplication_id=str(i)),
                )
                assert result.md5_of_body == md5_of_body(f"{group}{i}")
                sent.append((group, f"{group}{i}"))
            delivered: list[str] = []
            while True:
                batch = await engine.receive(
                    url, max_messages=batch_size, attribute_names=["MessageGroupId"]
                )
                if not batch:
                    break
                batch_groups = [m.attributes["MessageGroupId"] for m in batch]
                # group-first: each group forms one contiguous run inside a receive
                runs = [g for i, g in enumerate(batch_groups) if i == 0 or batch_groups[i - 1] != g]
                assert len(runs) == len(set(runs))
                delivered.extend(m.body for m in batch)
                await engine.delete_batch(
                    url,
                    [
                        DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                        for i, m in enumerate(batch)
                    ],
                )
            assert sorted(delivered) == sorted(body for _, body in sent)
            for group in set(groups):
                expected = [body for g, body in sent if g == group]
                assert [b for b in delivered if b.startswith(group)] == expected
        finally:
            await engine.aclose()

    asyncio.run(scenario())
