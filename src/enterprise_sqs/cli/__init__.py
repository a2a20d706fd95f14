"""The ``esqs`` command line. Each command lives in its own module; this one only assembles them."""

from __future__ import annotations

import click

from enterprise_sqs import __version__
from enterprise_sqs.backends.url import DEFAULT_BACKEND_URL
from enterprise_sqs.cli.demo import demo
from enterprise_sqs.cli.serve import serve_command
from enterprise_sqs.errors import ConfigurationError, EnterpriseSQSError

__all__ = ["cli", "main"]

# Exit codes scripts can rely on: 0 success, 1 an operation failed, 2 bad usage or configuration.


class OperationFailed(click.ClickException):
    """An SQS operation failed: one line on stderr, exit code 1."""

    exit_code = 1


class _Group(click.Group):
    """Shows our errors as one clear line (no traceback) with a stable exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise click.UsageError(str(exc), ctx) from exc
        except EnterpriseSQSError as exc:
            raise OperationFailed(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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
