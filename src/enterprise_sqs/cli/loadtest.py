"""``esqs loadtest``: publish and consume N messages through the library, then report.

The seed's load test (publish N, count successes, divide by time), grown into what an operator
needs: a Publisher and a Consumer run at the same time against any backend; each body carries its
sequence number and the moment it was published, so the handler measures end-to-end latency
(publish call → handler) and notices duplicates (a sequence number seen twice) and losses (one
never seen). Numbers come out as a table, or ``--json``; ``--plot FILE.png`` draws throughput over
time and the latency distribution (matplotlib, the ``plot`` extra). The queue is created for the
run and deleted after it, unless ``--queue`` names one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from enterprise_sqs.cli.runtime import console, emit_json, json_option, run, settings
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming.context import MessageContext
from enterprise_sqs.errors import QueueDoesNotExist

__all__ = ["LoadTestResult", "loadtest", "percentile"]

BUCKET = 0.1  # seconds per throughput bucket


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass
class LoadTestResult:
    """What a load test did (see :meth:`as_dict` for the JSON shape)."""

    messages: int
    queue: str
    fifo: bool
    published: int = 0
    publish_errors: int = 0
    consumed: int = 0  # distinct messages handled successfully
    deliveries: int = 0  # handler calls that succeeded, duplicates included
    duplicates: int = 0
    handler_errors: int = 0
    foreign: int = 0
    started: float = 0.0
    publish_done: float = 0.0
    finished: float = 0.0
    latencies: list[float] = field(default_factory=list)
    published_buckets: dict[int, int] = field(default_factory=dict)
    consumed_buckets: dict[int, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    consumer_stats: dict[str, float] = field(default_factory=dict)
    client_stats: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    interrupted: bool = False

    @property
    def lost(self) -> int:
        return max(0, self.published - self.consumed)

    def as_dict(self) -> dict[str, Any]:
        duration = max(1e-9, self.finished - self.started)
        publish_time = max(1e-9, self.publish_done - self.started)
        ordered = sorted(self.latencies)
        retries = int(self.consumer_stats.get("retried", 0)) + int(
            self.client_stats.get("retries", 0)
        )
        return {
            "messages": self.messages,
            "queue": self.queue,
            "fifo": self.fifo,
            "published": self.published,
            "consumed": self.consumed,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "errors": {"publish": self.publish_errors, "handler": self.handler_errors},
            "error_samples": self.error_samples,
            "retries": retries,
            "duration_seconds": round(duration, 3),
            "throughput_per_second": round(self.consumed / duration, 1),
            "publish_rate_per_second": round(self.published / publish_time, 1),
            "latency_ms": {
                "p50": round(percentile(ordered, 0.50) * 1000, 3),
                "p95": round(percentile(ordered, 0.95) * 1000, 3),
                "p99": round(percentile(ordered, 0.99) * 1000, 3),
                "max": round((ordered[-1] if ordered else 0.0) * 1000, 3),
            },
            "consumer_stats": self.consumer_stats,
            "client_stats": self.client_stats,
            "metrics": self.metrics,
            "interrupted": self.interrupted,
        }


def _body(seq: int, size: int) -> str:
    head = f"{seq} {time.perf_counter_ns()} "
    return head + "x" * (size - len(head)) if size > len(head) else head


@click.command()
@click.option("--messages", "-n", default=10_000, show_default=True, type=click.IntRange(1))
@click.option(
    "--size", default=256, show_default=True, type=click.IntRange(1, 262_144), help="Body bytes."
)
@click.option(
    "--concurrency",
    "-c",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Publishing tasks, and handlers running at once.",
)
@click.option("--fifo", is_flag=True, help="A FIFO queue, messages spread over --groups.")
@click.option("--groups", default=10, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--handler-delay",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 60_000),
    help="Milliseconds each handler call sleeps (simulated work).",
)
@click.option(
    "--handler-failure-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of first deliveries the handler fails (they are retried).",
)
@click.option("--queue", help="Use this queue (created if missing) and keep it.")
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Give up after this many seconds; what was not consumed by then counts as lost.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write throughput over time and the latency distribution to this PNG (needs the "
    "plot extra: pip install 'enterprise-sqs[plot]').",
)
@json_option
def loadtest(
    messages: int,
    size: int,
    concurrency: int,
    fifo: bool,
    groups: int,
    handler_delay: float,
    handler_failure_rate: float,
    queue: str | None,
    timeout: float,
    plot: Path | None,
) -> None:
    """Publish and consume --messages messages, then report throughput, latency percentiles,
    errors, retries and duplicates. Exits 1 if a published message was not consumed."""
    if plot is not None:
        from enterprise_sqs.cli.plot import require_matplotlib

        require_matplotlib()
    if queue is not None and fifo != queue.endswith(".fifo"):
        raise click.BadParameter(
            "a FIFO queue's name ends in .fifo (and only a FIFO's)", param_hint="--queue"
        )
    name = queue or f"esqs-loadtest-{int(time.time() * 1000)}" + (".fifo" if fifo else "")
    result = LoadTestResult(messages=messages, queue=name, fifo=fifo)
    show = not settings().json

    async def main(sqs: EnterpriseSQS) -> LoadTestResult:
        try:
            await _run(
                sqs,
                result,
                concurrency,
                size,
                groups,
                handler_delay,
                handler_failure_rate,
                timeout,
                show,
                keep=queue is not None,
            )
        except asyncio.CancelledError:
            result.interrupted = True
            raise
        return result

    def interrupted() -> str:
        return (
            f"load test stopped: published {result.published} of {messages}, "
            f"consumed {result.consumed}, duplicates {result.duplicates}"
        )

    run(main, on_interrupt=interrupted)
    report = result.as_dict()
    if plot is not None:
        from enterprise_sqs.cli.plot import write_plot

        write_plot(result, plot)
    if settings().json:
        emit_json(report)
    else:
        _print_report(report, plot)
    if result.lost or result.publish_errors:
        raise click.exceptions.Exit(1)


async def _run(
    sqs: EnterpriseSQS,
    result: LoadTestResult,
    concurrency: int,
    size: int,
    groups: int,
    handler_delay: float,
    failure_rate: float,
    timeout: float,  # noqa: ASYNC109  # the load test's overall limit, not one call's
    show: bool,
    *,
    keep: bool,
) -> None:
    backend = sqs.get_sqs_client()
    attributes = {"FifoQueue": "true"} if result.fifo else {}
    try:
        url = await backend.get_queue_url(result.queue)
    except QueueDoesNotExist:
        url = await backend.create_queue(result.queue, attributes)
    total = result.messages
    seen = bytearray(total)
    latencies = result.latencies
    consumed_buckets = result.consumed_buckets
    done = asyncio.Event()
    publishing_finished = False
    chooser = random.Random(7)
    delay = handler_delay / 1000

    async def handler(body: str, context: MessageContext) -> None:
        now = time.perf_counter_ns()
        seq_text, _, rest = body.partition(" ")
        stamp_text = rest.partition(" ")[0]
        if not seq_text.isdigit() or not stamp_text.isdigit() or int(seq_text) >= total:
            result.foreign += 1
            return
        if failure_rate and context.receive_count == 1 and chooser.random() < failure_rate:
            raise RuntimeError("injected handler failure")
        if delay:
            await asyncio.sleep(delay)
        seq = int(seq_text)
        result.deliveries += 1
        if seen[seq]:
            result.duplicates += 1
            return
        seen[seq] = 1
        result.consumed += 1
        latencies.append((now - int(stamp_text)) / 1e9)
        bucket = int((now / 1e9 - result.started) / BUCKET)
        consumed_buckets[bucket] = consumed_buckets.get(bucket, 0) + 1
        if publishing_finished and result.consumed >= result.published:
            done.set()

    consumer = sqs.create_consumer(
        url,
        processing_mode="parallel",
        concurrency=concurrency,
        max_messages=min(100, max(10, concurrency)),
        wait_time_seconds=1,
        message_type=str,
        retry_base_delay=0.1,
        retry_max_delay=1.0,
        heartbeat=False,
        shutdown_timeout=10.0,
    )
    publisher = sqs.create_publisher(
        url, max_in_flight_batches=max(8, concurrency // 10), linger=0.002
    )
    result.started = time.perf_counter()
    await consumer.start(handler)
    published_buckets = result.published_buckets
    next_seq = 0

    async def publish_loop() -> None:
        nonlocal next_seq
        while next_seq < total:
            seq = next_seq
            next_seq += 1
            outcome = await publisher.publish(
                _body(seq, size),
                group_id=f"g{seq % groups}" if result.fifo else None,
                deduplication_id=str(seq) if result.fifo else None,
            )
            if outcome.success:
                result.published += 1
                bucket = int((time.perf_counter() - result.started) / BUCKET)
                published_buckets[bucket] = published_buckets.get(bucket, 0) + 1
            else:
                result.publish_errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(str(outcome.error))

    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        console=console(),
        disable=not show,
    )
    ticker: asyncio.Task[None] | None = None
    try:
        with progress:
            pub_task = progress.add_task("published", total=total)
            con_task = progress.add_task("consumed", total=total)

            async def tick() -> None:
                while True:
                    progress.update(pub_task, completed=result.published + result.publish_errors)
                    progress.update(con_task, completed=result.consumed)
                    await asyncio.sleep(0.2)

            ticker = asyncio.create_task(tick())
            await asyncio.gather(*(publish_loop() for _ in range(min(concurrency, total))))
            await publisher.flush()
            result.publish_done = time.perf_counter()
            publishing_finished = True
            if result.consumed >= result.published:
                done.set()
            remaining = timeout - (time.perf_counter() - result.started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), max(0.0, remaining))
            result.finished = time.perf_counter()
            progress.update(pub_task, completed=result.published + result.publish_errors)
            progress.update(con_task, completed=result.consumed)
    finally:
        if ticker is not None:
            ticker.cancel()
        if not result.finished:
            result.finished = time.perf_counter()
        if not result.publish_done:
            result.publish_done = result.finished
        await asyncio.shield(_finish(sqs, consumer, publisher, result, url, keep))


async def _finish(
    sqs: EnterpriseSQS, consumer: Any, publisher: Any, result: LoadTestResult, url: str, keep: bool
) -> None:
    await consumer.stop()
    await publisher.aclose()
    snapshot = consumer.stats.snapshot().as_dict()
    result.consumer_stats = snapshot
    result.handler_errors = int(snapshot["failed"])
    client = sqs.get_sqs_client()
    result.client_stats = client.stats.snapshot().as_dict()
    metrics = sqs.get_metrics()
    queue = metrics.queues.get(result.queue)
    result.metrics = {
        "system": metrics.as_dict()["system"],
        "queue": None if queue is None else metrics.as_dict()["queues"][result.queue],
    }
    if not keep:
        await client.delete_queue(url)


def _print_report(report: dict[str, Any], plot: Path | None) -> None:
    table = Table(
        title=f"Load test: {report['messages']} messages on {report['queue']}", title_justify="left"
    )
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    latency = report["latency_ms"]
    rows = [
        ("Published", f"{report['published']:,}"),
        ("Consumed", f"{report['consumed']:,}"),
        ("Duplicates", f"{report['duplicates']:,}"),
        ("Lost", f"{report['lost']:,}"),
        (
            "Errors (publish / handler)",
            f"{report['errors']['publish']} / {report['errors']['handler']}",
        ),
        ("Retries", f"{report['retries']:,}"),
        ("Duration", f"{report['duration_seconds']:.2f} s"),
        ("Throughput (end to end)", f"{report['throughput_per_second']:,.0f} msg/s"),
        ("Publish rate", f"{report['publish_rate_per_second']:,.0f} msg/s"),
        ("Latency p50", f"{latency['p50']:.1f} ms"),
        ("Latency p95", f"{latency['p95']:.1f} ms"),
        ("Latency p99", f"{latency['p99']:.1f} ms"),
        ("Latency max", f"{latency['max']:.1f} ms"),
    ]
    for row in rows:
        table.add_row(*row)
    console().print(table)
    for sample in report["error_samples"]:
        click.echo(f"error: {sample}")
    if plot is not None:
        click.echo(f"Plot written to {plot}")
