"""The ``esqs`` command line. Each command lives in its own module; this one only assembles them
and turns errors into one line and a stable exit code (see :mod:`.runtime`)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import click

from enterprise_sqs import __version__
from enterprise_sqs.cli.backup import backup
from enterprise_sqs.cli.demo import demo
from enterprise_sqs.cli.dlq import dlq
from enterprise_sqs.cli.loadtest import loadtest
from enterprise_sqs.cli.messages import peek, receive, send, tail
from enterprise_sqs.cli.queues import queues
from enterprise_sqs.cli.runtime import Interrupted, OperationFailed, Settings
from enterprise_sqs.cli.serve import serve_command
from enterprise_sqs.cli.stats import health, stats
from enterprise_sqs.cli.work import work
from enterprise_sqs.errors import ConfigurationError, EnterpriseSQSError

__all__ = ["OperationFailed", "cli", "main"]

_EPILOG = """\b
Every option has an environment variable: ESQS_BACKEND, ESQS_REGION, ESQS_ENDPOINT_URL,
ESQS_PROFILE, ESQS_CONFIG_FILE, ESQS_ENV, ESQS_DATA_DIR (the default data directory),
ESQS_JSON=1 and ESQS_DEBUG=1.

\b
Exit codes:
  0    success
  1    an operation failed (SQS refused it, a queue does not exist, the load test lost messages)
  2    bad usage or configuration (unknown option, malformed value, bad backend URL)
  130  interrupted by Ctrl-C before the work was done (what was done is printed)
"""


class _Group(click.Group):
    """Shows errors as one clear line (the full trace with ``--debug``) with a stable exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, Interrupted):
            raise
        except ConfigurationError as exc:
            _trace_if_debug(ctx)
            raise click.UsageError(str(exc), ctx) from exc
        except EnterpriseSQSError as exc:
            _trace_if_debug(ctx)
            raise OperationFailed(str(exc)) from exc
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            _trace_if_debug(ctx)
            raise OperationFailed(
                f"unexpected {type(exc).__name__}: {exc} (esqs --debug ... shows the trace)"
            ) from exc


def _trace_if_debug(ctx: click.Context) -> None:
    options = ctx.find_object(Settings)
    if options is not None and options.debug:
        click.echo(traceback.format_exc(), err=True, nl=False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EPILOG)
@click.version_option(__version__, prog_name="esqs")
@click.option(
    "--backend",
    envvar="ESQS_BACKEND",
    metavar="URL",
    help="Where queues live: sqlite:///path.db, memory://, aws://REGION or an http(s) SQS "
    "endpoint. Default: the embedded engine in ./.esqs (or $ESQS_DATA_DIR).",
)
@click.option("--region", envvar="ESQS_REGION", help="AWS region (aws:// backends).")
@click.option(
    "--endpoint-url",
    envvar="ESQS_ENDPOINT_URL",
    metavar="URL",
    help="An SQS-compatible endpoint (LocalStack, moto, esqs serve).",
)
@click.option("--profile", envvar="ESQS_PROFILE", help="AWS shared-config profile.")
@click.option(
    "--config",
    "config_file",
    envvar="ESQS_CONFIG_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (.toml or .json) with per-environment sections.",
)
@click.option(
    "--env",
    "environment",
    envvar="ESQS_ENV",
    type=click.Choice(["development", "staging", "production", "test"]),
    help="Which section of the configuration file applies (default: development).",
)
@click.option(
    "--json", "json_output", envvar="ESQS_JSON", is_flag=True, help="JSON output on stdout."
)
@click.option(
    "--debug", envvar="ESQS_DEBUG", is_flag=True, help="Full traces and debug logs on stderr."
)
@click.pass_context
def cli(
    ctx: click.Context,
    backend: str | None,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    config_file: Path | None,
    environment: str | None,
    json_output: bool,
    debug: bool,
) -> None:
    """Enterprise SQS: production-grade Amazon SQS messaging, with an embedded engine."""
    options = ctx.ensure_object(Settings)
    options.backend = backend
    options.region = region
    options.endpoint_url = endpoint_url
    options.profile = profile
    options.config_file = config_file
    options.environment = environment
    options.json = options.json or json_output
    options.debug = debug
    if debug:
        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    elif not logging.getLogger().handlers:
        # The library logs; a command prints. Without --debug, keep Python's last-resort handler
        # from printing library warnings between a command's lines (``work`` sets up logging).
        logging.getLogger("enterprise_sqs").addHandler(logging.NullHandler())


cli.add_command(demo)
cli.add_command(serve_command)
cli.add_command(queues)
cli.add_command(send)
cli.add_command(receive)
cli.add_command(peek)
cli.add_command(tail)
cli.add_command(work)
cli.add_command(dlq)
cli.add_command(stats)
cli.add_command(health)
cli.add_command(loadtest)
cli.add_command(backup)


def main() -> None:
    cli(prog_name="esqs")
