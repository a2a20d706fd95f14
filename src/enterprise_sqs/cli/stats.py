"""``esqs stats`` (queue depth, in flight, delayed, DLQ depth; ``--watch`` is a live dashboard)
and ``esqs health`` (can the backend be reached, and is the circuit breaker closed)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from enterprise_sqs.cli.runtime import (
    console,
    emit_json,
    json_option,
    resolve_queue_url,
    run,
    settings,
)
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import QueueDoesNotExist
from enterprise_sqs.queues import queue_name

__all__ = ["QueueStats", "collect_stats", "health", "stats"]

_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "RedrivePolicy",
    "QueueArn",
]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One queue's numbers, as SQS approximates them."""

    queue: str
    url: str
    visible: int
    in_flight: int
    delayed: int
    dlq: str | None
    dlq_depth: int | None


async def _one(sqs: EnterpriseSQS, url: str, dlq_cache: dict[str, str]) -> QueueStats | None:
    backend = sqs.get_sqs_client()
    try:
        values = await backend.get_queue_attributes(url, _ATTRIBUTES)
    except QueueDoesNotExist:
        return None  # deleted between listing and asking: not an error for a dashboard
    dlq_name = dlq_depth = None
    policy = values.get("RedrivePolicy")
    if policy:
        try:
            target = json.loads(policy).get("deadLetterTargetArn", "")
        except ValueError:
            target = ""
        if target:
            dlq_name = target.rsplit(":", 1)[-1]
            try:
                dlq_url = dlq_cache.get(dlq_name) or await backend.get_queue_url(dlq_name)
                dlq_cache[dlq_name] = dlq_url
                dlq_values = await backend.get_queue_attributes(
                    dlq_url, ["ApproximateNumberOfMessages"]
                )
                dlq_depth = int(dlq_values.get("ApproximateNumberOfMessages", 0))
            except QueueDoesNotExist:
                dlq_depth = None
    return QueueStats(
        queue=queue_name(url),
        url=url,
        visible=int(values.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(values.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(values.get("ApproximateNumberOfMessagesDelayed", 0)),
        dlq=dlq_name,
        dlq_depth=dlq_depth,
    )


async def collect_stats(sqs: EnterpriseSQS, queues: tuple[str, ...]) -> list[QueueStats]:
    """Stats of the named queues, or of every queue when none is named."""
    backend = sqs.get_sqs_client()
    if queues:
        urls = [await resolve_queue_url(sqs, q) for q in queues]
    else:
        urls = []
        token: str | None = None
        while True:
            page = await backend.list_queues(max_results=1000, next_token=token)
            urls.extend(page.queue_urls)
            token = page.next_token
            if not token:
                break
        urls.sort()
    cache: dict[str, str] = {}
    found = await asyncio.gather(*(_one(sqs, url, cache) for url in urls))
    return [s for s in found if s is not None]


def _table(rows: list[QueueStats], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("Queue", "left"),
        ("Visible", "right"),
        ("In flight", "right"),
        ("Delayed", "right"),
        ("DLQ", "left"),
        ("DLQ depth", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]  # rich's Literal
    for row in rows:
        table.add_row(
            row.queue,
            str(row.visible),
            str(row.in_flight),
            str(row.delayed),
            row.dlq or "-",
            "-" if row.dlq_depth is None else str(row.dlq_depth),
        )
    if not rows:
        table.add_row("(no queues)", "", "", "", "", "")
    return table


@click.command()
@click.argument("queues", nargs=-1)
@click.option("--watch", "-w", is_flag=True, help="Refresh a live dashboard until Ctrl-C.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.05, 3600))
@click.option(
    "--iterations", type=click.IntRange(1), help="With --watch: stop after this many refreshes."
)
@json_option
def stats(queues: tuple[str, ...], watch: bool, interval: float, iterations: int | None) -> None:
    """Depth, in flight, delayed and DLQ depth of QUEUES (default: every queue)."""
    as_json = settings().json

    async def main(sqs: EnterpriseSQS) -> list[QueueStats]:
        rows = await collect_stats(sqs, queues)
        if not watch:
            return rows
        done = 0
        if as_json:
            while True:
                click.echo(json.dumps({"time": time.time(), "queues": [asdict(r) for r in rows]}))
                done += 1
                if iterations is not None and done >= iterations:
                    return rows
                await asyncio.sleep(interval)
                rows = await collect_stats(sqs, queues)
        with Live(_table(rows, _title()), console=console(), auto_refresh=False) as live:
            while True:
                done += 1
                if iterations is not None and done >= iterations:
                    return rows
                await asyncio.sleep(interval)
                rows = await collect_stats(sqs, queues)
                live.update(_table(rows, _title()), refresh=True)

    rows = run(main, on_interrupt=lambda: "Stopped watching.", interrupt_is_normal=True)
    if watch:
        return
    if as_json:
        emit_json({"queues": [asdict(r) for r in rows]})
    else:
        console().print(_table(rows, "Queues"))


def _title() -> str:
    return f"Queues at {time.strftime('%H:%M:%S')} (Ctrl-C to stop)"


async def health_report(sqs: EnterpriseSQS) -> dict[str, Any]:
    """Every health check of the client (``get_health_status()``): the backend's readiness probe
    (one cheap call, past the retry layer and the breaker) and the circuit breaker's state."""
    status = await sqs.get_health_status()
    report = status.as_dict()
    report["backend"] = sqs.get_sqs_client().name
    return report


@click.command()
@json_option
def health() -> None:
    """Run the health checks; exit 0 when healthy or degraded, 1 when unhealthy."""
    report = run(health_report)
    if settings().json:
        emit_json(report)
    else:
        for name, check in sorted(report["details"].items()):
            detail = check.get("error") or ", ".join(
                f"{k} {v}" for k, v in sorted(check.get("details", {}).items())
            )
            took = f"{check.get('duration', 0) * 1000:.1f} ms"
            click.echo(f"{name:<12} {check['status']:<10} {took:>9}  {detail}".rstrip())
        click.echo(f"Overall: {report['status']}")
    if report["status"] == "unhealthy":
        raise click.exceptions.Exit(1)
