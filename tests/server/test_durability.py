"""The server as a process: SIGKILL under load loses nothing acknowledged; SIGTERM is graceful."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.server.conftest import sdk_client
from tests.support.esqs_server import esqs_server, start_server, stop_server

pytestmark = pytest.mark.slow


def _drain(client: Any, url: str) -> set[str]:
    seen: set[str] = set()
    while True:
        got = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            return seen
        seen.update(m["MessageId"] for m in got)


def test_sigkill_during_load_keeps_every_acknowledged_message(tmp_path: Path) -> None:
    server = start_server(tmp_path, auth=True)
    acked: set[str] = set()
    lock = threading.Lock()
    enough = threading.Event()
    try:
        url = sdk_client(server.url).create_queue(QueueName="durable")["QueueUrl"]

        def produce(worker: int) -> None:
            client = sdk_client(server.url)
            n = 0
            while True:
                entries = [{"Id": str(i), "MessageBody": f"w{worker}-{n}-{i}"} for i in range(10)]
                n += 1
                try:
                    result = client.send_message_batch(QueueUrl=url, Entries=entries)
                except (BotoCoreError, ClientError):
                    return  # the server is gone: this batch was never acknowledged
                with lock:
                    acked.update(e["MessageId"] for e in result["Successful"])
                    if len(acked) >= 500:
                        enough.set()

        threads = [threading.Thread(target=produce, args=(w,), daemon=True) for w in range(3)]
        for t in threads:
            t.start()
        assert enough.wait(60), "the load never reached 500 acknowledged messages"
        stop_server(server, sig=signal.SIGKILL)
        for t in threads:
            t.join(30)
    finally:
        stop_server(server, sig=signal.SIGKILL)

    with esqs_server(tmp_path, auth=True) as restarted:
        stored = _drain(sdk_client(restarted.url), url.replace(server.url, restarted.url))
    assert len(acked) >= 500
    assert acked <= stored, f"{len(acked - stored)} acknowledged messages were lost"


def _wait_until_in_flight(url: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            if json.load(answer)["requests_in_flight"] >= count:
                return
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.02)


def test_sigterm_answers_long_polls_and_keeps_messages(tmp_path: Path) -> None:
    server = start_server(tmp_path, auth=True)
    try:
        client = sdk_client(server.url)
        url = client.create_queue(QueueName="graceful")["QueueUrl"]
        sent = client.send_message(QueueUrl=url, MessageBody="kept")["MessageId"]
        empty = client.create_queue(QueueName="empty")["QueueUrl"]
        answers: list[Any] = []

        def long_poll() -> None:
            answers.append(
                sdk_client(server.url).receive_message(QueueUrl=empty, WaitTimeSeconds=20)
            )

        poller = threading.Thread(target=long_poll)
        poller.start()
        _wait_until_in_flight(server.url, 1)  # the poll has reached the server
        started = time.monotonic()
        assert stop_server(server, sig=signal.SIGTERM) == 0
        poller.join(30)
        assert answers, "the long poll got no answer"
        assert "Messages" not in answers[0]
        assert time.monotonic() - started < 15, "shutdown waited for the whole long poll"
    finally:
        stop_server(server, sig=signal.SIGKILL)
    with esqs_server(tmp_path, auth=True) as restarted:
        client = sdk_client(restarted.url)
        stored = _drain(client, url.replace(server.url, restarted.url))
    assert stored == {sent}
