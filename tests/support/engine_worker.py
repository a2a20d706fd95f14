"""A separate process that uses the embedded engine on a shared SQLite file.

python -m tests.support.engine_worker consume DB_PATH QUEUE_URL OUT_FILE
    write OUT_FILE.ready, wait for DB_PATH.go, then receive (visibility 300 s), "work" 2 ms per
    batch and delete until the queue stays empty; write each received message id to OUT_FILE,
    one per line, before deleting it.
python -m tests.support.engine_worker send DB_PATH QUEUE_URL
    send batches of 10 forever; after each send returns, print its message ids (flushed).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from enterprise_sqs import DeleteEntry, SendEntry, open_backend


async def consume(db: str, queue: str, out_path: str) -> None:
    backend = open_backend(f"sqlite:///{db}")
    # Start together with the other workers, so that each really competes for the messages.
    Path(out_path + ".ready").touch()
    while not Path(db + ".go").exists():
        await asyncio.sleep(0.01)
    empty_polls = 0
    with open(out_path, "w", encoding="utf-8") as out:
        while empty_polls < 3:
            messages = await backend.receive(
                queue, max_messages=10, wait_time_seconds=1, visibility_timeout=300
            )
            if not messages:
                empty_polls += 1
                continue
            empty_polls = 0
            for message in messages:
                out.write(message.message_id + "\n")
            out.flush()
            await asyncio.sleep(0.002)  # the work a real consumer does between receive and delete
            result = await backend.delete_batch(
                queue,
                [
                    DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                    for i, m in enumerate(messages)
                ],
            )
            result.raise_for_failures()
    await backend.aclose()


async def send_forever(db: str, queue: str) -> None:
    backend = open_backend(f"sqlite:///{db}")
    n = 0
    while True:
        batch = [SendEntry(id=str(i), body=f"message {n + i}") for i in range(10)]
        n += 10
        result = await backend.send_batch(queue, batch)
        result.raise_for_failures()
        sys.stdout.write("".join(s.message_id + "\n" for s in result.successful))
        sys.stdout.flush()


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "consume":
        asyncio.run(consume(*args))
    elif command == "send":
        asyncio.run(send_forever(*args))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
