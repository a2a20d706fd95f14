"""Key providers for envelope encryption: who makes data keys and who unwraps them.

A message is encrypted with a data key (AES-256); the data key travels with the message,
*wrapped* (encrypted) by a master key the provider holds. Two providers:

- :class:`LocalKeyring`: master keys by id, held in memory (load them from your secret store).
  The primary key (the newest added, unless chosen) wraps new data keys; every key unwraps, so
  rotation is: add the new key, keep the old one until no message wrapped with it remains.
- :class:`KMSKeyProvider`: AWS KMS ``GenerateDataKey`` / ``Decrypt`` through aiobotocore. The
  master key never leaves KMS; rotation is KMS's own.

Either raises :class:`~enterprise_sqs.errors.CodecError` when a wrapped key cannot be unwrapped
(unknown key id, wrong key, tampered blob): the message can never be decrypted. A KMS that cannot
be reached raises the translated transport/throttling error instead (retryable).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as exc:  # cryptography is the optional 'crypto' extra
    raise ImportError(
        f"{__name__} needs the cryptography package: pip install 'enterprise-sqs[crypto]'"
    ) from exc

from enterprise_sqs.codecs.aws_clients import LazyAWSClient
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import CodecError, ConfigurationError, EnterpriseSQSError

__all__ = ["DataKey", "KMSKeyProvider", "KeyProvider", "LocalKeyring", "validate_key_id"]

_KEY_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,256}$")
_NONCE = 12


def validate_key_id(key_id: object) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        raise ConfigurationError(
            f"a key id must be 1-256 characters of letters, digits and ._:/+=@- "
            f"(no spaces), got {key_id!r}"
        )
    return key_id


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh data key: its plaintext (never logged) and the same key wrapped by ``key_id``."""

    key_id: str
    plaintext: bytes = field(repr=False)
    wrapped: bytes = field(repr=False)


@runtime_checkable
class KeyProvider(Protocol):
    """Makes data keys and unwraps them."""

    async def generate_data_key(self) -> DataKey: ...

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes: ...


def _as_key(value: object, key_id: str) -> bytes:
    if isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ConfigurationError(
                f"key {key_id!r}: a str key must be base64 of 32 bytes"
            ) from exc
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ConfigurationError(
            f"key {key_id!r} must be 32 bytes (AES-256), or their base64; "
            "make one with LocalKeyring.generate_key()"
        )
    return bytes(value)


class LocalKeyring:
    """Master keys by id, in memory. ``keys`` may be raw 32-byte keys or their base64.

    Args:
        keys: ``{key_id: key}`` in age order (the last one is the newest).
        primary: the key that wraps new data keys (default: the last one in ``keys``).

    Raises:
        ConfigurationError: a bad key id or key, an empty keyring, or an unknown primary.
    """

    def __init__(self, keys: Mapping[str, bytes | str], *, primary: str | None = None) -> None:
        if not isinstance(keys, Mapping) or not keys:
            raise ConfigurationError("a LocalKeyring needs at least one key {key_id: key}")
        self._ciphers: dict[str, AESGCM] = {}
        self._primary = ""
        for key_id, key in keys.items():
            self.add(key_id, key)
        if primary is not None:
            self.set_primary(primary)

    @staticmethod
    def generate_key() -> bytes:
        """A new random 32-byte master key (store it in your secret store)."""
        return AESGCM.generate_key(bit_length=256)

    @property
    def primary(self) -> str:
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def add(self, key_id: str, key: bytes | str, *, primary: bool = True) -> None:
        """Add a key (rotation); it becomes the primary unless ``primary=False``."""
        validate_key_id(key_id)
        self._ciphers[key_id] = AESGCM(_as_key(key, key_id))
        if primary or not self._primary:
            self._primary = key_id

    def set_primary(self, key_id: str) -> None:
        if key_id not in self._ciphers:
            raise ConfigurationError(f"no key {key_id!r} in the keyring (have {self.key_ids})")
        self._primary = key_id

    def remove(self, key_id: str) -> None:
        """Retire a key: messages wrapped with it can no longer be decrypted."""
        if key_id == self._primary:
            raise ConfigurationError(f"key {key_id!r} is the primary; make another primary first")
        self._ciphers.pop(key_id, None)

    def __repr__(self) -> str:
        return f"LocalKeyring(key_ids={list(self._ciphers)}, primary={self._primary!r})"

    async def generate_data_key(self) -> DataKey:
        plaintext = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        key_id = self._primary
        wrapped = nonce + self._ciphers[key_id].encrypt(nonce, plaintext, _wrap_aad(key_id))
        return DataKey(key_id=key_id, plaintext=plaintext, wrapped=wrapped)

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(
                f"the message was encrypted with key {key_id!r}, which this keyring does not "
                f"have (it has {list(self._ciphers)}): add that key to decrypt it"
            )
        try:
            return cipher.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _wrap_aad(key_id))
        except (InvalidTag, ValueError) as exc:
            raise CodecError(
                f"the data key of the message does not unwrap with key {key_id!r} "
                "(tampered, or a different key under the same id)"
            ) from exc


