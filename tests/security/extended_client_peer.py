"""The Amazon SQS Extended Client (``amazon-sqs-extended-client`` on PyPI) as a peer process.

Run by tests/security/test_interop.py in a subprocess, because importing the package patches
boto3 for the whole process. The endpoint comes from ``AWS_ENDPOINT_URL`` (moto server).

    python extended_client_peer.py send QUEUE_URL BUCKET BODY_FILE
    python extended_client_peer.py receive QUEUE_URL      → JSON {"body": ..., "attributes": ...}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import sqs_extended_client  # noqa: F401  # patches boto3's Session with the extended client


def main(argv: list[str]) -> int:
    sqs = boto3.client("sqs")
    command, queue_url = argv[0], argv[1]
    if command == "send":
        sqs.large_payload_support = argv[2]
        body = Path(argv[3]).read_text(encoding="utf-8")
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "extended"}},
        )
        return 0
    if command == "receive":
        sqs.delete_payload_from_s3 = True
        reply = sqs.receive_message(
            QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=5
        )
        [message] = reply["Messages"]
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        json.dump(
            {"body": message["Body"], "attributes": message.get("MessageAttributes", {})},
            sys.stdout,
        )
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
