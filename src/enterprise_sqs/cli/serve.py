"""``esqs serve``: run the embedded engine as an SQS-compatible HTTP server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from enterprise_sqs.errors import ConfigurationError

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9324, show_default=True, type=int, help="0 picks a free port.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for queues.db (durable). Without it, queues live in memory.",
)
@click.option("--region", default="us-east-1", show_default=True)
@click.option("--account-id", default="000000000000", show_default=True)
@click.option("--base-url", help="URL clients reach the server at (default http://HOST:PORT).")
@click.option("--access-key-id", envvar="ESQS_SERVE_ACCESS_KEY_ID", help="Require SigV4 with it.")
@click.option(
    "--secret-access-key",
    envvar="ESQS_SERVE_SECRET_ACCESS_KEY",
    help="Secret for --access-key-id (prefer the environment variable).",
)
@click.option("--max-request-bytes", default=4 * 1024 * 1024, show_default=True, type=int)
@click.option("--shutdown-timeout", default=30.0, show_default=True, type=float)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve_command(
    host: str,
    port: int,
    data_dir: Path | None,
    region: str,
    account_id: str,
    base_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    max_request_bytes: int,
    shutdown_timeout: float,
    log_level: str,
) -> None:
    """Serve queues over the SQS API (JSON 1.0 and query protocols) for any SQS client.

    Without access keys every signature is accepted (development mode); with them, requests
    must be SigV4-signed with that key. Stops gracefully on SIGTERM/SIGINT.
    """
    from enterprise_sqs.server.config import ServerConfig
    from enterprise_sqs.server.run import serve

    if bool(access_key_id) != bool(secret_access_key):
        raise click.UsageError("give both --access-key-id and --secret-access-key, or neither")
    keys = {access_key_id: secret_access_key} if access_key_id and secret_access_key else {}
    try:
        config = ServerConfig(
            host=host,
            port=port,
            data_dir=data_dir,
            region=region,
            account_id=account_id,
            base_url=base_url,
            access_keys=keys,
            max_request_bytes=max_request_bytes,
            shutdown_timeout=shutdown_timeout,
        )
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from exc
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(config, announce=lambda line: click.echo(line)))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