def _wrap_aad(key_id: str) -> bytes:
    return b"esqs-keyring-v1\x00" + key_id.encode()


# KMS errors that mean "this blob will never decrypt here", as opposed to throttling/outages.
_FINAL_KMS_ERRORS = frozenset(
    {
        "InvalidCiphertextException",
        "IncorrectKeyException",
        "NotFoundException",
        "AccessDeniedException",
        "DisabledException",
        "KMSInvalidStateException",
        "InvalidKeyUsageException",
        "ValidationException",
    }
)


class KMSKeyProvider:
    """Data keys from AWS KMS: ``GenerateDataKey`` (AES_256) under ``key_id``, ``Decrypt``.

    Args:
        key_id: the KMS key (id, ARN, or ``alias/name``) that wraps new data keys.
        region, endpoint_url, credentials, profile: where KMS is and how to sign
            (default: the AWS credential chain).
        encryption_context: a KMS encryption context bound to every data key (KMS logs it
            in CloudTrail; it must be the same on the consumers).
    """

    def __init__(
        self,
        key_id: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        credentials: Credentials | None = None,
        profile: str | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> None:
        self.key_id = validate_key_id(key_id)
        if encryption_context is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in encryption_context.items()
        ):
            raise ConfigurationError("encryption_context must map str to str")
        self._context = dict(encryption_context or {})
        self._client = LazyAWSClient(
            "kms",
            region=region,
            endpoint_url=endpoint_url,
            credentials=credentials,
            profile=profile,
        )

    def __repr__(self) -> str:
        return f"KMSKeyProvider(key_id={self.key_id!r}, client={self._client!r})"

    async def generate_data_key(self) -> DataKey:
        client = await self._client.get()
        args: dict[str, Any] = {"KeyId": self.key_id, "KeySpec": "AES_256"}
        if self._context:
            args["EncryptionContext"] = self._context
        try:
            reply = await client.generate_data_key(**args)
        except Exception as exc:
            raise _translate(exc, f"KMS GenerateDataKey with key {self.key_id!r} failed") from exc
        return DataKey(
            key_id=reply["KeyId"], plaintext=reply["Plaintext"], wrapped=reply["CiphertextBlob"]
        )

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        client = await self._client.get()
        args: dict[str, Any] = {"CiphertextBlob": wrapped, "KeyId": key_id}
        if self._context:
            args["EncryptionContext"] = self._context
        try:
            reply = await client.decrypt(**args)
        except Exception as exc:
            raise _translate(exc, f"KMS could not decrypt the data key (key {key_id!r})") from exc
        plaintext: bytes = reply["Plaintext"]
        return plaintext

    async def aclose(self) -> None:
        await self._client.aclose()


def _translate(exc: Exception, what: str) -> EnterpriseSQSError:
    from botocore.exceptions import ClientError

    from enterprise_sqs.backends.aws_translate import translate_error

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _FINAL_KMS_ERRORS:
            return CodecError(f"{what}: {code}")
    translated = translate_error(exc)
    if translated is not None:
        return translated
    return CodecError(f"{what}: {type(exc).__name__}")
