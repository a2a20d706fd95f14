"""``esqs backup replay``: republish backed-up messages of one queue from a time range."""

from __future__ import annotations

import datetime

import click

from enterprise_sqs.cli.runtime import emit_json, json_option, run, settings
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.publishing.backup import ReplayReport, open_backup_store, replay

__all__ = ["backup"]


def parse_time(value: str | None, option: str) -> datetime.datetime | None:
    """ISO 8601 (``2024-05-01T12:00:00Z``; no zone means UTC) or epoch seconds.

    Raises:
        ConfigurationError: neither.
    """
    if value is None:
        return None
    try:
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"{option} {value!r} is not a time: "
            "use ISO 8601 (2024-05-01T12:00:00Z) or epoch seconds"
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)


@click.group()
def backup() -> None:
    """Message backups: republish what publishers backed up."""


@backup.command("replay")
@click.option("--queue", required=True, help="The queue whose backed-up messages to replay.")
@click.option("--since", help="From this time (ISO 8601 or epoch seconds), inclusive.")
@click.option("--until", help="Up to this time (ISO 8601 or epoch seconds), exclusive.")
@click.option(
    "--store",
    default="esqs-backup.db",
    show_default=True,
    help="The backup store: a .db file / sqlite:///path.db, jsonl:///dir, or s3://bucket/prefix.",
)
@click.option("--to-queue", help="Republish to this queue instead (default: --queue).")
@json_option
def replay_command(
    queue: str,
    since: str | None,
    until: str | None,
    store: str,
    to_queue: str | None,
) -> None:
    """Republish the backed-up messages of QUEUE sent in [--since, --until): new message ids,
    same bodies and attributes; FIFO messages keep group and deduplication ids."""
    low, high = parse_time(since, "--since"), parse_time(until, "--until")
    backup_store = open_backup_store(store)

    async def main(sqs: EnterpriseSQS) -> ReplayReport:
        try:
            return await replay(
                backup_store, sqs, queue=queue, since=low, until=high, to_queue=to_queue
            )
        finally:
            await backup_store.aclose()

    report = run(main)
    if settings().json:
        emit_json({"read": report.read, "published": report.published, "failed": report.failed})
    else:
        click.echo(
            f"replayed {report.published} of {report.read} messages to {to_queue or queue}"
            + (f"; {report.failed} failed" if report.failed else "")
        )
    if report.failed:
        first = report.errors[0] if report.errors else None
        raise click.ClickException(f"{report.failed} messages failed to republish: {first}")
