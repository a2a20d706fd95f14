"""What observability costs: end-to-end throughput with metrics and tracing on vs off, one run.

publish (auto-batched) → consume (no-op async handler) → batched delete, publisher and consumer
running at the same time, against two backends:

- ``memory://``: the embedded engine in the same process. The whole round trip costs ~60 µs of
  CPU, so this is the harshest base any observability cost can be compared to;
- ``esqs serve``: the same engine behind the SQS wire protocol, in its own process (started here),
  reached through the AWS backend over HTTP on loopback — the shape of a real deployment, where
  the client pays for HTTP and the protocol and the queue lives elsewhere.

Configurations:

- ``off``: ``EnterpriseSQS(metrics=False)``: no event observers at all;
- ``metrics``: the default: every publisher and consumer event counted, latencies bucketed;
- ``metrics+trace``: also OpenTelemetry tracing through the SDK (a real TracerProvider, spans
  sampled 100 %, handed to a BatchSpanProcessor whose exporter drops them): trace context
  injected into every message, send/receive/process/settle spans;
- ``metrics+trace 10%``: the same with ``ParentBased(TraceIdRatioBased(0.1))``, a usual
  production sampling rate;
- ``metrics+trace noop``: tracing on with the API's no-op provider (no SDK installed or
  configured): what the library's own tracing hooks cost;
- ``off +1 attribute``: no observability, but every message carries a ``traceparent``-sized
  message attribute: the floor any propagation pays on this backend (the engine validates,
  checksums and stores message attributes), sampled or not.

Rounds alternate the configurations (so drift on a shared machine hits all alike); each
configuration's median is reported with the throughput ratio to ``off`` and the extra CPU per
message in the client process (the steadier number when other processes share the machine).

    python benchmarks/observability_overhead.py                 # both backends, 3 rounds
    python benchmarks/observability_overhead.py --backend memory --messages 20000 --rounds 5

Target: metrics and tracing together cost ≤ 10 % of throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NoOpTracerProvider
from tests.support.esqs_server import start_server, stop_server

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.observability import Tracing


class DropExporter(SpanExporter):
    """Counts spans and drops them: the SDK's full cost without an exporter's I/O."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_CONTEXT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}


def _client(
    config: str, backend: str
) -> tuple[EnterpriseSQS, TracerProvider | None, DropExporter | None]:
    if config.startswith("off"):
        return EnterpriseSQS(backend=backend, metrics=False), None, None
    if config == "metrics":
        return EnterpriseSQS(backend=backend), None, None
    if config.endswith("noop"):
        tracing = Tracing(tracer_provider=NoOpTracerProvider())
        return EnterpriseSQS(backend=backend, tracing=tracing), None, None
    sampler = ParentBased(TraceIdRatioBased(0.1)) if config.endswith("10%") else None
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    exporter = DropExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=100_000))
    tracing = Tracing(tracer_provider=provider)
    return EnterpriseSQS(backend=backend, tracing=tracing), provider, exporter


_runs = 0


async def run(
    config: str, total: int, concurrency: int, backend: str = "memory://"
) -> tuple[float, float, int]:
    """Messages per second and CPU µs per message for one configuration; spans exported."""
    global _runs
    _runs += 1
    sqs, provider, exporter = _client(config, backend)
    async with sqs:
        queue = f"bench-observability-{_runs}"  # a fresh queue: a server keeps the old ones
        publisher = sqs.create_publisher(queue, create_queue=True, linger=0.001)
        await publisher.publish({"warm": True})
        done = asyncio.Event()
        handled = 0

        async def handler(message: Any, context: MessageContext) -> None:
            nonlocal handled
            handled += 1
            if handled >= total + 1:
                done.set()

        consumer = sqs.create_consumer(
            queue,
            processing_mode="parallel",
            concurrency=concurrency,
            max_messages=20,
            wait_time_seconds=1,
            visibility_timeout_seconds=60,
        )
        await consumer.start(handler)
        options = {"attributes": _CONTEXT} if config.endswith("attribute") else {}
        cpu, wall = _cpu(), time.perf_counter()
        for start in range(0, total, 1000):
            results = await publisher.publish_many(
                ({"n": n, "payload": "x" * 64} for n in range(start, min(total, start + 1000))),
                **options,
            )
            assert all(r.success for r in results)
        await done.wait()
        await consumer.stop(abort_receive=True)
        elapsed, used = time.perf_counter() - wall, _cpu() - cpu
        if not config.startswith("off"):
            metrics = sqs.get_metrics().queues[queue]
            assert metrics.processed == total + 1, metrics  # the numbers are right, too
    spans = 0
    if provider is not None and exporter is not None:
        provider.force_flush()
        provider.shutdown()
        spans = exporter.spans
    return total / elapsed, used / total * 1e6, spans


