"""The MD5 digests SQS computes over message bodies and attributes, so clients can verify them.

``MD5OfMessageAttributes``: attributes sorted by name; for each, the 4-byte big-endian length and
bytes of the name, of the data type, one transport byte (1 for String/Number, 2 for Binary), then
the length and bytes of the value; the MD5 of all of it. ``MD5OfMessageSystemAttributes`` uses the
same encoding over the system attributes a sender set (only ``AWSTraceHeader``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from enterprise_sqs.models import MessageAttributeValue

__all__ = ["md5_of_attributes", "md5_of_body"]

_STRING_TRANSPORT = b"\x01"
_BINARY_TRANSPORT = b"\x02"


def md5_of_body(body: str) -> str:
    """Hex MD5 of the UTF-8 body, as ``MD5OfMessageBody``."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def md5_of_attributes(attributes: Mapping[str, MessageAttributeValue]) -> str | None:
    """Hex MD5 over message (or system) attributes; ``None`` when there are none (SQS omits it)."""
    if not attributes:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        digest.update(_length_prefixed(name.encode("utf-8")))
        digest.update(_length_prefixed(value.data_type.encode("utf-8")))
        if value.data_type.startswith("Binary"):
            digest.update(_BINARY_TRANSPORT)
            digest.update(_length_prefixed(value.binary_value or b""))
        else:
            digest.update(_STRING_TRANSPORT)
            digest.update(_length_prefixed((value.string_value or "").encode("utf-8")))
    return digest.hexdigest()
