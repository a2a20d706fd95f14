"""What every ``esqs`` command shares: global options, the backend, output, errors, Ctrl-C.

The global options (``--backend``, ``--region``, ``--endpoint-url``, ``--profile``, ``--config``,
``--env``, ``--json``, ``--debug``) land in a :class:`Settings` object on the click context.
:meth:`Settings.config` turns them into an :class:`EnterpriseSQSConfig` with the usual
precedence: flag, then ``ESQS_*`` variable, then the configuration file, then the default — and
the default backend is the embedded engine in a local data directory (``./.esqs/queues.db``, or
``$ESQS_DATA_DIR/queues.db``), never Amazon SQS by accident.

Exit codes (documented in ``esqs --help``): 0 success, 1 an operation failed, 2 bad usage or
configuration, 130 interrupted (Ctrl-C) before the work was done.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import EnterpriseSQSConfig
from enterprise_sqs.errors import QueueDoesNotExist

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Interrupted",
    "OperationFailed",
    "Settings",
    "default_backend_url",
    "emit_json",
    "json_option",
    "resolve_queue_url",
    "run",
    "settings",
]

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class OperationFailed(click.ClickException):
    """An SQS operation failed: one line on stderr, exit code 1."""

    exit_code = EXIT_FAILED


class Interrupted(click.ClickException):
    """Ctrl-C stopped a command before its work was done: what was done, exit code 130."""

    exit_code = EXIT_INTERRUPTED

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"Interrupted: {self.message}", err=True)


def default_backend_url(environ: Mapping[str, str] | None = None) -> str:
    """The embedded engine in ``$ESQS_DATA_DIR`` or ``./.esqs`` (created on first use)."""
    env = os.environ if environ is None else environ
    directory = Path(env.get("ESQS_DATA_DIR") or ".esqs").resolve()
    return f"sqlite:///{directory / 'queues.db'}"


@dataclass
class Settings:
    """The global options as given (``None``: not given)."""

    backend: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    config_file: Path | None = None
    environment: str | None = None
    json: bool = False
    debug: bool = False
    _config: EnterpriseSQSConfig | None = field(default=None, repr=False)
    _announced: bool = field(default=False, repr=False)

    def config(self, *, default_backend: str | None = None) -> EnterpriseSQSConfig:
        """The configuration these options name.

        Raises:
            ConfigurationError: a bad value, file or environment name.
        """
        if self._config is not None:
            return self._config
        loaded = EnterpriseSQSConfig.load(self.config_file, environment=self.environment)
        changes: dict[str, Any] = {}
        for key in ("region", "endpoint_url", "profile"):
            value = getattr(self, key)
            if value is not None:
                changes[key] = value
        if self.backend is not None:
            changes["backend"] = self.backend
        elif not self._backend_configured():
            if self.endpoint_url is not None:
                changes["backend"] = "aws://"
            else:
                changes["backend"] = default_backend or default_backend_url()
        config = loaded.replace(**changes) if changes else loaded
        if config.backend.startswith("sqlite:///"):
            Path(config.backend[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self._config = config
        return config

    def _backend_configured(self) -> bool:
        """Whether ``ESQS_BACKEND`` or the configuration file names a backend."""
        if os.environ.get("ESQS_BACKEND"):
            return True
        path = self.config_file or os.environ.get("ESQS_CONFIG_FILE")
        if not path:
            return False
        # The file's own mapping (base plus environment section), before defaults fill it in.
        from enterprise_sqs.config import _file_mapping

        environment = self.environment or os.environ.get("ESQS_ENV") or "development"
        return "backend" in _file_mapping(Path(path), environment)

    @property
    def is_default_backend(self) -> bool:
        return self.backend is None and not self._backend_configured() and not self.endpoint_url

    def announce(self, note: str = "") -> None:
        """Say which backend this command talks to: the first line of output (stderr with --json,
        so that stdout stays one JSON document)."""
        if self._announced:
            return
        self._announced = True
        config = self.config()
        where = config.backend.split("?", 1)[0]
        if config.endpoint_url and where.startswith("aws://"):
            where = f"{where} at {config.endpoint_url}"
        if not note and self.is_default_backend:
            note = " (the embedded engine in a local data directory; --backend to change)"
        click.echo(f"Backend: {where}{note}", err=self.json)

    def client(self, *, default_backend: str | None = None) -> EnterpriseSQS:
        return EnterpriseSQS(self.config(default_backend=default_backend))


def settings() -> Settings:
    """The current command's :class:`Settings`."""
    ctx = click.get_current_context()
    obj = ctx.find_object(Settings)
    if obj is None:  # a command invoked on its own, as tests of a single command may
        obj = ctx.ensure_object(Settings)
    return obj


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.ensure_object(Settings).json = True
    return value


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` on a command (the same as the global ``esqs --json``)."""
    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_json,
        help="Print one JSON document on stdout instead of tables.",
    )(fn)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def console() -> Console:
    """A rich console on stdout (plain text when stdout is not a terminal, then 120 columns
    wide so that tables written to files and pipes are not cut to 80)."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)


async def resolve_queue_url(sqs: EnterpriseSQS, queue: str) -> str:
    """A queue name or URL → its URL.

    Raises:
        QueueDoesNotExist: with a message that names the queue and the backend.
    """
    backend = sqs.get_sqs_client()
    if queue.startswith(("http://", "https://")):
        return queue
    try:
        return await backend.get_queue_url(queue)
    except QueueDoesNotExist as exc:
        raise QueueDoesNotExist(
            f"queue {queue!r} does not exist on {backend.name} "
            "(esqs queues list shows the queues there)"
        ) from exc


@contextmanager
def interruptible(describe: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C into :class:`Interrupted` saying what was done (``describe()``)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(describe()) from None


def run(
    main: Callable[[EnterpriseSQS], Awaitable[T]],
    *,
    default_backend: str | None = None,
    announce: bool = True,
    on_interrupt: Callable[[], str] | None = None,
    interrupt_is_normal: bool = False,
) -> T:
    """Run ``main(sqs)`` on a fresh client, closing it whatever happens.

    Ctrl-C cancels ``main`` (its ``finally`` blocks run and the client is closed); then
    ``on_interrupt()`` says what was done, on stderr, and the command exits 130 — or 0 when
    stopping is the normal way to end (``tail``, ``stats --watch``, ``work``).
    """
    options = settings()
    options.config(default_backend=default_backend)
    if announce:
        options.announce()

    async def body() -> T:
        sqs = options.client(default_backend=default_backend)
        try:
            return await main(sqs)
        finally:
            await asyncio.shield(sqs.aclose())

    try:
        return asyncio.run(body())
    except KeyboardInterrupt:
        said = on_interrupt() if on_interrupt is not None else "stopped"
        if interrupt_is_normal:
            click.echo(said, err=True)
            raise click.exceptions.Exit(EXIT_OK) from None
        raise Interrupted(said) from None


def fail(message: str) -> NoReturn:
    raise OperationFailed(message)


def write_err(text: str) -> None:
    sys.stderr.write(text + "\n")
