"""The ``esqs`` command line. Each command lives in its own module; this one only assembles them."""

from __future__ import annotations

import click

from enterprise_sqs import __version__
from enterprise_sqs.backends.url import DEFAULT_BACKEND_URL
from enterprise_sqs.cli.demo import demo
from enterprise_sqs.cli.serve import serve_command

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="esqs")
@click.option(
    "--backend",
    envvar="ESQS_BACKEND",
    default=DEFAULT_BACKEND_URL,
    show_default=True,
    help="Where queues live: memory://, sqlite:///path.db, aws://REGION or an http(s) endpoint.",
)
@click.pass_context
def cli(ctx: click.Context, backend: str) -> None:
    """Enterprise SQS: production-grade Amazon SQS messaging, with an embedded engine."""
    ctx.ensure_object(dict)
    ctx.obj["backend"] = backend


cli.add_command(demo)
cli.add_command(serve_command)


def main() -> None:
    cli(prog_name="esqs")
