"""Client cost of publishing: boto3 and aiobotocore by hand against this library's publisher.

All four publish the same 1 KiB JSON messages to the same canned-response SQS endpoint
(``canned_sqs.py``, in its own process, answering instantly), so only client work is measured:

1. boto3 ``send_message`` in a loop — what most code does;
2. boto3 ``send_message_batch`` by hand, 10 at a time;
3. aiobotocore ``send_message_batch`` by hand, 10 at a time, 8 batches in flight;
4. ``EnterpriseSQS.create_publisher(...).publish`` called concurrently (auto-batching, retry,
   breaker, MD5 checks included).

It prints messages per second and client CPU microseconds per message (this process, all
threads), then each one's CPU ratio against the boto3 loop. Each client is created and warmed up
with one call before its clock starts: the numbers are the steady-state cost per message, not
the one-off cost of loading botocore's service model (~50-100 ms, the same for all four).

    python benchmarks/publisher_client_cost.py [--messages 20000] [--loop-messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.moto import free_port  # noqa: E402

from enterprise_sqs import Credentials  # noqa: E402
from enterprise_sqs.client import EnterpriseSQS  # noqa: E402
from enterprise_sqs.config import EnterpriseSQSConfig  # noqa: E402

REGION = "us-east-1"
KEY, SECRET = "bench", "bench-secret"


def payload(i: int) -> dict[str, Any]:
    return {"id": i, "type": "order-created", "data": "x" * 980}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    """Wall and CPU time of the part of a run that is measured (started after warm-up)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._wall0 = self._cpu0 = 0.0

    def start(self) -> None:
        self._cpu0, self._wall0 = cpu(), time.perf_counter()

    def stop(self) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall0, cpu() - self._cpu0


def measure(
    name: str, count: int, run: Callable[[Stopwatch], None]
) -> tuple[str, int, float, float]:
    watch = Stopwatch()
    run(watch)
    return name, count, watch.wall, watch.cpu


def boto3_client(url: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )


def boto3_loop(url: str, queue: str, count: int, watch: Stopwatch) -> None:
    client = boto3_client(url)
    client.send_message(QueueUrl=queue, MessageBody=json.dumps(payload(-1)))
    watch.start()
    for i in range(count):
        client.send_message(QueueUrl=queue, MessageBody=json.dumps(payload(i)))
    watch.stop()


def boto3_batches(url: str, queue: str, count: int, watch: Stopwatch) -> None:
    client = boto3_client(url)
    client.send_message(QueueUrl=queue, MessageBody=json.dumps(payload(-1)))
    watch.start()
    for start in range(0, count, 10):
        client.send_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(payload(start + i))} for i in range(10)
            ],
        )
    watch.stop()


async def aiobotocore_batches(url: str, queue: str, count: int, watch: Stopwatch) -> None:
    from aiobotocore.session import get_session

    session = get_session()
    async with session.create_client(
        "sqs",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    ) as client:
        semaphore = asyncio.Semaphore(8)

        async def one(start: int) -> None:
            async with semaphore:
                await client.send_message_batch(
                    QueueUrl=queue,
                    Entries=[
                        {"Id": str(i), "MessageBody": json.dumps(payload(start + i))}
                        for i in range(10)
                    ],
                )

        await client.send_message(QueueUrl=queue, MessageBody=json.dumps(payload(-1)))
        watch.start()
        await asyncio.gather(*(one(start) for start in range(0, count, 10)))
        watch.stop()


async def publisher(url: str, count: int, watch: Stopwatch | None = None) -> None:
    config = EnterpriseSQSConfig(
        backend=url,
        region=REGION,
        credentials=Credentials(access_key_id=KEY, secret_access_key=SECRET),
    )
    watch = watch or Stopwatch()
    async with EnterpriseSQS(config) as sqs:
        pub = sqs.create_publisher("bench")
        await pub.publish(payload(-1))  # resolve the queue and open the client first
        watch.start()
        results = await asyncio.gather(*(pub.publish(payload(i)) for i in range(count)))
        watch.stop()
        failed = [r for r in results if not r.success]
        if failed:
            raise RuntimeError(f"{len(failed)} publishes failed: {failed[0].error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--loop-messages", type=int, default=2_000)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "canned_sqs.py"), str(port)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (405 for GET): ready
            except OSError:
                time.sleep(0.05)
        queue = boto3_client(url).get_queue_url(QueueName="bench")["QueueUrl"]
        n = args.messages
        rows = [
            measure(
                "boto3 send_message loop",
                args.loop_messages,
                lambda w: boto3_loop(url, queue, args.loop_messages, w),
            ),
            measure("boto3 send_message_batch", n, lambda w: boto3_batches(url, queue, n, w)),
            measure(
                "aiobotocore batches (8 in flight)",
                n,
                lambda w: asyncio.run(aiobotocore_batches(url, queue, n, w)),
            ),
            measure("enterprise-sqs publisher", n, lambda w: asyncio.run(publisher(url, n, w))),
        ]
    finally:
        server.terminate()
        server.wait()
    base = rows[0][3] / rows[0][1]
    print(f"Python {sys.version.split()[0]}; 1 KiB JSON messages; canned SQS endpoint")
    print(f"{'client':<36}{'msgs':>8}{'msg/s':>10}{'CPU µs/msg':>12}{'CPU vs loop':>13}")
    for name, count, wall, used in rows:
        per = used / count
        print(f"{name:<36}{count:>8}{count / wall:>10,.0f}{per * 1e6:>12,.1f}{base / per:>12.1f}x")


if __name__ == "__main__":
    main()
