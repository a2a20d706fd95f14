"""Interop with the Amazon SQS Extended Client (PyPI ``amazon-sqs-extended-client``) through moto
server: each side reads the other's offloaded messages (S3 pointer body + ExtendedPayloadSize)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.offload import (
    POINTER_CLASS,
    RESERVED_ATTRIBUTE,
    PayloadOffload,
    S3PayloadStore,
)
from tests.security.conftest import MOTO_CREDENTIALS, boto, consume, make_queue

PEER = Path(__file__).with_name("extended_client_peer.py")


async def _peer(moto_url: str, *args: str) -> str:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PEER),
        *args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def _store(moto_url: str, bucket: str) -> S3PayloadStore:
    return S3PayloadStore(
        bucket, endpoint_url=moto_url, region="us-east-1", credentials=MOTO_CREDENTIALS
    )


async def test_our_consumer_reads_a_message_the_extended_client_offloaded(
    moto_sqs: EnterpriseSQS, moto_url: str, unique: str, tmp_path: Path
) -> None:
    bucket = f"ext-{unique}"
    boto(moto_url, "s3").create_bucket(Bucket=bucket)
    url, _ = await make_queue(moto_sqs, unique)
    body = json.dumps({"order": 7, "blob": secrets.token_hex(150_000)})  # 300 KB: offloaded
    body_file = tmp_path / "body.json"
    body_file.write_text(body, encoding="utf-8")
    await _peer(moto_url, "send", url, bucket, str(body_file))
    # It really is in the extended client's format on the queue.
    [raw] = await moto_sqs.get_sqs_client().receive(
        url, message_attribute_names=("All",), visibility_timeout=0
    )
    assert json.loads(raw.body)[0] == POINTER_CLASS
    assert raw.message_attributes[RESERVED_ATTRIBUTE].string_value == str(len(body))

    offload = PayloadOffload(_store(moto_url, bucket), delete_after_processing=True)
    handled, events = await consume(moto_sqs, unique, 1, codecs=[offload])
    await offload.aclose()
    assert [e.kind for e in events] == ["processed"]
    assert handled == [json.loads(body)]
    assert boto(moto_url, "s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0


async def test_the_extended_client_reads_a_message_we_offloaded(
    moto_sqs: EnterpriseSQS, moto_url: str, unique: str
) -> None:
    bucket = f"ours-{unique}"
    boto(moto_url, "s3").create_bucket(Bucket=bucket)
    url, _ = await make_queue(moto_sqs, unique)
    offload = PayloadOffload(_store(moto_url, bucket))
    publisher = moto_sqs.create_publisher(unique, codecs=[offload])
    message = {"order": 8, "blob": secrets.token_hex(150_000)}
    result = await publisher.publish(message, attributes={"origin": "enterprise-sqs"})
    assert result.success, result.error
    await publisher.aclose()
    await offload.aclose()

    received = json.loads(await _peer(moto_url, "receive", url))
    assert json.loads(received["body"]) == message
    assert received["attributes"]["origin"]["StringValue"] == "enterprise-sqs"
    assert RESERVED_ATTRIBUTE not in received["attributes"]
    # The extended client deleted the payload with the message (delete_payload_from_s3).
    assert boto(moto_url, "s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0
