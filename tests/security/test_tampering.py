"""Tampering with an encrypted or signed message's body, attributes or queue is detected; a
consumer dead-letters such a message with the reason, and rotation keeps old messages readable."""

from __future__ import annotations

import base64
import dataclasses
import logging
import secrets
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.base import Codec, CodecContext, Envelope
from enterprise_sqs.codecs.compression import Compression
from enterprise_sqs.codecs.encryption import ENCRYPTION_ATTRIBUTE, EnvelopeEncryption
from enterprise_sqs.codecs.keys import LocalKeyring
from enterprise_sqs.codecs.signing import SIGNATURE_ATTRIBUTE, MessageSigning
from enterprise_sqs.errors import CodecError
from enterprise_sqs.models import MessageAttributeValue, SendEntry
from tests.security.conftest import consume, make_queue

ORDERS = CodecContext(
    queue_name="orders",
    queue_url="http://localhost/123456789012/orders",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:orders",
)
REFUNDS = dataclasses.replace(
    ORDERS,
    queue_name="refunds",
    queue_url="http://localhost/123456789012/refunds",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:refunds",
)
KEY = LocalKeyring.generate_key()
ED25519 = Ed25519PrivateKey.generate()
ATTRS = {
    "tenant": MessageAttributeValue("String", string_value="acme"),
    "amount": MessageAttributeValue("Number", string_value="42"),
}

CODECS: dict[str, Callable[[], Codec]] = {
    "aes-gcm": lambda: EnvelopeEncryption(LocalKeyring({"k1": KEY})),
    "hmac": lambda: MessageSigning.hmac({"p1": b"s" * 32}),
    "ed25519": lambda: MessageSigning.ed25519(private_key=ED25519, key_id="p1"),
}


def _flip(text: str) -> str:
    middle = len(text) // 2
    return text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :]


TAMPERINGS: dict[str, Callable[[Envelope], Envelope]] = {
    "body": lambda e: e.with_body(_flip(e.body)),
    "altered attribute": lambda e: Envelope(
        e.body, {**e.attributes, "amount": MessageAttributeValue("Number", string_value="4200")}
    ),
    "added attribute": lambda e: Envelope(
        e.body, {**e.attributes, "role": MessageAttributeValue("String", string_value="admin")}
    ),
    "removed attribute": lambda e: Envelope(
        e.body, {k: v for k, v in e.attributes.items() if k != "tenant"}
    ),
    "retyped attribute": lambda e: Envelope(
        e.body, {**e.attributes, "amount": MessageAttributeValue("String", string_value="42")}
    ),
}


@pytest.mark.parametrize("codec_name", CODECS)
async def test_an_untouched_message_decodes(codec_name: str) -> None:
    codec = CODECS[codec_name]()
    encoded = await codec.encode(Envelope('{"id": 1}', ATTRS), ORDERS)
    assert await CODECS[codec_name]().decode(encoded, ORDERS) == Envelope('{"id": 1}', ATTRS)


@pytest.mark.parametrize("tampering", TAMPERINGS)
@pytest.mark.parametrize("codec_name", CODECS)
async def test_tampering_is_detected(codec_name: str, tampering: str) -> None:
    codec = CODECS[codec_name]()
    encoded = await codec.encode(Envelope('{"id": 1, "amount": 42}', ATTRS), ORDERS)
    with pytest.raises(CodecError):
        await CODECS[codec_name]().decode(TAMPERINGS[tampering](encoded), ORDERS)


@pytest.mark.parametrize("codec_name", CODECS)
async def test_a_message_moved_to_another_queue_is_refused(codec_name: str) -> None:
    encoded = await CODECS[codec_name]().encode(Envelope("{}", ATTRS), ORDERS)
    with pytest.raises(CodecError, match="queue"):
        await CODECS[codec_name]().decode(encoded, REFUNDS)


async def test_a_dead_letter_queue_may_accept_its_source_queue() -> None:
    encoded = await CODECS["aes-gcm"]().encode(Envelope("{}", ATTRS), ORDERS)
    dlq_codec = EnvelopeEncryption(LocalKeyring({"k1": KEY}), accept_queues=[ORDERS.queue_arn])
    assert (await dlq_codec.decode(encoded, REFUNDS)).body == "{}"


async def test_the_ciphertext_hides_the_body_and_names_the_key() -> None:
    secret = "card 4111-1111-1111-1111"
    encoded = await CODECS["aes-gcm"]().encode(Envelope(secret, {}), ORDERS)
    assert "4111" not in encoded.body
    assert encoded.attributes[ENCRYPTION_ATTRIBUTE].string_value == "v1 k1"


@pytest.mark.parametrize("codec_name", CODECS)
async def test_consumers_require_encryption_or_signatures(codec_name: str) -> None:
    with pytest.raises(CodecError, match="not"):
        await CODECS[codec_name]().decode(Envelope("{}", ATTRS), ORDERS)


async def test_a_forged_signature_attribute_is_refused() -> None:
    encoded = await MessageSigning.hmac({"p1": b"s" * 32}).encode(Envelope("{}", {}), ORDERS)
    forger = MessageSigning.hmac({"p1": b"f" * 32})  # same key id, another secret
    forged = await forger.encode(Envelope('{"admin": true}', {}), ORDERS)
    assert forged.attributes[SIGNATURE_ATTRIBUTE] != encoded.attributes[SIGNATURE_ATTRIBUTE]
    with pytest.raises(CodecError, match="bad signature"):
        await MessageSigning.hmac({"p1": b"s" * 32}).decode(forged, ORDERS)


