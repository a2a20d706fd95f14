"""Envelope encryption of message bodies: AES-256-GCM under a data key wrapped by a key provider.

::

    keyring = LocalKeyring({"2026-01": key})            # or KMSKeyProvider("alias/orders")
    codec = EnvelopeEncryption(keyring)
    publisher = sqs.create_publisher("orders", codecs=[codec])
    consumer = sqs.create_consumer("orders", codecs=[codec])

On the wire: the body is ``base64(wrapped data key) "." base64(nonce ‖ ciphertext ‖ tag)`` and
the message attribute ``esqs.enc`` says ``"v1 <key id>"`` (format, and the master key that
wrapped the data key). The associated data authenticates the queue (its ARN by default), the key
id, the wrapped key and every other message attribute (:mod:`.binding`): a body moved to
another queue, or an attribute added, removed or changed, does not decrypt.

A data key is reused for ``data_key_reuse_seconds`` / ``data_key_reuse_messages`` (each message
still has its own random 96-bit nonce), so KMS is called once a minute rather than per message;
set either to 0 for a fresh data key per message. Consumers cache unwrapped keys the same way.

A message that does not decrypt raises :class:`~enterprise_sqs.errors.CodecError`: it is never
retried and goes to the dead-letter queue with the reason. A dead-letter queue's consumer can
decrypt messages bound to the source queue with ``accept_queues=[source ARN]``.
"""

from __future__ import annotations

import binascii
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as exc:  # cryptography is the optional 'crypto' extra
    raise ImportError(
        f"{__name__} needs the cryptography package: pip install 'enterprise-sqs[crypto]'"
    ) from exc

from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.codecs.binding import (
    QueueBinding,
    canonical_attributes,
    queue_identity,
    validate_binding,
)
from enterprise_sqs.codecs.keys import KeyProvider
from enterprise_sqs.errors import CodecError, ConfigurationError
from enterprise_sqs.models import MessageAttributeValue

__all__ = ["ENCRYPTION_ATTRIBUTE", "EnvelopeEncryption"]

ENCRYPTION_ATTRIBUTE = "esqs.enc"
_VERSION = "v1"
_NONCE = 12
_EXCLUDE = frozenset({ENCRYPTION_ATTRIBUTE})
_UNWRAPPED_CACHE = 1024


@dataclass(slots=True)
class _CachedKey:
    key_id: str
    wrapped: bytes
    wrapped_b64: str
    cipher: AESGCM
    expires: float
    uses_left: int


def _aad(queue_id: str, key_id: str, wrapped: bytes, attributes: bytes) -> bytes:
    out = bytearray(b"esqs-enc-v1\x00")
    for part in (queue_id.encode(), key_id.encode(), wrapped):
        out += len(part).to_bytes(4, "big")
        out += part
    out += attributes
    return bytes(out)


