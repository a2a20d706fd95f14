"""Message attributes from plain Python values, and message size as SQS counts it."""

from __future__ import annotations

import decimal
from collections.abc import Mapping

from enterprise_sqs.errors import InvalidParameterValue
from enterprise_sqs.models import MessageAttributeValue, new_attribute

__all__ = ["AttributeInput", "message_size", "to_message_attributes"]

AttributeInput = str | int | float | decimal.Decimal | bytes | bool | MessageAttributeValue


def _convert(name: str, value: object) -> MessageAttributeValue:
    if isinstance(value, MessageAttributeValue):
        return value
    if isinstance(value, bool):  # before int: bool is an int, but "true" reads better than "1"
        return MessageAttributeValue.string("true" if value else "false")
    if isinstance(value, str):
        return MessageAttributeValue.string(value)
    if isinstance(value, int | decimal.Decimal):
        return MessageAttributeValue.number(str(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidParameterValue(
                f"message attribute {name!r} is {value!r}: SQS numbers must be finite"
            )
        return MessageAttributeValue.number(repr(value))
    if isinstance(value, bytes | bytearray):
        return MessageAttributeValue.binary(bytes(value))
    raise InvalidParameterValue(
        f"message attribute {name!r} has a {type(value).__name__}; use str, int, float, "
        "Decimal, bool, bytes or a MessageAttributeValue"
    )


def to_message_attributes(
    values: Mapping[str, object] | None,
) -> dict[str, MessageAttributeValue]:
    """Map plain values to SQS types: str → String, int/float/Decimal → Number, bytes → Binary.

    Raises:
        InvalidParameterValue: a value of a type SQS cannot carry.
    """
    if not values:
        return {}
    attributes = {}
    for name, value in values.items():
        if type(name) is not str:
            name = str(name)
        # the common case (a str, e.g. trace context) without _convert's checks and the
        # dataclass __init__: 0.5 µs instead of 1.1 µs an attribute
        if type(value) is str:
            attributes[name] = new_attribute("String", value, None)
        else:
            attributes[name] = _convert(name, value)
    return attributes


def message_size(body: str, attributes: Mapping[str, MessageAttributeValue]) -> int:
    """Bytes SQS counts against ``MaximumMessageSize``: the UTF-8 body plus, per message
    attribute, its name, data type and value."""
    # An ASCII str knows it is ASCII (O(1)), and then its length is its UTF-8 size: no copy.
    size = len(body) if body.isascii() else len(body.encode("utf-8"))
    for name, value in attributes.items():
        size += len(name) if name.isascii() else len(name.encode("utf-8"))
        data_type = value.data_type
        size += len(data_type) if data_type.isascii() else len(data_type.encode("utf-8"))
        if value.binary_value is not None:
            size += len(value.binary_value)
        elif (text := value.string_value) is not None:
            size += len(text) if text.isascii() else len(text.encode("utf-8"))
    return size
