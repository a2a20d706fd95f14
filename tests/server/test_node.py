"""Node's ``@aws-sdk/client-sqs`` with ``sqs-producer`` and ``sqs-consumer`` (pinned in
tests/server/node/package.json) publish and consume through the server: standard, FIFO, batch
operations and a DLQ redrive with a message move task."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.esqs_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, RunningServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]
NODE_DIR = Path(__file__).parent / "node"
CACHE = Path(os.environ.get("ESQS_NODE_CACHE", Path.home() / ".cache" / "esqs-node-interop"))


@pytest.fixture(scope="module")
def node_project() -> Path:
    """The fixture project with its npm dependencies installed, cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "interop.mjs"):
        shutil.copy(NODE_DIR / name, CACHE / name)
    marker = CACHE / "node_modules" / ".installed-from"
    wanted = (NODE_DIR / "package.json").read_text()
    if not marker.exists() or marker.read_text() != wanted:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed")
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        marker.write_text(wanted)
    return CACHE


def test_node_sdk_producer_and_consumer(server: RunningServer, node_project: Path) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": "us-east-1",
    }
    done = subprocess.run(
        ["node", "interop.mjs", server.url],
        cwd=node_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["plain"] == sorted(f"plain-{i}" for i in range(25))
    assert report["fifo"] == ["fifo-0", "fifo-1", "fifo-2", "fifo-3"]
    assert report["firstReceive"] == ["poison"]
    assert report["secondReceive"] == 0
    assert report["inDlq"] == ["poison"]
    assert report["moveStatus"] == "COMPLETED"
    assert report["redriven"] == ["poison"]
    assert report["batchDelete"] == {"ok": 1, "failed": ["ReceiptHandleIsInvalid"]}
    assert report["error"] == {"name": "QueueDoesNotExist", "status": 400}
