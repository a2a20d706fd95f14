"""Edge cases of the codecs: zstd, KMS refusals, missing or hostile payload pointers, and input
validation at every constructor."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.codecs.compression import COMPRESSION_ATTRIBUTE, Compression
from enterprise_sqs.codecs.encryption import EnvelopeEncryption
from enterprise_sqs.codecs.keys import KMSKeyProvider, LocalKeyring
from enterprise_sqs.codecs.offload import (
    POINTER_CLASS,
    RESERVED_ATTRIBUTE,
    DirectoryPayloadStore,
    PayloadOffload,
    S3PayloadStore,
)
from enterprise_sqs.codecs.signing import MessageSigning
from enterprise_sqs.errors import CodecError, ConfigurationError
from enterprise_sqs.models import MessageAttributeValue
from tests.security.conftest import MOTO_CREDENTIALS, boto

QUEUE = CodecContext(
    queue_name="q", queue_url="http://h/1/q", queue_arn="arn:aws:sqs:us-east-1:1:q"
)


async def test_zstd_round_trip_and_gzip_readers() -> None:
    body = json.dumps({"rows": [{"n": n, "text": "abc" * 10} for n in range(200)]})
    encoded = await Compression("zstd", threshold=100).encode(Envelope(body, {}), QUEUE)
    assert encoded.attributes[COMPRESSION_ATTRIBUTE].string_value == "zstd"
    assert len(encoded.body) < len(body) / 4
    # A consumer configured for gzip reads zstd too: the attribute names the algorithm.
    assert (await Compression("gzip").decode(encoded, QUEUE)).body == body


async def test_small_or_incompressible_bodies_are_left_alone() -> None:
    codec = Compression(threshold=1024)
    small = Envelope("x" * 100, {})
    assert await codec.encode(small, QUEUE) is small
    noise = Envelope(base64.b64encode(os.urandom(4096)).decode(), {})
    assert await Compression(threshold=0).encode(noise, QUEUE) is noise


async def test_kms_refusals_are_codec_errors(moto_url: str) -> None:
    kms = boto(moto_url, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    aws: dict[str, Any] = {
        "endpoint_url": moto_url,
        "region": "us-east-1",
        "credentials": MOTO_CREDENTIALS,
    }
    provider = KMSKeyProvider(key_id, **aws)
    codec = EnvelopeEncryption(provider)
    encoded = await codec.encode(Envelope("{}", {}), QUEUE)
    wrapped_b64, _, sealed = encoded.body.partition(".")
    wrapped = bytearray(base64.b64decode(wrapped_b64))
    wrapped[-5] ^= 0x01
    forged = encoded.with_body(f"{base64.b64encode(bytes(wrapped)).decode()}.{sealed}")
    reader = KMSKeyProvider(key_id, **aws)
    with pytest.raises(CodecError, match="KMS"):
        await EnvelopeEncryption(reader).decode(forged, QUEUE)
    await reader.aclose()
    missing = KMSKeyProvider("alias/does-not-exist", **aws)
    with pytest.raises(CodecError, match="GenerateDataKey"):
        await EnvelopeEncryption(missing).encode(Envelope("{}", {}), QUEUE)
    await provider.aclose()
    await missing.aclose()


async def test_a_missing_s3_payload_is_a_codec_error(moto_url: str) -> None:
    boto(moto_url, "s3").create_bucket(Bucket="edge-bucket")
    store = S3PayloadStore(
        "edge-bucket", endpoint_url=moto_url, region="us-east-1", credentials=MOTO_CREDENTIALS
    )
    pointer = json.dumps([POINTER_CLASS, {"s3BucketName": "edge-bucket", "s3Key": "gone"}])
    size = MessageAttributeValue("Number", string_value="10")
    with pytest.raises(CodecError, match="NoSuchKey"):
        await PayloadOffload(store).decode(Envelope(pointer, {RESERVED_ATTRIBUTE: size}), QUEUE)
    await store.aclose()


@pytest.mark.parametrize(
    "pointer",
    [
        "not json",
        json.dumps(["java.lang.Runtime", {"s3BucketName": "local", "s3Key": "k"}]),
        json.dumps([POINTER_CLASS, {"s3BucketName": "local", "s3Key": "../../etc/passwd"}]),
        json.dumps([POINTER_CLASS, {"s3BucketName": "elsewhere", "s3Key": "k"}]),
    ],
)
async def test_hostile_pointers_are_refused_by_the_directory_store(
    tmp_path: Path, pointer: str
) -> None:
    (tmp_path / "k").write_text("payload")
    codec = PayloadOffload(DirectoryPayloadStore(tmp_path))
    size = MessageAttributeValue("Number", string_value="7")
    with pytest.raises(CodecError):
        await codec.decode(Envelope(pointer, {RESERVED_ATTRIBUTE: size}), QUEUE)


async def test_our_own_attribute_names_are_reserved(tmp_path: Path) -> None:
    taken = {RESERVED_ATTRIBUTE: MessageAttributeValue("Number", string_value="1")}
    with pytest.raises(CodecError, match="reserved"):
        await PayloadOffload(DirectoryPayloadStore(tmp_path)).encode(Envelope("x", taken), QUEUE)


def test_constructors_validate_their_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        LocalKeyring({"k": b"short"})
    with pytest.raises(ConfigurationError, match="key id"):
        LocalKeyring({"has space": LocalKeyring.generate_key()})
    with pytest.raises(ConfigurationError, match="primary"):
        LocalKeyring({"a": LocalKeyring.generate_key()}).remove("a")
    with pytest.raises(ConfigurationError, match="provider"):
        EnvelopeEncryption("not a provider")  # type: ignore[arg-type]  # the mistake under test
    with pytest.raises(ConfigurationError, match="bind_to"):
        EnvelopeEncryption(LocalKeyring({"a": LocalKeyring.generate_key()}), bind_to="url")  # type: ignore[arg-type]  # the mistake under test
    with pytest.raises(ConfigurationError, match="32 bytes"):
        MessageSigning.hmac({"k": b"short"})
    with pytest.raises(ConfigurationError, match="algorithm"):
        Compression("brotli")  # type: ignore[arg-type]  # the mistake under test
    with pytest.raises(ConfigurationError, match="bucket"):
        S3PayloadStore("Not_A_Bucket")
    with pytest.raises(ConfigurationError, match="store"):
        PayloadOffload(tmp_path)  # type: ignore[arg-type]  # the mistake under test
    assert "k1" in repr(LocalKeyring({"k1": LocalKeyring.generate_key()}))