async def test_ed25519_consumers_need_only_the_public_key() -> None:
    producer = MessageSigning.ed25519(private_key=ED25519, key_id="billing")
    consumer = MessageSigning.ed25519(public_keys={"billing": ED25519.public_key()})
    encoded = await producer.encode(Envelope("{}", ATTRS), ORDERS)
    assert (await consumer.decode(encoded, ORDERS)).body == "{}"
    other = MessageSigning.ed25519(
        public_keys={"billing": Ed25519PrivateKey.generate().public_key()}
    )
    with pytest.raises(CodecError):
        await other.decode(encoded, ORDERS)
    with pytest.raises(CodecError, match="cannot sign"):
        await consumer.encode(Envelope("{}", {}), ORDERS)


async def test_a_compression_bomb_is_refused() -> None:
    codec = Compression(threshold=0, max_size=10_000)
    encoded = await Compression(threshold=0).encode(Envelope("0" * 1_000_000, {}), ORDERS)
    assert len(encoded.body) < 10_000
    with pytest.raises(CodecError, match="max_size"):
        await codec.decode(encoded, ORDERS)


async def test_a_corrupt_compressed_body_is_a_codec_error() -> None:
    encoded = await Compression(threshold=0).encode(Envelope("a" * 5000, {}), ORDERS)
    raw = bytearray(base64.b64decode(encoded.body))
    raw[12] ^= 0xFF
    corrupt = encoded.with_body(base64.b64encode(bytes(raw)).decode())
    with pytest.raises(CodecError):
        await Compression().decode(corrupt, ORDERS)


# -- through a consumer ---------------------------------------------------------------------------


async def test_a_tampered_message_goes_to_the_dead_letter_queue_with_the_reason(
    memory_sqs: EnterpriseSQS, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    url, dlq_url = await make_queue(memory_sqs, unique, dlq=True)
    assert dlq_url is not None
    codec = EnvelopeEncryption(LocalKeyring({"k1": KEY}))
    publisher = memory_sqs.create_publisher(unique, codecs=[codec])
    assert (await publisher.publish({"amount": 10})).success
    await publisher.aclose()
    # An attacker with SendMessage rights replays the body with a changed attribute.
    client = memory_sqs.get_sqs_client()
    [original] = await client.receive(url, message_attribute_names=("All",))
    await client.delete_message(url, original.receipt_handle)
    await client.send_message(
        url,
        SendEntry(
            id="0",
            body=original.body,
            message_attributes={
                **original.message_attributes,
                "approved": MessageAttributeValue("String", string_value="yes"),
            },
        ),
    )
    with caplog.at_level(logging.INFO):
        handled, events = await consume(memory_sqs, unique, 1, codecs=[codec])
    assert handled == []
    assert [e.kind for e in events] == ["dead_lettered"]
    assert isinstance(events[0].error, CodecError)
    assert "does not decrypt" in str(events[0].error)
    [logged] = [r for r in caplog.records if "dead-letter queue" in r.getMessage()]
    assert "does not decrypt" in logged.error  # type: ignore[attr-defined]  # an extra field
    [dead] = await client.receive(dlq_url, message_attribute_names=("All",))
    assert dead.body == original.body  # the DLQ keeps the message as it arrived


async def test_key_rotation_with_messages_of_both_keys_in_flight(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    await make_queue(memory_sqs, unique, dlq=True)
    old_key, new_key = LocalKeyring.generate_key(), LocalKeyring.generate_key()
    producer_keys = LocalKeyring({"2026-01": old_key})
    publisher = memory_sqs.create_publisher(
        unique, codecs=[EnvelopeEncryption(producer_keys, data_key_reuse_seconds=0)]
    )
    for n in range(3):
        assert (await publisher.publish({"n": n, "key": "old"})).success
    producer_keys.add("2026-02", new_key)  # rotation: new messages use the newest key
    for n in range(3):
        assert (await publisher.publish({"n": n, "key": "new"})).success
    await publisher.aclose()
    consumer_keys = LocalKeyring({"2026-01": old_key, "2026-02": new_key})
    handled, events = await consume(
        memory_sqs, unique, 6, codecs=[EnvelopeEncryption(consumer_keys)]
    )
    assert {e.kind for e in events} == {"processed"}
    assert sorted((m["key"], m["n"]) for m in handled) == sorted(
        (k, n) for k in ("old", "new") for n in range(3)
    )


async def test_a_retired_key_dead_letters_its_messages_saying_which_key(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    await make_queue(memory_sqs, unique, dlq=True)
    old_key = LocalKeyring.generate_key()
    publisher = memory_sqs.create_publisher(
        unique, codecs=[EnvelopeEncryption(LocalKeyring({"2026-01": old_key}))]
    )
    assert (await publisher.publish({"n": 1})).success
    await publisher.aclose()
    retired = EnvelopeEncryption(LocalKeyring({"2026-02": secrets.token_bytes(32)}))
    handled, events = await consume(memory_sqs, unique, 1, codecs=[retired])
    assert handled == []
    assert [e.kind for e in events] == ["dead_lettered"]
    assert "2026-01" in str(events[0].error)
