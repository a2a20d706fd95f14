"""The AWS CLI (``awscli`` from PyPI) creates queues, sends and receives through the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.esqs_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, RunningServer

pytestmark = pytest.mark.slow
AWS = shutil.which("aws", path=str(Path(sys.executable).parent))


def _aws(server: RunningServer, tmp_path: Path, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    assert AWS is not None
    done = subprocess.run(
        [AWS, "--endpoint-url", server.url, "--output", "json", "sqs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.mark.skipif(AWS is None, reason="awscli is not installed (pip install -e '.[dev]')")
def test_aws_cli_round_trip(server: RunningServer, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    url = _aws(server, tmp_path, "create-queue", "--queue-name", name)["QueueUrl"]
    fifo = _aws(
        server,
        tmp_path,
        "create-queue",
        "--queue-name",
        name + ".fifo",
        "--attributes",
        "FifoQueue=true,ContentBasedDeduplication=true",
    )["QueueUrl"]
    _aws(server, tmp_path, "send-message", "--queue-url", url, "--message-body", "from the cli")
    _aws(
        server,
        tmp_path,
        "send-message-batch",
        "--queue-url",
        fifo,
        "--entries",
        json.dumps(
            [{"Id": str(i), "MessageBody": f"f{i}", "MessageGroupId": "g"} for i in range(3)]
        ),
    )
    got = _aws(server, tmp_path, "receive-message", "--queue-url", url, "--wait-time-seconds", "1")
    assert [m["Body"] for m in got["Messages"]] == ["from the cli"]
    _aws(
        server,
        tmp_path,
        "delete-message",
        "--queue-url",
        url,
        "--receipt-handle",
        got["Messages"][0]["ReceiptHandle"],
    )
    fifo_got = _aws(
        server, tmp_path, "receive-message", "--queue-url", fifo, "--max-number-of-messages", "10"
    )
    assert [m["Body"] for m in fifo_got["Messages"]] == ["f0", "f1", "f2"]
    listed = _aws(server, tmp_path, "list-queues", "--queue-name-prefix", name)
    assert sorted(listed["QueueUrls"]) == sorted([url, fifo])
