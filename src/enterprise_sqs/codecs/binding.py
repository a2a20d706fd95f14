"""What encryption and signatures are bound to: the queue and the other message attributes.

Both codecs authenticate more than the body: the queue the message was sent to (so a body copied
to another queue is refused) and the message attributes the sender set (so an attribute added,
removed or altered in transit is detected). This module owns the one canonical byte encoding of
those, so the two codecs can never disagree about it.

The encoding is length-prefixed (no separator can be forged by a value that contains it) and
sorted by attribute name (SQS does not preserve attribute order).
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Mapping
from typing import Literal

from enterprise_sqs.codecs.base import CodecContext
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.models import MessageAttributeValue

__all__ = ["QueueBinding", "canonical_attributes", "queue_identity", "validate_binding"]

QueueBinding = Literal["arn", "name", "none"]
_LENGTHS = struct.Struct(">III")


def validate_binding(bind_to: object) -> QueueBinding:
    if bind_to not in ("arn", "name", "none"):
        raise ConfigurationError(f"bind_to must be 'arn', 'name' or 'none', got {bind_to!r}")
    return bind_to


def queue_identity(context: CodecContext, bind_to: QueueBinding) -> str:
    """The queue identity authenticated with a message: its ARN (default), name, or nothing."""
    if bind_to == "arn":
        return context.queue_arn
    if bind_to == "name":
        return context.queue_name
    return ""


def canonical_attributes(
    attributes: Mapping[str, MessageAttributeValue], exclude: Collection[str]
) -> bytes:
    """Every attribute but ``exclude``, as ``name, type, value`` fields sorted by name; each
    field is its 4-byte big-endian length, then its bytes (``B``/``S`` marks binary values)."""
    parts: list[bytes] = []
    for name in sorted(attributes):
        if name in exclude:
            continue
        value = attributes[name]
        raw_name = name.encode("utf-8")
        raw_type = value.data_type.encode("utf-8")
        if value.binary_value is not None:
            kind, raw = b"B", value.binary_value
        else:
            kind, raw = b"S", (value.string_value or "").encode("utf-8")
        parts.append(
            _LENGTHS.pack(len(raw_name), len(raw_type), len(raw)) + raw_name + raw_type + kind + raw
        )
    return b"".join(parts)
