"""Message signatures: proof of which producer sent a message, checked by consumers.

::

    # shared secret (both sides hold it)
    signing = MessageSigning.hmac({"billing-2026": secret}, signing_key="billing-2026")
    # or public-key: producers hold the private key, consumers only public keys
    producer_side = MessageSigning.ed25519(private_key=private, key_id="billing")
    consumer_side = MessageSigning.ed25519(public_keys={"billing": private.public_key()})

The attribute ``esqs.sig`` carries ``"v1 <algorithm> <key id> <base64 signature>"``. What is
signed: the queue identity (ARN by default, :mod:`.binding`), the body, and every other message
attribute, so a body replayed into another queue, or altered attributes, fail the check.

Consumers with ``require=True`` (default) refuse unsigned messages; a missing, unknown-key or
bad signature raises :class:`~enterprise_sqs.errors.CodecError` (never retried: DLQ).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
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
from enterprise_sqs.codecs.keys import validate_key_id
from enterprise_sqs.errors import CodecError, ConfigurationError
from enterprise_sqs.models import MessageAttributeValue

__all__ = ["SIGNATURE_ATTRIBUTE", "MessageSigning"]

SIGNATURE_ATTRIBUTE = "esqs.sig"
_EXCLUDE = frozenset({SIGNATURE_ATTRIBUTE})
_HMAC = "hmac-sha256"
_ED25519 = "ed25519"


def _signed_bytes(queue_id: str, envelope: Envelope) -> bytes:
    queue = queue_id.encode()
    body = envelope.body.encode("utf-8")
    return b"".join(
        (
            b"esqs-sig-v1\x00",
            len(queue).to_bytes(4, "big"),
            queue,
            len(body).to_bytes(8, "big"),
            body,
            canonical_attributes(envelope.attributes, _EXCLUDE),
        )
    )


class MessageSigning:
    """The signing codec. Build it with :meth:`hmac` or :meth:`ed25519`."""

    name = "signature"

    def __init__(
        self,
        *,
        algorithm: str,
        signing_key_id: str | None,
        hmac_keys: Mapping[str, bytes] | None = None,
        private_key: Ed25519PrivateKey | None = None,
        public_keys: Mapping[str, Ed25519PublicKey] | None = None,
        require: bool = True,
        bind_to: QueueBinding = "arn",
    ) -> None:
        if not isinstance(require, bool):
            raise ConfigurationError(f"require must be True or False, got {require!r}")
        self._algorithm = algorithm
        self._signing_key_id = signing_key_id
        self._hmac_keys = dict(hmac_keys or {})
        self._private_key = private_key
        self._public_keys = dict(public_keys or {})
        self._require = require
        self._bind_to = validate_binding(bind_to)

    @classmethod
    def hmac(
        cls,
        keys: Mapping[str, bytes | str],
        *,
        signing_key: str | None = None,
        require: bool = True,
        bind_to: QueueBinding = "arn",
    ) -> MessageSigning:
        """HMAC-SHA256 with shared secrets by key id; ``signing_key`` (default: the last
        one) signs, every key verifies. Secrets must be at least 32 bytes."""
        if not isinstance(keys, Mapping) or not keys:
            raise ConfigurationError("MessageSigning.hmac needs at least one key {key_id: secret}")
        secrets: dict[str, bytes] = {}
        for key_id, secret in keys.items():
            validate_key_id(key_id)
            raw = secret.encode() if isinstance(secret, str) else secret
            if not isinstance(raw, bytes | bytearray) or len(raw) < 32:
                raise ConfigurationError(f"HMAC key {key_id!r} must be at least 32 bytes")
            secrets[key_id] = bytes(raw)
        chosen = signing_key if signing_key is not None else list(secrets)[-1]
        if chosen not in secrets:
            raise ConfigurationError(f"signing_key {chosen!r} is not one of {list(secrets)}")
        return cls(
            algorithm=_HMAC,
            signing_key_id=chosen,
            hmac_keys=secrets,
            require=require,
            bind_to=bind_to,
        )

    @classmethod
    def ed25519(
        cls,
        *,
        private_key: Ed25519PrivateKey | None = None,
        key_id: str | None = None,
        public_keys: Mapping[str, Ed25519PublicKey] | None = None,
        require: bool = True,
        bind_to: QueueBinding = "arn",
    ) -> MessageSigning:
        """Ed25519: producers give ``private_key`` and its ``key_id``; consumers give
        ``public_keys`` by key id (a producer's own public key is accepted automatically)."""
        if private_key is not None and not isinstance(private_key, Ed25519PrivateKey):
            raise ConfigurationError("private_key must be an Ed25519PrivateKey")
        if private_key is not None:
            key_id = validate_key_id(key_id)
        publics = dict(public_keys or {})
        for kid, public in publics.items():
            validate_key_id(kid)
            if not isinstance(public, Ed25519PublicKey):
                raise ConfigurationError(f"public key {kid!r} must be an Ed25519PublicKey")
        if private_key is not None and key_id is not None:
            publics.setdefault(key_id, private_key.public_key())
        if private_key is None and not publics:
            raise ConfigurationError("give private_key (to sign) or public_keys (to verify)")
        return cls(
            algorithm=_ED25519,
            signing_key_id=key_id if private_key is not None else None,
            private_key=private_key,
            public_keys=publics,
            require=require,
            bind_to=bind_to,
        )

    def __repr__(self) -> str:
        keys = list(self._hmac_keys) if self._algorithm == _HMAC else list(self._public_keys)
        return (
            f"MessageSigning({self._algorithm}, signing_key={self._signing_key_id!r}, "
            f"verify_keys={keys})"
        )

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        key_id = self._signing_key_id
        if key_id is None:
            raise CodecError("this MessageSigning has only public keys: it cannot sign")
        data = _signed_bytes(queue_identity(context, self._bind_to), envelope)
        if self._algorithm == _HMAC:
            signature = hmac.new(self._hmac_keys[key_id], data, hashlib.sha256).digest()
        else:
            assert self._private_key is not None  # the constructor pairs the two
            signature = self._private_key.sign(data)
        attributes = dict(envelope.attributes)
        attributes[SIGNATURE_ATTRIBUTE] = MessageAttributeValue(
            "String",
            string_value=f"v1 {self._algorithm} {key_id} {base64.b64encode(signature).decode()}",
        )
        return Envelope(body=envelope.body, attributes=attributes)

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        marker = envelope.attributes.get(SIGNATURE_ATTRIBUTE)
        if marker is None:
            if self._require:
                raise CodecError("the message is not signed and this consumer requires signatures")
            return envelope
        parts = (marker.string_value or "").split(" ")
        if len(parts) != 4 or parts[0] != "v1":
            raise CodecError(f"unknown signature format in {SIGNATURE_ATTRIBUTE!r}")
        _, algorithm, key_id, signature_b64 = parts
        if algorithm != self._algorithm:
            raise CodecError(f"the message is signed with {algorithm}, expected {self._algorithm}")
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise CodecError("the message signature is not valid base64") from exc
        remaining = {k: v for k, v in envelope.attributes.items() if k != SIGNATURE_ATTRIBUTE}
        stripped = Envelope(body=envelope.body, attributes=remaining)
        data = _signed_bytes(queue_identity(context, self._bind_to), stripped)
        if self._algorithm == _HMAC:
            secret = self._hmac_keys.get(key_id)
            if secret is None:
                raise CodecError(f"the message is signed with unknown key {key_id!r}")
            good = hmac.compare_digest(hmac.new(secret, data, hashlib.sha256).digest(), signature)
        else:
            public = self._public_keys.get(key_id)
            if public is None:
                raise CodecError(f"the message is signed with unknown key {key_id!r}")
            try:
                public.verify(signature, data)
                good = True
            except InvalidSignature:
                good = False
        if not good:
            raise CodecError(
                f"bad signature (key {key_id!r}): the body, the attributes or the queue differ "
                "from what the producer signed"
            )
        return stripped
