"""Receipt handles: what a receive hands out and a delete or visibility change hands back.

A handle names the queue, the message row, the receive it came from and the message id, signed
with a key kept in the database (BLAKE2b, 64 bits) so that a handle edited by hand, cut short or
made up is refused with ``ReceiptHandleIsInvalid`` instead of touching some other message. The row
id is checked together with the message id because SQLite may reuse a deleted row's id.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import struct
from typing import NamedTuple

from enterprise_sqs.errors import ReceiptHandleIsInvalid

__all__ = ["Receipt", "decode", "encode"]

_VERSION = 1
_BODY = struct.Struct(">BQQI36s")
_MAC_SIZE = 8
_ENCODED_SIZE = _BODY.size + _MAC_SIZE


class Receipt(NamedTuple):
    queue_id: int
    row_id: int
    receive_count: int
    message_id: str


# URL-safe base64 through binascii directly: base64.b64decode(validate=True) checks the input
# with a regular expression, which cost more than the rest of decoding a handle.
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


@functools.lru_cache(maxsize=16)
def _keyed(secret: bytes) -> hashlib.blake2b:
    # A keyed BLAKE2b spends a whole compression on the key; copying a keyed state skips it.
    return hashlib.blake2b(key=secret, digest_size=_MAC_SIZE)


def _mac(secret: bytes, body: bytes) -> bytes:
    mac = _keyed(secret).copy()
    mac.update(body)
    return mac.digest()


def encode(secret: bytes, queue_id: int, row_id: int, receive_count: int, message_id: str) -> str:
    body = _BODY.pack(_VERSION, queue_id, row_id, receive_count, message_id.encode("ascii"))
    raw = binascii.b2a_base64(body + _mac(secret, body), newline=False)
    return raw.translate(_TO_URLSAFE).decode("ascii")


def _invalid(handle: object) -> ReceiptHandleIsInvalid:
    shown = handle if isinstance(handle, str) and len(handle) <= 200 else "<the handle>"
    return ReceiptHandleIsInvalid(
        f'The input receipt handle "{shown}" is not a valid receipt handle.'
    )


def decode(secret: bytes, handle: object) -> Receipt:
    """Raises: ReceiptHandleIsInvalid (malformed, truncated or tampered with)."""
    if not isinstance(handle, str) or not handle:
        raise _invalid(handle)
    try:
        # strict_mode: no characters outside the alphabet, nothing after the padding
        raw = binascii.a2b_base64(handle.encode("ascii").translate(_FROM_URLSAFE), strict_mode=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _invalid(handle) from exc
    if len(raw) != _ENCODED_SIZE:
        raise _invalid(handle)
    body, mac = raw[: _BODY.size], raw[_BODY.size :]
    version, queue_id, row_id, receive_count, message_id = _BODY.unpack(body)
    if version != _VERSION or not hmac.compare_digest(_mac(secret, body), mac):
        raise _invalid(handle)
    return Receipt(queue_id, row_id, receive_count, message_id.decode("ascii"))
