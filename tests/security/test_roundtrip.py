"""Every combination of compress → encrypt → sign → offload, published and consumed, on the
embedded engine (local keyring, payloads in a directory) and on moto server (KMS, S3)."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.base import Codec
from enterprise_sqs.codecs.compression import COMPRESSION_ATTRIBUTE, Compression
from enterprise_sqs.codecs.encryption import ENCRYPTION_ATTRIBUTE, EnvelopeEncryption
from enterprise_sqs.codecs.keys import KMSKeyProvider, LocalKeyring
from enterprise_sqs.codecs.offload import (
    RESERVED_ATTRIBUTE,
    DirectoryPayloadStore,
    PayloadOffload,
    S3PayloadStore,
    SQLitePayloadStore,
)
from enterprise_sqs.codecs.signing import SIGNATURE_ATTRIBUTE, MessageSigning
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from tests.security.conftest import MOTO_CREDENTIALS, boto, consume, make_queue

STEPS = ("compress", "encrypt", "sign", "offload")
COMBINATIONS = [
    combo for size in range(len(STEPS) + 1) for combo in itertools.combinations(STEPS, size)
]
MASTER = LocalKeyring.generate_key()
HMAC_KEY = secrets.token_bytes(32)


def _messages() -> list[dict[str, Any]]:
    # One small message and one large enough to be compressed and then offloaded (hex text
    # compresses to about half, so it stays above the 2 KiB offload threshold).
    return [
        {"kind": "small", "text": "héllo"},
        {"kind": "large", "blob": secrets.token_hex(10_000)},
    ]


Factory = Callable[[str], Codec]


def engine_codecs(tmp_path: Path) -> dict[str, Factory]:
    return {
        "compress": lambda _: Compression(threshold=512),
        "encrypt": lambda _: EnvelopeEncryption(LocalKeyring({"k1": MASTER})),
        "sign": lambda _: MessageSigning.hmac({"producer-a": HMAC_KEY}),
        "offload": lambda _: PayloadOffload(
            DirectoryPayloadStore(tmp_path / "payloads"),
            threshold=2048,
            delete_after_processing=True,
        ),
    }


def moto_codecs(url: str, key_id: str, bucket: str) -> dict[str, Factory]:
    aws: dict[str, Any] = {
        "endpoint_url": url,
        "region": "us-east-1",
        "credentials": MOTO_CREDENTIALS,
    }
    return {
        "compress": lambda _: Compression(threshold=512),
        "encrypt": lambda _: EnvelopeEncryption(KMSKeyProvider(key_id, **aws)),
        "sign": lambda _: MessageSigning.hmac({"producer-a": HMAC_KEY}),
        "offload": lambda _: PayloadOffload(
            S3PayloadStore(bucket, **aws), threshold=2048, delete_after_processing=True
        ),
    }


async def _close(codecs: list[Codec]) -> None:
    for codec in codecs:
        close = getattr(codec, "aclose", None) or getattr(
            getattr(codec, "provider", None), "aclose", None
        )
        if close is not None:
            await close()


async def _round_trip(
    sqs: EnterpriseSQS, queue: str, combo: tuple[str, ...], factories: dict[str, Factory]
) -> list[Any]:
    await make_queue(sqs, queue)
    outgoing = [factories[step]("publisher") for step in combo]
    incoming = [factories[step]("consumer") for step in combo]
    publisher = sqs.create_publisher(queue, codecs=outgoing)
    sent = _messages()
    seen_attributes: list[set[str]] = []
    publisher.events.subscribe(
        lambda e: seen_attributes.append(set(e.message_attributes)), kinds=("published",)
    )
    for message in sent:
        result = await publisher.publish(message)
        assert result.success, result.error
    await publisher.aclose()
    handled, events = await consume(sqs, queue, len(sent), codecs=incoming)
    await _close(outgoing + incoming)
    assert [e.kind for e in events] == ["processed"] * len(sent), events
    assert sorted(handled, key=lambda m: m["kind"]) == sorted(sent, key=lambda m: m["kind"])
    # What went over the wire says what was done to it.
    on_wire = set().union(*seen_attributes)
    assert (ENCRYPTION_ATTRIBUTE in on_wire) == ("encrypt" in combo)
    assert (SIGNATURE_ATTRIBUTE in on_wire) == ("sign" in combo)
    assert (COMPRESSION_ATTRIBUTE in on_wire) == ("compress" in combo)
    assert (RESERVED_ATTRIBUTE in on_wire) == ("offload" in combo)
    return handled


@pytest.mark.parametrize("combo", COMBINATIONS, ids=lambda c: "+".join(c) or "plain")
async def test_round_trip_on_the_engine(
    memory_sqs: EnterpriseSQS, tmp_path: Path, unique: str, combo: tuple[str, ...]
) -> None:
    await _round_trip(memory_sqs, unique, combo, engine_codecs(tmp_path))
    payloads = tmp_path / "payloads"
    if "offload" in combo:  # offloaded, then deleted once processed
        assert payloads.is_dir()
        assert [p for p in payloads.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.parametrize("combo", COMBINATIONS, ids=lambda c: "+".join(c) or "plain")
async def test_round_trip_on_moto_with_kms_and_s3(
    moto_sqs: EnterpriseSQS, moto_url: str, unique: str, combo: tuple[str, ...]
) -> None:
    s3 = boto(moto_url, "s3")
    s3.create_bucket(Bucket=f"payloads-{unique}")
    kms_key = boto(moto_url, "kms").create_key()["KeyMetadata"]["KeyId"]
    await _round_trip(moto_sqs, unique, combo, moto_codecs(moto_url, kms_key, f"payloads-{unique}"))
    objects = s3.list_objects_v2(Bucket=f"payloads-{unique}").get("Contents", [])
    assert objects == []  # offloaded payloads were deleted after processing


async def test_payloads_in_the_engines_own_sqlite_file(tmp_path: Path, unique: str) -> None:
    database = tmp_path / "queues.db"
    store = SQLitePayloadStore(database)
    config = EnterpriseSQSConfig(backend=f"sqlite:///{database}", retry=RetryConfig(max_retries=2))
    async with EnterpriseSQS(config) as sqs:
        offload = PayloadOffload(store, threshold=1024)
        await make_queue(sqs, unique)
        publisher = sqs.create_publisher(unique, codecs=[offload])
        big = {"blob": "x" * 300_000}  # over SQS's 256 KiB limit: only possible offloaded
        assert (await publisher.publish(big)).success
        await publisher.aclose()
        assert await store.count() == 1
        handled, _ = await consume(sqs, unique, 1, codecs=[offload])
        assert handled == [big]
        assert await store.count() == 1  # kept: delete_after_processing is off
    await store.aclose()