CONFIGS = [
    "off",
    "off +1 attribute",
    "metrics",
    "metrics+trace noop",
    "metrics+trace 10%",
    "metrics+trace",
]


_SPAN_ATTRIBUTES = {
    "messaging.system": "aws_sqs",
    "messaging.operation.name": "send",
    "messaging.operation.type": "send",
    "messaging.destination.name": "bench",
    "messaging.message.body.size": 64,
}


def sdk_span_cost(sampler: Any, spans: int = 20_000) -> float:
    """CPU µs to start and end one span through the SDK alone (the benchmark's provider
    set-up, the attributes of a send span, no library code): the floor of any tracing."""
    provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropExporter(), max_queue_size=100_000))
    tracer = provider.get_tracer("bench")
    cpu = _cpu()
    for _ in range(spans):
        tracer.start_span("send bench", attributes=_SPAN_ATTRIBUTES).end()
    provider.force_flush()
    used = _cpu() - cpu
    provider.shutdown()
    return used / spans * 1e6


async def compare(label: str, backend: str, messages: int, rounds: int, concurrency: int) -> None:
    configs = CONFIGS
    print(
        f"\n{label}  {messages} messages x {rounds} rounds  concurrency {concurrency}  "
        f"python {sys.version.split()[0]}"
    )
    rates: dict[str, list[float]] = {c: [] for c in configs}
    cpus: dict[str, list[float]] = {c: [] for c in configs}
    spans: dict[str, int] = {}
    await run("off", 1000, concurrency, backend)  # warm imports, caches and connections
    for round_ in range(rounds):
        order = configs if round_ % 2 == 0 else list(reversed(configs))
        for config in order:
            rate, cpu, exported = await run(config, messages, concurrency, backend)
            rates[config].append(rate)
            cpus[config].append(cpu)
            spans[config] = exported
    base = statistics.median(rates["off"])
    base_cpu = statistics.median(cpus["off"])
    for config in configs:
        rate = statistics.median(rates[config])
        cost = (1 - rate / base) * 100
        cpu = statistics.median(cpus[config])
        print(
            f"{config:<18} {rate:>9,.0f} msg/s  {cpu:>6.1f} µs CPU/msg  "
            f"ratio {rate / base:5.3f}  cost {cost:+5.1f}%  "
            f"CPU cost {cpu - base_cpu:+6.1f} µs {(cpu / base_cpu - 1) * 100:+5.1f}%  spans/msg "
            f"{spans.get(config, 0) / messages:4.2f}"
        )


async def main(args: Any) -> None:
    recorded = statistics.median(sdk_span_cost(None) for _ in range(3))
    dropped = statistics.median(
        sdk_span_cost(ParentBased(TraceIdRatioBased(0.0))) for _ in range(3)
    )
    print(
        f"OpenTelemetry SDK alone: {recorded:.1f} µs CPU per recorded span, {dropped:.1f} µs per "
        "root span the sampler drops"
    )
    if args.backend in ("memory", "both"):
        await compare("memory://", "memory://", args.messages, args.rounds, args.concurrency)
    if args.backend in ("serve", "both"):
        # Any credentials do: the server is started without authentication.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        with tempfile.TemporaryDirectory() as tmp:
            server = start_server(Path(tmp) if args.serve_file else None, log_level="warning")
            try:
                label = f"esqs serve ({'file' if args.serve_file else 'memory'}) over HTTP"
                messages = args.serve_messages or args.messages // 2
                await compare(label, server.url, messages, args.rounds, args.concurrency)
            finally:
                stop_server(server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--backend", choices=["memory", "serve", "both"], default="both")
    parser.add_argument("--serve-messages", type=int, default=0, help="default: --messages / 2")
    parser.add_argument("--serve-file", action="store_true", help="esqs serve on a data dir")
    asyncio.run(main(parser.parse_args()))
