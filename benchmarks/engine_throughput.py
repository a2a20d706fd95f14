"""Throughput of the embedded engine in-process, against boto3 on a moto server, in one run.

The same work on both: send N messages of 1 KiB in batches of 10 (SendMessageBatch), then receive
them in batches of 10 and delete each batch (ReceiveMessage + DeleteMessageBatch). For each side it
prints messages per second (wall clock) and CPU microseconds per message (process CPU, all threads;
for moto the server's CPU is read from its process too), then the ratios.

    python benchmarks/engine_throughput.py                 # defaults: 20,000 engine, 300 moto msgs
    python benchmarks/engine_throughput.py --cpu 0         # pin to one core, as the target says
    python benchmarks/engine_throughput.py --backend sqlite:///bench.db

moto server is slow (tens to hundreds of messages a second) and slows as a queue grows, so it gets
fewer messages; rates are per message, so the comparison stays fair. Needs the dev extra (moto,
boto3): ``pip install -e '.[dev]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.moto import moto_server

from enterprise_sqs import DeleteEntry, SendEntry, open_backend

BODY = "x" * 1024


@dataclass
class Phase:
    name: str
    messages: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.messages * 1e6


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    # utime + stime of another process, from /proc (Linux): the moto server's own CPU.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def bench_engine(url: str, count: int, callers: int) -> tuple[Phase, Phase]:
    """``callers`` concurrent tasks share the work, as a publisher's batches in flight or a
    consumer's pollers do."""
    backend = open_backend(url)
    try:
        queue = await backend.create_queue("bench")
        batch = [SendEntry(id=str(i), body=BODY) for i in range(10)]
        batches_left = count // 10

        async def sender() -> None:
            nonlocal batches_left
            while batches_left > 0:
                batches_left -= 1
                result = await backend.send_batch(queue, batch)
                if result.failed:
                    raise RuntimeError(f"send failed: {result.failed[0]}")

        cpu0, t0 = _cpu_self(), time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(callers)))
        send = Phase("send", count, time.perf_counter() - t0, _cpu_self() - cpu0)

        received = 0

        async def receiver() -> None:
            nonlocal received
            while received < count:
                messages = await backend.receive(queue, max_messages=10, wait_time_seconds=0)
                if not messages:
                    if callers == 1:
                        raise RuntimeError(f"queue ran dry after {received} of {count}")
                    await asyncio.sleep(0)  # the others hold the rest in flight
                    continue
                result = await backend.delete_batch(
                    queue,
                    [
                        DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                        for i, m in enumerate(messages)
                    ],
                )
                if result.failed:
                    raise RuntimeError(f"delete failed: {result.failed[0]}")
                received += len(messages)

        cpu0, t0 = _cpu_self(), time.perf_counter()
        await asyncio.gather(*(receiver() for _ in range(callers)))
        receive = Phase("receive+delete", received, time.perf_counter() - t0, _cpu_self() - cpu0)
        return send, receive
    finally:
        await backend.aclose()


def _moto_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"moto.server" in cmdline and port.encode() in cmdline:
            return int(proc.name)
    raise RuntimeError("could not find the moto server process")


def bench_moto(count: int) -> tuple[Phase, Phase]:
    import boto3

    with moto_server() as url:
        pid = _moto_pid(url)
        client = boto3.client(
            "sqs",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto's fixed test credentials
        )
        queue = client.create_queue(QueueName="bench")["QueueUrl"]
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        cpu0, srv0, t0 = _cpu_self(), _cpu_of(pid), time.perf_counter()
        for _ in range(count // 10):
            client.send_message_batch(QueueUrl=queue, Entries=entries)
        send = Phase(
            "send", count, time.perf_counter() - t0, _cpu_self() - cpu0 + _cpu_of(pid) - srv0
        )
        received = 0
        cpu0, srv0, t0 = _cpu_self(), _cpu_of(pid), time.perf_counter()
        while received < count:
            messages = client.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                raise RuntimeError(f"moto queue ran dry after {received} of {count} messages")
            client.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
            received += len(messages)
        receive = Phase(
            "receive+delete",
            received,
            time.perf_counter() - t0,
            _cpu_self() - cpu0 + _cpu_of(pid) - srv0,
        )
        client.close()
        return send, receive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="engine messages per phase")
    parser.add_argument("--moto-messages", type=int, default=300, help="moto messages per phase")
    parser.add_argument("--backend", default=None, help="engine URL (default: a temp SQLite file)")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument(
        "--callers", type=int, default=8, help="concurrent callers in the second round"
    )
    args = parser.parse_args()
    if args.messages % 10 or args.moto_messages % 10:
        parser.error("message counts must be multiples of 10 (batches of 10)")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    sides: list[tuple[str, tuple[Phase, Phase]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for callers in (1, args.callers):
            for url in (args.backend or f"sqlite:///{tmp}/bench{callers}.db", "memory://"):
                result = asyncio.run(bench_engine(url, args.messages, callers))
                sides.append((f"engine {url.split('://')[0]}, {callers} caller(s)", result))
    engine = sides[2][1]
    moto = bench_moto(args.moto_messages)
    sides.append(("boto3 + moto server, 1 caller", moto))

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, pinned: {args.cpu}")
    print(f"{'side':<34}{'phase':<16}{'msgs':>8}{'msg/s':>12}{'CPU µs/msg':>12}")
    for label, phases in sides:
        for phase in phases:
            print(
                f"{label:<34}{phase.name:<16}{phase.messages:>8}{phase.rate:>12,.0f}{phase.cpu_us:>12,.1f}"
            )
    print(f"ratios (engine file with {args.callers} callers / boto3+moto):")
    for ours, theirs in zip(engine, moto, strict=True):
        print(
            f"  {ours.name:<16} throughput x{ours.rate / theirs.rate:,.0f}   "
            f"CPU per message {theirs.cpu_us / ours.cpu_us:,.0f}x less"
        )


if __name__ == "__main__":
    main()
