"""Running the server: bind, announce, serve until SIGTERM/SIGINT, then stop without loss.

Shutdown order matters: stop accepting connections; tell long polls to answer now (empty);
let requests in flight finish (up to ``shutdown_timeout``); only then close the engine, which
commits and closes the database. A message is acknowledged only after the engine committed it, so
nothing acknowledged is lost, whatever moment the signal arrives.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable

from aiohttp import web

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.server.app import CONTEXT_KEY, create_app
from enterprise_sqs.server.config import ServerConfig

__all__ = ["bind", "open_engine", "serve", "startup_line"]


def bind(config: ServerConfig) -> socket.socket:
    """A listening socket for ``config`` (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def open_engine(config: ServerConfig, base_url: str) -> Backend:
    """The embedded engine on ``DATA_DIR/queues.db`` (or in memory), with public queue URLs."""
    from enterprise_sqs.engine.backend import EngineBackend

    database = config.database
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    return EngineBackend(
        None if database is None else str(database),
        region=config.region,
        account_id=config.account_id,
        base_url=base_url,
    )


def startup_line(config: ServerConfig, base_url: str, bound: str) -> str:
    data = str(config.database) if config.database is not None else "in memory (not durable)"
    if config.auth_enabled:
        auth = f"on (SigV4, {len(config.access_keys)} access key(s))"
    else:
        auth = "off (development mode: any signature accepted)"
    return (
        f"esqs serve listening on {bound}, queue URLs {base_url}/{config.account_id}/NAME, "
        f"region {config.region}, data {data}, auth {auth}"
    )


async def serve(
    config: ServerConfig,
    *,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or until ``stop`` is set), then shut down gracefully."""
    sock = bind(config)
    port = int(sock.getsockname()[1])
    base_url = config.url_for(port)
    backend = open_engine(config, base_url)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    try:
        app = create_app(backend, config, base_url=base_url)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=config.shutdown_timeout
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            for sig in signals:
                loop.add_signal_handler(sig, stop.set)
            host, bound_port = sock.getsockname()[:2]
            announce(startup_line(config, base_url, f"http://{host}:{bound_port}"))
            await stop.wait()
            app[CONTEXT_KEY].stopping.set()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await runner.cleanup()
    finally:
        await backend.aclose()
        sock.close()
