"""``esqs demo``: a short publish-and-consume tour of the embedded engine.

It creates a standard queue with a dead-letter queue and a FIFO queue, sends batches, receives
and deletes, shows FIFO order within message groups and deduplication, lets a failing message be
received until SQS moves it to the DLQ, and redrives it back with a message move task.
"""

from __future__ import annotations

import asyncio
import json
import time

import click

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.backends.url import open_backend
from enterprise_sqs.models import DeleteEntry, MessageAttributeValue, SendEntry

__all__ = ["demo", "run_demo"]


def _say(text: str) -> None:
    click.echo(text)


async def _drain(backend: Backend, url: str, *, limit: int = 100) -> list[str]:
    """Receive and delete until the queue answers empty; return the bodies in receive order."""
    bodies: list[str] = []
    while len(bodies) < limit:
        messages = await backend.receive(url, max_messages=10, wait_time_seconds=0)
        if not messages:
            break
        bodies.extend(m.body for m in messages)
        result = await backend.delete_batch(
            url,
            [
                DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                for i, m in enumerate(messages)
            ],
        )
        result.raise_for_failures()
    return bodies


async def run_demo(backend_url: str) -> None:
    backend = open_backend(backend_url)
    try:
        _say(f"Backend: {backend.name}")
        stamp = str(int(time.time()))
        dlq = await backend.create_queue(f"demo-orders-dlq-{stamp}")
        dlq_arn = (await backend.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
        orders = await backend.create_queue(
            f"demo-orders-{stamp}",
            {
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
            },
        )
        fifo = await backend.create_queue(
            f"demo-payments-{stamp}.fifo",
            {"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )
        _say(
            f"Created queues:\n  {orders}\n  {dlq} (dead-letter queue, maxReceiveCount 2)\n  {fifo}"
        )

        events = [
            SendEntry(
                id=f"e{i}",
                body=json.dumps({"type": "order-created", "order": i}),
                message_attributes={"tenant": MessageAttributeValue.string("acme")},
            )
            for i in range(10)
        ]
        sent = await backend.send_batch(orders, events)
        _say(f"Sent a batch of {len(sent.successful)} orders ({len(sent.failed)} failed).")
        bodies = await _drain(backend, orders)
        _say(
            f"Received and deleted {len(bodies)} orders: "
            + ", ".join(str(json.loads(b)["order"]) for b in bodies)
        )

        payments = [("alice", 1), ("bob", 1), ("alice", 2), ("alice", 3), ("bob", 2)]
        fifo_sent = await backend.send_batch(
            fifo,
            [
                SendEntry(id=f"p{i}", body=f"{who}-payment-{n}", group_id=who)
                for i, (who, n) in enumerate(payments)
            ],
        )
        duplicate = await backend.send_batch(
            fifo, [SendEntry(id="dup", body="alice-payment-1", group_id="alice")]
        )
        _say(
            f"FIFO: sent {len(fifo_sent.successful)} payments in groups alice and bob, then the "
            f"first one again (accepted: {len(duplicate.successful)}, deduplicated by content)."
        )
        received = await _drain(backend, fifo)
        _say("FIFO receive order (strict within each group): " + ", ".join(received))

        poison = await backend.send_batch(orders, [SendEntry(id="bad", body='{"type": "poison"}')])
        poison.raise_for_failures()
        for attempt in (1, 2):
            (message,) = await backend.receive(
                orders, max_messages=1, attribute_names=["ApproximateReceiveCount"]
            )
            _say(
                f"Attempt {attempt}: handler failed on {message.body} "
                f"(receive count {message.attributes['ApproximateReceiveCount']}); "
                "making it visible again for a retry."
            )
            await backend.change_visibility(orders, message.receipt_handle, 0)
        again = await backend.receive(orders, max_messages=1)
        in_dlq = await backend.receive(
            dlq, max_messages=1, attribute_names=["DeadLetterQueueSourceArn"]
        )
        _say(
            f"Third receive returned {len(again)} messages: SQS moved it to the DLQ "
            f"({len(in_dlq)} there, from {in_dlq[0].attributes.get('DeadLetterQueueSourceArn')})."
        )
        await backend.change_visibility(dlq, in_dlq[0].receipt_handle, 0)
        task = await backend.start_message_move_task(dlq_arn)
        for _ in range(200):
            (status,) = await backend.list_message_move_tasks(dlq_arn, max_results=1)
            if status.status != "RUNNING":
                break
            await asyncio.sleep(0.05)
        redriven = await _drain(backend, orders)
        _say(
            f"Redrive task {task[:12]}… {status.status.lower()}: moved "
            f"{status.approximate_number_of_messages_moved} message(s) back; "
            f"the queue now holds {redriven}."
        )
        attributes = await backend.get_queue_attributes(orders)
        _say(
            "Queue now: "
            f"{attributes['ApproximateNumberOfMessages']} visible, "
            f"{attributes['ApproximateNumberOfMessagesNotVisible']} in flight."
        )
    finally:
        await backend.aclose()


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Publish and consume on the embedded engine, showing FIFO order, dedup, DLQ and redrive."""
    asyncio.run(run_demo(ctx.obj["backend"]))
