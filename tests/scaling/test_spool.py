"""The outage spool against a real server (``esqs serve`` in a subprocess) that is stopped while
messages are published, then started again on the same data: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import ConfigurationError, SpoolFullError
from enterprise_sqs.publishing.spool import Spool, SpoolingPublisher
from tests.support.esqs_server import RunningServer, start_server, stop_server
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def client(url: str) -> EnterpriseSQS:
    return EnterpriseSQS(
        EnterpriseSQSConfig(
            backend=url,
            region="us-east-1",
            credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
            circuit_breaker=CircuitBreakerConfig(failure_threshold=2, timeout=0.2),
            retry=RetryConfig(max_retries=1),
        )
    )


def address(server: RunningServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def depth(url: str, queue: str) -> int:
    sqs = client(url)
    try:
        backend = sqs.get_sqs_client()
        queue_url = await backend.get_queue_url(queue)
        values = await backend.get_queue_attributes(
            queue_url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )
        return int(values["ApproximateNumberOfMessages"]) + int(
            values["ApproximateNumberOfMessagesNotVisible"]
        )
    finally:
        await sqs.aclose()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = start_server(tmp_path / "data")
    try:
        yield running
    finally:
        stop_server(running)


async def test_10000_messages_published_during_an_outage_all_arrive_once(
    server: RunningServer, tmp_path: Path
) -> None:
    host, port = address(server)
    async with TcpProxy(host, port) as proxy:
        sqs = client(proxy.url)
        await sqs.get_sqs_client().create_queue("outage.fifo", {"FifoQueue": "true"})
        spool = Spool(tmp_path / "spool.db")
        spooler = SpoolingPublisher(
            sqs.create_publisher("outage.fifo", message_group_id="g"),
            spool,
            retry_interval=0.05,
            max_retry_interval=0.2,
        )
        assert (await spooler.publish({"n": -1})).spooled is False  # the service is up

        stop_server(server)  # the outage: the server is gone
        first = await spooler.publish({"n": 0})
        assert first.success and first.spooled and first.message_id is None
        for start in range(1, 10_000, 1000):
            results = await asyncio.gather(
                *(spooler.publish({"n": n}) for n in range(start, min(start + 1000, 10_000)))
            )
            assert all(r.success and r.spooled for r in results)
        stats = spooler.stats()
        assert stats.pending == 10_000 and stats.spooled == 10_000 and stats.bytes > 0

        restarted = start_server(tmp_path / "data")  # same data, new port: point the proxy there
        try:
            proxy.target = address(restarted)
            await asyncio.wait_for(spooler.drain(), 60)
            assert spooler.stats().forwarded == 10_000 and spooler.stats().pending == 0

            # Forwarded again (as after a crash between send and delete): the queue drops them.
            for n in range(100):
                await spool.append(spooler.name, f'{{"n":{n}}}', {})
            spooler.start()
            await asyncio.wait_for(spooler.drain(), 30)
            assert spooler.pending == 0
            assert await depth(restarted.url, "outage.fifo") == 10_001

            # Order: the group's first messages arrive as published.
            backend = sqs.get_sqs_client()
            queue_url = await backend.get_queue_url("outage.fifo")
            received = await backend.receive(queue_url, max_messages=10)
            assert [m.body for m in received] == ['{"n":-1}'] + [f'{{"n":{n}}}' for n in range(9)]
            await spooler.aclose()
            spool.close()
            await sqs.aclose()
        finally:
            stop_server(restarted)


async def test_a_publisher_killed_during_the_outage_loses_nothing(
    server: RunningServer, tmp_path: Path
) -> None:
    sqs = client(server.url)
    await sqs.get_sqs_client().create_queue("killed.fifo", {"FifoQueue": "true"})
    await sqs.aclose()
    host, port = address(server)
    stop_server(server)
    spool_path = tmp_path / "spool.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    # The publisher spools 500 messages while the server is down, and is SIGKILLed.
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scaling.spool_worker",
        "publish",
        server.url,
        str(spool_path),
        "500",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert worker.stdout is not None
    line = await asyncio.wait_for(worker.stdout.readline(), 60)
    assert line.decode().strip() == "SPOOLED 500", line
    worker.send_signal(signal.SIGKILL)
    await asyncio.wait_for(worker.wait(), 30)
    assert worker.returncode == -signal.SIGKILL
    left = Spool(spool_path)
    assert left.stats().pending == 500
    left.close()

    # The service returns; a new process finds the spool and forwards it.
    restarted = start_server(tmp_path / "data")
    try:
        drained = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "tests.scaling.spool_worker",
                "drain",
                restarted.url,
                str(spool_path),
                "0",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=90,
        )
        assert drained.returncode == 0, drained.stderr[-2000:]
        assert drained.stdout.strip() == "DRAINED 500"
        assert await depth(restarted.url, "killed.fifo") == 500
    finally:
        stop_server(restarted)
    del host, port


async def test_a_full_spool_refuses_with_a_clear_error(tmp_path: Path) -> None:
    sqs = EnterpriseSQS(
        EnterpriseSQSConfig(backend="memory://", retry=RetryConfig(max_retries=0)),
        per_queue_breakers=True,
    )
    url = await sqs.get_sqs_client().create_queue("small")
    sqs.get_sqs_client().breaker(url).force_open()
    spool = Spool(tmp_path / "s.db", max_bytes=100)
    spooler = SpoolingPublisher(sqs.create_publisher(url), spool)
    assert (await spooler.publish("x" * 60)).spooled
    full = await spooler.publish("y" * 60)
    assert not full.success and isinstance(full.error, SpoolFullError)
    assert "full" in str(full.error) and "max_bytes" in str(full.error)
    assert spooler.stats().pending == 1
    # Back in service: the spooled message is forwarded and new ones go straight through.
    sqs.get_sqs_client().breaker(url).reset()
    await asyncio.wait_for(spooler.drain(), 10)
    direct = await spooler.publish("z")
    assert direct.success and not direct.spooled and direct.message_id is not None
    await spooler.aclose()
    spool.close()  # given, not opened by path: the spooling publisher leaves it open
    await sqs.aclose()


async def test_a_message_the_service_rejects_is_set_aside_not_blocking(tmp_path: Path) -> None:
    sqs = EnterpriseSQS(EnterpriseSQSConfig(backend="memory://"), per_queue_breakers=True)
    url = await sqs.get_sqs_client().create_queue("q")
    spool = Spool(tmp_path / "s.db")
    spooler = SpoolingPublisher(sqs.create_publisher(url), spool)
    await spool.append(spooler.name, "ok-1", {})
    await spool.append(spooler.name, "bad", {"delay_seconds": 5000})  # SQS allows 0..900
    await spool.append(spooler.name, "ok-2", {})
    seen: list[Any] = []
    spooler.start()
    await asyncio.wait_for(spooler.drain(), 10)
    while batch := await sqs.get_sqs_client().receive(url, max_messages=10):
        seen.extend(m.body for m in batch)
    assert sorted(seen) == ["ok-1", "ok-2"]
    assert spool.stats().rejected == 1
    await spooler.aclose()
    spool.close()
    await sqs.aclose()


def test_spool_validates(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Spool(tmp_path / "s.db", max_bytes=0)


def test_one_spool_object_owns_a_file_at_a_time(tmp_path: Path) -> None:
    first = Spool(tmp_path / "s.db")
    with pytest.raises(ConfigurationError, match="already open in another Spool in this process"):
        Spool(tmp_path / "s.db")
    first.close()
    again = Spool(tmp_path / "s.db")  # closing released it
    again.close()


async def test_a_spool_another_process_holds_is_refused_until_that_process_dies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.db"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys, time\n"
        "from enterprise_sqs.publishing.spool import Spool\n"
        "spool = Spool(sys.argv[1])\n"
        "print('OPEN', flush=True)\n"
        "time.sleep(120)\n",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).strip() == b"OPEN"
        with pytest.raises(ConfigurationError, match=f"another process \\(pid {holder.pid}\\)"):
            Spool(path)
    finally:
        holder.send_signal(signal.SIGKILL)
        await asyncio.wait_for(holder.wait(), 30)
    # The operating system released the lock with the process: the file is usable again.
    spool = Spool(path)
    assert spool.stats().pending == 0
    spool.close()
