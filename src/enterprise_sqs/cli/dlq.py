"""``esqs dlq redrive``: move messages out of a dead-letter queue with a message move task,
showing progress until the task ends. Ctrl-C cancels the task and says how many moved."""

from __future__ import annotations

import asyncio

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from enterprise_sqs.cli.runtime import (
    console,
    emit_json,
    json_option,
    resolve_queue_url,
    run,
    settings,
)
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.models import MoveTask

__all__ = ["dlq"]


@click.group()
def dlq() -> None:
    """Dead-letter queues: redrive their messages."""


@dlq.command("redrive")
@click.argument("queue")
@click.option(
    "--to",
    "destination",
    metavar="QUEUE",
    help="Where to move them (default: the queue each message was dead-lettered from).",
)
@click.option(
    "--rate", type=click.IntRange(1, 500), help="Most messages moved per second (SQS: 1-500)."
)
@click.option(
    "--poll",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0.01, 60),
    help="Seconds between progress checks.",
)
@json_option
def redrive(queue: str, destination: str | None, rate: int | None, poll: float) -> None:
    """Move the messages of dead-letter QUEUE back (StartMessageMoveTask) and wait until done."""
    progress_state: dict[str, object] = {"moved": 0, "handle": None}

    async def main(sqs: EnterpriseSQS) -> MoveTask:
        backend = sqs.get_sqs_client()
        url = await resolve_queue_url(sqs, queue)
        source_arn = (await backend.get_queue_attributes(url, ["QueueArn"]))["QueueArn"]
        destination_arn = None
        if destination is not None:
            dest_url = await resolve_queue_url(sqs, destination)
            destination_arn = (await backend.get_queue_attributes(dest_url, ["QueueArn"]))[
                "QueueArn"
            ]
        handle = await backend.start_message_move_task(
            source_arn, destination_arn=destination_arn, max_messages_per_second=rate
        )
        progress_state["handle"] = handle
        show = not settings().json
        with Progress(
            TextColumn("Redriving {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(),
            disable=not show,
            transient=False,
        ) as bar:
            task_id = bar.add_task(queue, total=None)
            try:
                while True:
                    status = await _status(sqs, source_arn, handle)
                    progress_state["moved"] = status.approximate_number_of_messages_moved
                    bar.update(
                        task_id,
                        completed=status.approximate_number_of_messages_moved,
                        total=status.approximate_number_of_messages_to_move,
                    )
                    if status.status != "RUNNING":
                        return status
                    await asyncio.sleep(poll)
            except asyncio.CancelledError:
                moved = await asyncio.shield(backend.cancel_message_move_task(handle))
                progress_state["moved"] = moved
                raise

    def interrupted() -> str:
        return (
            f"cancelled the redrive of {queue} after {progress_state['moved']} message(s) "
            "moved; the rest stay in the dead-letter queue"
        )

    status = run(main, on_interrupt=interrupted)
    result = {
        "Status": status.status,
        "ApproximateNumberOfMessagesMoved": status.approximate_number_of_messages_moved,
        "TaskHandle": status.task_handle,
        "FailureReason": status.failure_reason,
    }
    if settings().json:
        emit_json(result)
    else:
        click.echo(
            f"Redrive {status.status.lower()}: moved "
            f"{status.approximate_number_of_messages_moved} message(s) out of {queue}."
            + (f" Failure: {status.failure_reason}" if status.failure_reason else "")
        )
    if status.status == "FAILED":
        raise click.exceptions.Exit(1)


async def _status(sqs: EnterpriseSQS, source_arn: str, handle: str) -> MoveTask:
    tasks = await sqs.get_sqs_client().list_message_move_tasks(source_arn, max_results=10)
    for task in tasks:
        if task.task_handle in (None, handle) or task.status == "RUNNING":
            return task
    return tasks[0]