class EnvelopeEncryption:
    """The encryption codec (see the module docstring).

    Args:
        provider: a :class:`~enterprise_sqs.codecs.keys.KeyProvider` (local keyring or KMS).
        bind_to: what queue identity to authenticate: ``"arn"`` (default), ``"name"`` (portable
            between accounts/regions) or ``"none"``.
        accept_queues: other queue identities a consumer accepts (a DLQ reading its source's
            messages).
        require: consumers refuse unencrypted messages (default). ``False`` lets them through
            (a migration with producers not yet encrypting).
        data_key_reuse_seconds, data_key_reuse_messages: how long one data key encrypts.
    """

    name = "aes-256-gcm"

    def __init__(
        self,
        provider: KeyProvider,
        *,
        bind_to: QueueBinding = "arn",
        accept_queues: Sequence[str] = (),
        require: bool = True,
        data_key_reuse_seconds: float = 60.0,
        data_key_reuse_messages: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(provider, KeyProvider):
            raise ConfigurationError(
                f"provider must have generate_data_key() and unwrap(), got {provider!r}"
            )
        if isinstance(accept_queues, str) or not all(isinstance(q, str) for q in accept_queues):
            raise ConfigurationError("accept_queues must be a list of queue ARNs or names")
        if not isinstance(require, bool):
            raise ConfigurationError(f"require must be True or False, got {require!r}")
        if (
            isinstance(data_key_reuse_seconds, bool)
            or not isinstance(data_key_reuse_seconds, int | float)
            or not 0 <= data_key_reuse_seconds <= 86_400
        ):
            raise ConfigurationError("data_key_reuse_seconds must be a number from 0 to 86400")
        if (
            isinstance(data_key_reuse_messages, bool)
            or not isinstance(data_key_reuse_messages, int)
            # 2**32 random nonces per key is NIST SP 800-38D's bound for AES-GCM.
            or not 0 <= data_key_reuse_messages <= 2**32
        ):
            raise ConfigurationError("data_key_reuse_messages must be an int from 0 to 2**32")
        self.provider = provider
        self._bind_to = validate_binding(bind_to)
        self._accept = tuple(accept_queues)
        self._require = require
        self._reuse_seconds = float(data_key_reuse_seconds)
        self._reuse_messages = data_key_reuse_messages
        self._clock = clock
        self._current: _CachedKey | None = None
        self._unwrapped: OrderedDict[bytes, AESGCM] = OrderedDict()

    def __repr__(self) -> str:
        return f"EnvelopeEncryption(provider={self.provider!r}, bind_to={self._bind_to!r})"

    # -- encode -----------------------------------------------------------------------------------

    async def _data_key(self) -> _CachedKey:
        current = self._current
        now = self._clock()
        if current is not None and current.uses_left > 0 and now < current.expires:
            current.uses_left -= 1
            return current
        key = await self.provider.generate_data_key()
        fresh = _CachedKey(
            key_id=key.key_id,
            wrapped=key.wrapped,
            wrapped_b64=binascii.b2a_base64(key.wrapped, newline=False).decode("ascii"),
            cipher=AESGCM(key.plaintext),
            expires=now + self._reuse_seconds,
            uses_left=self._reuse_messages - 1,
        )
        if self._reuse_seconds > 0 and self._reuse_messages > 1:
            self._current = fresh
        return fresh

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        if ENCRYPTION_ATTRIBUTE in envelope.attributes:
            raise CodecError(f"the message already has a {ENCRYPTION_ATTRIBUTE!r} attribute")
        key = await self._data_key()
        nonce = os.urandom(_NONCE)
        aad = _aad(
            queue_identity(context, self._bind_to),
            key.key_id,
            key.wrapped,
            canonical_attributes(envelope.attributes, _EXCLUDE),
        )
        sealed = key.cipher.encrypt(nonce, envelope.body.encode("utf-8"), aad)
        attributes = dict(envelope.attributes)
        attributes[ENCRYPTION_ATTRIBUTE] = MessageAttributeValue(
            "String", string_value=f"{_VERSION} {key.key_id}"
        )
        sealed_b64 = binascii.b2a_base64(nonce + sealed, newline=False).decode("ascii")
        body = f"{key.wrapped_b64}.{sealed_b64}"
        return Envelope(body=body, attributes=attributes)

    # -- decode -----------------------------------------------------------------------------------

    async def _cipher(self, key_id: str, wrapped: bytes) -> AESGCM:
        cipher = self._unwrapped.get(wrapped)
        if cipher is not None:
            return cipher
        cipher = AESGCM(await self.provider.unwrap(key_id, wrapped))
        self._unwrapped[wrapped] = cipher
        if len(self._unwrapped) > _UNWRAPPED_CACHE:
            self._unwrapped.popitem(last=False)
        return cipher

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        marker = envelope.attributes.get(ENCRYPTION_ATTRIBUTE)
        if marker is None:
            if self._require:
                raise CodecError(
                    "the message is not encrypted and this consumer requires encryption "
                    "(EnvelopeEncryption(require=False) accepts plaintext messages)"
                )
            return envelope
        version, _, key_id = (marker.string_value or "").partition(" ")
        if version != _VERSION or not key_id:
            raise CodecError(
                f"unknown encryption format {marker.string_value!r} in {ENCRYPTION_ATTRIBUTE!r}"
            )
        wrapped_b64, dot, sealed_b64 = envelope.body.partition(".")
        try:
            if not dot:
                raise ValueError("no separator")
            # Not strict: the GCM tag authenticates the bytes, and strict decoding costs half
            # again as much as the decryption itself.
            wrapped = binascii.a2b_base64(wrapped_b64)
            sealed = binascii.a2b_base64(sealed_b64)
        except (ValueError, binascii.Error) as exc:
            raise CodecError("the encrypted message body is malformed (not from us?)") from exc
        cipher = await self._cipher(key_id, wrapped)
        attributes = canonical_attributes(envelope.attributes, _EXCLUDE)
        own = queue_identity(context, self._bind_to)
        for queue_id in (own, *self._accept):
            try:
                plaintext = cipher.decrypt(
                    sealed[:_NONCE], sealed[_NONCE:], _aad(queue_id, key_id, wrapped, attributes)
                )
                break
            except (InvalidTag, ValueError):
                continue
        else:
            raise CodecError(
                "the message does not decrypt: its body or attributes were altered after it was "
                f"sent, or it was sent to another queue than {own or context.queue_name!r}"
            )
        try:
            body = plaintext.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError("the decrypted body is not UTF-8") from exc
        remaining = {k: v for k, v in envelope.attributes.items() if k != ENCRYPTION_ATTRIBUTE}
        return Envelope(body=body, attributes=remaining)
