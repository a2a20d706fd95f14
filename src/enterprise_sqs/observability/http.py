"""HTTP endpoints for workers: ``/livez``, ``/readyz``, ``/healthz`` and ``/metrics``.

Started on request only (``server = await sqs.start_http_server(port=9090)``; the CLI's worker
command does it), never by importing or creating a client::

    GET /livez    200 unless a liveness check is unhealthy (stuck poll loops), else 503
    GET /readyz   200 unless a readiness check is unhealthy (backend unreachable, …), else 503
    GET /healthz  every check, 200 or 503, as JSON (status, details, timestamp)
    GET /metrics  the Prometheus text format (501 if prometheus-client is not installed)

Kubernetes: point the liveness probe at ``/livez`` and the readiness probe at ``/readyz``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.observability.health import HealthStatus

__all__ = ["ObservabilityServer"]

logger = logging.getLogger(__name__)

Check = Callable[[], Awaitable[HealthStatus]]


class ObservabilityServer:
    """An aiohttp server with the four endpoints. ``await aclose()`` stops it (safe twice).

    Args:
        liveness, readiness, health: return the status each endpoint reports.
        metrics: returns ``(body, content_type)`` for ``/metrics``, or ``None`` to answer 501.
    """

    def __init__(
        self,
        *,
        liveness: Check,
        readiness: Check,
        health: Check,
        metrics: Callable[[], tuple[bytes, str]] | None,
    ) -> None:
        self._checks = {"/livez": liveness, "/readyz": readiness, "/healthz": health}
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0

    def __repr__(self) -> str:
        return f"ObservabilityServer(url={self.url!r})"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 9090) -> None:
        """Listen on ``host:port`` (``port=0``: any free port, then read :attr:`port`).

        Raises:
            ConfigurationError: a bad port, or the address cannot be bound.
        """
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an int from 0 to 65535, got {port!r}")
        if self._runner is not None:
            raise ConfigurationError(f"{self!r} is already started")
        app = web.Application()
        for path in self._checks:
            app.router.add_get(path, self._health)
        app.router.add_get("/metrics", self._render_metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc}") from exc
        self._runner = runner
        server = site._server  # aiohttp exposes the bound sockets only here
        sockets = getattr(server, "sockets", None) or []
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        logger.info("observability endpoints listening", extra={"url": self.url})

    async def aclose(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        status = await self._checks[request.path]()
        code = 503 if status.status == "unhealthy" else 200
        return web.Response(
            status=code,
            text=json.dumps(status.as_dict(), default=str),
            content_type="application/json",
        )

    async def _render_metrics(self, request: web.Request) -> web.Response:
        if self._metrics is None:
            return web.Response(
                status=501,
                text="metrics export needs prometheus-client: "
                "pip install 'enterprise-sqs[prometheus]'\n",
            )
        body, content_type = self._metrics()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response
