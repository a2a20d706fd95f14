"""``esqs queues create|list|attributes|set|purge|delete``: queue administration."""

from __future__ import annotations

import json

import click
from rich.table import Table

from enterprise_sqs.cli.runtime import console, emit_json, json_option, resolve_queue_url, run
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import QueueDoesNotExist

__all__ = ["parse_assignments", "queues"]


def parse_assignments(values: tuple[str, ...], what: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs → a dict; a value may itself contain ``=``.

    Raises:
        click.BadParameter: a pair without ``=`` or with an empty name.
    """
    result: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=what)
        result[name.strip()] = value
    return result


@click.group()
def queues() -> None:
    """Create, list, inspect, change, purge and delete queues."""


@queues.command("create")
@click.argument("name")
@click.option("--fifo", is_flag=True, help="A FIFO queue (the name must end in .fifo).")
@click.option(
    "--attribute",
    "-a",
    "attributes",
    multiple=True,
    metavar="NAME=VALUE",
    help="A queue attribute, e.g. VisibilityTimeout=60 (repeatable).",
)
@click.option(
    "--dlq",
    metavar="QUEUE",
    help="Dead-letter queue (name or URL) to send messages to after --max-receives.",
)
@click.option("--max-receives", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
@json_option
def create(
    name: str,
    fifo: bool,
    attributes: tuple[str, ...],
    dlq: str | None,
    max_receives: int,
    tags: tuple[str, ...],
) -> None:
    """Create queue NAME (or show the URL of an identical existing one)."""
    values = parse_assignments(attributes, "--attribute")
    tag_values = parse_assignments(tags, "--tag")
    if fifo or name.endswith(".fifo"):
        if not name.endswith(".fifo"):
            raise click.BadParameter("a FIFO queue's name must end in .fifo", param_hint="NAME")
        values.setdefault("FifoQueue", "true")

    async def main(sqs: EnterpriseSQS) -> None:
        backend = sqs.get_sqs_client()
        if dlq is not None:
            dlq_url = await resolve_queue_url(sqs, dlq)
            arn = (await backend.get_queue_attributes(dlq_url, ["QueueArn"]))["QueueArn"]
            values["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": max_receives}
            )
        url = await backend.create_queue(name, values, tag_values or None)
        _print_url(url)

    run(main)


def _print_url(url: str) -> None:
    from enterprise_sqs.cli.runtime import settings

    if settings().json:
        emit_json({"QueueUrl": url})
    else:
        click.echo(url)


@queues.command("list")
@click.option("--prefix", help="Only queues whose name starts with this.")
@json_option
def list_queues(prefix: str | None) -> None:
    """List queue URLs (every page)."""
    from enterprise_sqs.cli.runtime import settings

    async def main(sqs: EnterpriseSQS) -> list[str]:
        backend = sqs.get_sqs_client()
        urls: list[str] = []
        token: str | None = None
        while True:
            page = await backend.list_queues(prefix=prefix, max_results=1000, next_token=token)
            urls.extend(page.queue_urls)
            token = page.next_token
            if not token:
                return sorted(urls)

    urls = run(main)
    if settings().json:
        emit_json({"QueueUrls": urls})
    elif not urls:
        click.echo("No queues" + (f" starting with {prefix!r}" if prefix else "") + ".")
    else:
        for url in urls:
            click.echo(url)


@queues.command("attributes")
@click.argument("queue")
@click.option("--name", "names", multiple=True, help="Only these attributes (repeatable).")
@json_option
def attributes(queue: str, names: tuple[str, ...]) -> None:
    """Show a queue's attributes."""
    from enterprise_sqs.cli.runtime import settings

    async def main(sqs: EnterpriseSQS) -> dict[str, str]:
        url = await resolve_queue_url(sqs, queue)
        return await sqs.get_sqs_client().get_queue_attributes(url, list(names) or ["All"])

    values = run(main)
    if settings().json:
        emit_json(values)
        return
    table = Table("Attribute", "Value", title=queue, title_justify="left")
    for key in sorted(values):
        table.add_row(key, values[key])
    console().print(table)


@queues.command("set")
@click.argument("queue")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
def set_attributes(queue: str, assignments: tuple[str, ...]) -> None:
    """Change queue attributes, e.g. ``esqs queues set orders VisibilityTimeout=60``."""
    values = parse_assignments(assignments, "NAME=VALUE")

    async def main(sqs: EnterpriseSQS) -> None:
        url = await resolve_queue_url(sqs, queue)
        await sqs.get_sqs_client().set_queue_attributes(url, values)

    run(main)
    click.echo(f"Set {', '.join(sorted(values))} on {queue}.")


@queues.command("purge")
@click.argument("queue")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(queue: str, yes: bool) -> None:
    """Delete every message in a queue (SQS allows one purge per queue per minute)."""
    if not yes:
        click.confirm(f"Delete every message in {queue}?", abort=True)

    async def main(sqs: EnterpriseSQS) -> None:
        url = await resolve_queue_url(sqs, queue)
        await sqs.get_sqs_client().purge_queue(url)

    run(main)
    click.echo(f"Purged {queue}.")


@queues.command("delete")
@click.argument("queue")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--if-exists", is_flag=True, help="Succeed when the queue does not exist.")
def delete(queue: str, yes: bool, if_exists: bool) -> None:
    """Delete a queue and its messages."""
    if not yes:
        click.confirm(f"Delete queue {queue} and every message in it?", abort=True)

    async def main(sqs: EnterpriseSQS) -> bool:
        try:
            url = await resolve_queue_url(sqs, queue)
            await sqs.get_sqs_client().delete_queue(url)
        except QueueDoesNotExist:
            if if_exists:
                return False
            raise
        return True

    deleted = run(main)
    click.echo(f"Deleted {queue}." if deleted else f"{queue} does not exist; nothing to delete.")
