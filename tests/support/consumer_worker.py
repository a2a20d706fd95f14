"""A consumer worker process on a shared SQLite queue, for the signal and scaling tests.

python -m tests.support.consumer_worker DB QUEUE OUT [--hold SECONDS] [--visibility SECONDS]
    [--concurrency N]

Runs ``consumer.run(handler)`` until SIGTERM/SIGINT. For every message ``{"n": N}`` the handler
appends ``start N RECEIVE_COUNT`` to OUT, waits ``--hold`` seconds, then appends ``done N``
(each line flushed at once, so a killed worker leaves an exact record).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext


async def main(args: argparse.Namespace) -> None:
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115  # closed in finally, after run()

    async def handler(message: dict[str, Any], context: MessageContext) -> None:
        out.write(f"start {message['n']} {context.receive_count}\n")
        out.flush()
        await asyncio.sleep(args.hold)
        out.write(f"done {message['n']}\n")
        out.flush()

    try:
        async with EnterpriseSQS(backend=f"sqlite:///{args.db}") as sqs:
            consumer = sqs.create_consumer(
                args.queue,
                processing_mode="parallel",
                concurrency=args.concurrency,
                max_messages=args.concurrency,
                wait_time_seconds=1,
                visibility_timeout_seconds=args.visibility,
                shutdown_timeout=30,
            )
            await consumer.run(handler)
    finally:
        out.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("queue")
    parser.add_argument("out")
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--visibility", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
