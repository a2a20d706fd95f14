"""The codec pipeline: transformations of a message's body and attributes on the way out
(publisher: compress, encrypt, sign, offload) and back on the way in (consumer: the reverse).

A codec sees an :class:`Envelope` (the body and message attributes as SQS carries them) and a
:class:`CodecContext` (which queue). Publishers apply ``encode`` in the order the codecs are given;
consumers apply ``decode`` in the reverse order. A codec marks what it did with message attributes
of its own, so that ``decode`` can pass through messages it did not encode (mixed producers).

Errors: ``encode`` raises an :class:`~enterprise_sqs.errors.EnterpriseSQSError` subclass (the
publish result carries it); ``decode`` raises :class:`~enterprise_sqs.errors.CodecError` for a
message that can never be decoded (tampered, unknown key): the consumer treats it as
non-retryable and sends it to the dead-letter queue with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from enterprise_sqs.models import MessageAttributeValue

__all__ = ["Codec", "CodecContext", "Envelope", "decode_all", "encode_all"]


@dataclass(frozen=True, slots=True)
class CodecContext:
    """Where a message is going (or came from); on the consumer side also which message."""

    queue_name: str
    queue_url: str
    queue_arn: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message as SQS carries it: the body and its message attributes."""

    body: str
    attributes: Mapping[str, MessageAttributeValue]

    def with_body(self, body: str) -> Envelope:
        return replace(self, body=body)


@runtime_checkable
class Codec(Protocol):
    """One reversible transformation of messages."""

    @property
    def name(self) -> str:
        """A short name for logs and errors (``"aes-gcm"``, ``"gzip"``)."""
        ...

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope: ...

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope: ...


async def encode_all(
    codecs: Sequence[Codec], envelope: Envelope, context: CodecContext
) -> Envelope:
    for codec in codecs:
        envelope = await codec.encode(envelope, context)
    return envelope


async def decode_all(
    codecs: Sequence[Codec], envelope: Envelope, context: CodecContext
) -> Envelope:
    for codec in reversed(codecs):
        envelope = await codec.decode(envelope, context)
    return envelope
