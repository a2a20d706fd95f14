"""``esqs work MODULE:HANDLER QUEUE``: a consumer worker process.

The handler is imported like ``uvicorn``'s app (``myapp.handlers:process_order``, the current
directory on the import path) and run by :meth:`Consumer.run`: SIGTERM or Ctrl-C stops intake,
lets running handlers finish within ``--shutdown-timeout``, returns unstarted messages to the
queue, and the process exits 0 with a summary of what it did.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from enterprise_sqs.cli.runtime import emit_json, json_option, resolve_queue_url, run, settings
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming.consumer import Consumer

__all__ = ["load_handler", "work"]


def load_handler(spec: str) -> Callable[..., Any]:
    """``package.module:function`` → the function.

    Raises:
        click.BadParameter: a malformed spec, a module that cannot be imported, a missing or
            non-callable attribute.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise click.BadParameter(f"{spec!r} is not MODULE:HANDLER", param_hint="HANDLER")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(
            f"cannot import {module_name!r}: {exc}", param_hint="HANDLER"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise click.BadParameter(
                f"module {module_name!r} has no {attribute!r}", param_hint="HANDLER"
            ) from None
    if not callable(target):
        raise click.BadParameter(f"{spec} is not callable", param_hint="HANDLER")
    return target  # type: ignore[no-any-return]  # checked callable above


@click.command()
@click.argument("handler_spec", metavar="MODULE:HANDLER")
@click.argument("queue")
@click.option(
    "--mode",
    type=click.Choice(["sequential", "parallel"]),
    default="parallel",
    show_default=True,
)
@click.option("--concurrency", type=click.IntRange(1, 10_000), help="Handlers at once (parallel).")
@click.option("--batch-size", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--max-messages", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--wait", default=20, show_default=True, type=click.IntRange(0, 20), help="Long poll."
)
@click.option("--visibility", type=click.IntRange(0, 43_200), help="Visibility timeout to set.")
@click.option("--handler-timeout", type=click.FloatRange(0, min_open=True))
@click.option("--shutdown-timeout", default=30.0, show_default=True, type=click.FloatRange(0))
@click.option(
    "--message-type", type=click.Choice(["json", "str"]), default="json", show_default=True
)
@click.option("--http-host", default="127.0.0.1", show_default=True)
@click.option(
    "--http-port",
    type=click.IntRange(0, 65535),
    help="Serve /livez /readyz /healthz /metrics on this port (0: any free port).",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@json_option
def work(
    handler_spec: str,
    queue: str,
    mode: str,
    concurrency: int | None,
    batch_size: int,
    max_messages: int,
    wait: int,
    visibility: int | None,
    handler_timeout: float | None,
    shutdown_timeout: float,
    message_type: str,
    http_host: str,
    http_port: int | None,
    log_level: str,
) -> None:
    """Consume QUEUE with HANDLER (``async def handler(message, context)`` or a plain function)
    until SIGTERM or Ctrl-C, then stop gracefully and print what was done."""
    if not settings().debug:
        # A worker's log is its record: library warnings (retries, dead letters) go to stderr.
        logging.basicConfig(
            level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("enterprise_sqs").handlers.clear()
    handler = load_handler(handler_spec)
    if inspect.isclass(handler):
        raise click.BadParameter(f"{handler_spec} is a class, not a function", param_hint="HANDLER")
    options: dict[str, Any] = {
        "processing_mode": mode,
        "batch_size": batch_size,
        "max_messages": max_messages,
        "wait_time_seconds": wait,
        "visibility_timeout_seconds": visibility,
        "handler_timeout": handler_timeout,
        "shutdown_timeout": shutdown_timeout,
        "message_type": str if message_type == "str" else None,
    }
    if concurrency is not None:
        options["concurrency"] = concurrency
    holder: dict[str, Consumer] = {}

    async def main(sqs: EnterpriseSQS) -> dict[str, Any]:
        await resolve_queue_url(sqs, queue)
        consumer = sqs.create_consumer(queue, **options)
        holder["consumer"] = consumer
        server = None
        if http_port is not None:
            server = await sqs.start_http_server(http_host, http_port)
        if not settings().json:
            click.echo(
                f"Worker consuming {queue} with {handler_spec} ({mode}, concurrency "
                f"{consumer.options.effective_concurrency}); SIGTERM or Ctrl-C stops it.",
            )
            if server is not None:
                click.echo(f"Health and metrics: {server.url}/livez /readyz /healthz /metrics")
        try:
            await consumer.run(handler)
        finally:
            if server is not None:
                await server.aclose()
        return consumer.stats.snapshot().as_dict()

    summary = run(
        main,
        on_interrupt=lambda: _summary_line(holder),
        interrupt_is_normal=True,
    )
    if settings().json:
        emit_json(summary)
    else:
        click.echo(
            f"Worker stopped: received {summary['received']}, processed {summary['processed']}, "
            f"retried {summary['retried']}, dead-lettered {summary['dead_lettered']}, "
            f"failed {summary['failed']}."
        )


def _summary_line(holder: dict[str, Consumer]) -> str:
    consumer = holder.get("consumer")
    if consumer is None:
        return "Worker stopped before it started."
    s = consumer.stats.snapshot()
    return f"Worker stopped: received {s.received}, processed {s.processed}, failed {s.failed}."
