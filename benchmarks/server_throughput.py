"""esqs serve vs moto server under the same client load, in one run.

For each server (a real subprocess): N client threads (boto3, JSON protocol) run
SendMessageBatch (10 x 256 B) for a fixed number of batches, then ReceiveMessage (10) +
DeleteMessageBatch until the queue is empty. Server CPU comes from /proc/PID/stat (utime+stime of
the server process), so client cost is not counted. Prints msgs/s and server CPU µs per message for
both phases and the ratios. Usage: python -m benchmarks.server_throughput [--messages 5000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from tests.support.esqs_server import start_server, stop_server
from tests.support.moto import free_port

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def client(url: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=32),
    )


def run_threads(n: int, work: Callable[[int], int]) -> int:
    counts = [0] * n

    def one(i: int) -> None:
        counts[i] = work(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def measure(url: str, pid: int, messages: int, threads: int) -> dict[str, float]:
    queue = client(url).create_queue(QueueName=f"bench-{int(time.time() * 1000)}")["QueueUrl"]
    body = "x" * 256
    per_thread = messages // threads // 10

    def send(i: int) -> int:
        c = client(url)
        for _ in range(per_thread):
            entries = [{"Id": str(k), "MessageBody": body} for k in range(10)]
            c.send_message_batch(QueueUrl=queue, Entries=entries)
        return per_thread * 10

    def consume(i: int) -> int:
        c = client(url)
        done = 0
        empty = 0
        while empty < 2:
            got = c.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                empty += 1
                continue
            c.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)
                ],
            )
            done += len(got)
        return done

    result: dict[str, float] = {}
    for phase, work in (("send", send), ("receive+delete", consume)):
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        count = run_threads(threads, work)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
        result[f"{phase} msgs/s"] = count / elapsed
        result[f"{phase} server µs/msg"] = cpu / max(count, 1) * 1e6
        result[f"{phase} count"] = count
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000, help="messages for esqs serve")
    parser.add_argument("--moto-messages", type=int, default=500, help="messages for moto")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), log_level="warning")
        try:
            ours = measure(server.url, server.pid, args.messages, args.threads)
        finally:
            stop_server(server)
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        theirs = measure(url, moto.pid, args.moto_messages, args.threads)
    finally:
        moto.terminate()
        moto.wait()

    print(f"{'metric':<30}{'esqs serve':>14}{'moto':>14}{'ratio':>10}")
    for key in ours:
        if key.endswith("count"):
            continue
        better, worse = (ours[key], theirs[key]) if "msgs/s" in key else (theirs[key], ours[key])
        # A CPU reading of zero (too few messages for the clock's resolution) has no ratio.
        ratio = f"{better / worse:>9.1f}x" if better and worse else f"{'n/a':>10}"
        print(f"{key:<30}{ours[key]:>14.1f}{theirs[key]:>14.1f}{ratio}")
    print(
        f"(esqs serve: {int(ours['send count'])} messages, moto: {int(theirs['send count'])}; "
        f"{args.threads} client threads, batches of 10 x 256 B)"
    )


if __name__ == "__main__":
    main()
