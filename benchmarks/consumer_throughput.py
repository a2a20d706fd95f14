"""End-to-end consumer throughput on the embedded engine, in one process.

publish (Publisher, auto-batched) → consumer (receive, no-op async handler) → batched delete.
Two runs on the same backend:

- ``pipeline``: the publisher and the consumer run at the same time (what a service sees);
- ``drain``: N messages are published first, then the consumer drains them (the consumer alone).

For each: messages per second (wall clock, from the first publish or the consumer's start to the
last delete answered) and CPU microseconds per message (process CPU, all threads, including the
engine's SQLite thread).

    python benchmarks/consumer_throughput.py                      # 20,000 messages, memory://
    python benchmarks/consumer_throughput.py --messages 50000 --concurrency 100
    python benchmarks/consumer_throughput.py --backend sqlite:///bench.db
    python benchmarks/consumer_throughput.py --profile            # cProfile of the drain run

Target: ≥ 10,000 messages/s end to end in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext


@dataclass
class Run:
    name: str
    messages: int
    wall: float
    cpu: float

    def line(self) -> str:
        return (
            f"{self.name:<9} {self.messages:>7} msgs  {self.messages / self.wall:>9,.0f} msg/s  "
            f"{self.cpu / self.messages * 1e6:>7.1f} µs CPU/msg"
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _consume_until(sqs: EnterpriseSQS, queue: str, total: int, args: Any) -> Any:
    done = asyncio.Event()
    handled = 0

    async def handler(message: Any, context: MessageContext) -> None:
        nonlocal handled
        handled += 1

    consumer = sqs.create_consumer(
        queue,
        processing_mode="parallel",
        concurrency=args.concurrency,
        max_messages=args.max_messages,
        wait_time_seconds=1,
        visibility_timeout_seconds=60,
    )

    def on_processed(_: object) -> None:
        if consumer.stats.processed >= total:
            done.set()

    consumer.subscribe(on_processed, kinds={"processed"})
    await consumer.start(handler)
    return consumer, done


async def pipeline(sqs: EnterpriseSQS, total: int, args: Any) -> Run:
    publisher = sqs.create_publisher("bench-pipeline", create_queue=True, linger=0.001)
    await publisher.publish({"warm": True})
    consumer, done = await _consume_until(sqs, "bench-pipeline", total + 1, args)
    cpu, wall = _cpu(), time.perf_counter()
    chunk = 1000
    for start in range(0, total, chunk):
        results = await publisher.publish_many(
            {"n": n, "payload": "x" * 64} for n in range(start, min(total, start + chunk))
        )
        assert all(r.success for r in results)
    await done.wait()
    # The idle long poll would otherwise run out its wait time (1 s) before stop() returns;
    # stop() still flushes the deletes, so the clock stops at the last delete answered.
    await consumer.stop(abort_receive=True)
    return Run("pipeline", total, time.perf_counter() - wall, _cpu() - cpu)


async def drain(sqs: EnterpriseSQS, total: int, args: Any) -> Run:
    publisher = sqs.create_publisher("bench-drain", create_queue=True, linger=0.001)
    for start in range(0, total, 1000):
        await publisher.publish_many(
            {"n": n, "payload": "x" * 64} for n in range(start, min(total, start + 1000))
        )
    profiler = cProfile.Profile() if args.profile else None
    cpu, wall = _cpu(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    consumer, done = await _consume_until(sqs, "bench-drain", total, args)
    await done.wait()
    # The idle long poll would otherwise run out its wait time (1 s) before stop() returns;
    # stop() still flushes the deletes, so the clock stops at the last delete answered.
    await consumer.stop(abort_receive=True)
    run = Run("drain", total, time.perf_counter() - wall, _cpu() - cpu)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return run


async def main(args: Any) -> None:
    backend = args.backend
    if backend is None:
        backend = "memory://"
    elif backend == "sqlite":
        backend = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    print(
        f"backend {backend}  concurrency {args.concurrency}  max_messages {args.max_messages}  "
        f"python {sys.version.split()[0]}"
    )
    async with EnterpriseSQS(backend=backend) as sqs:
        print(Run.line(await pipeline(sqs, args.messages, args)))
        print(Run.line(await drain(sqs, args.messages, args)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-messages", type=int, default=20)
    parser.add_argument("--backend", default=None, help="memory:// (default), sqlite, or a URL")
    parser.add_argument("--profile", action="store_true")
    asyncio.run(main(parser.parse_args()))
