"""A tiny real HTTP server that speaks just enough SQS JSON to answer what a test scripts.

For behaviour no honest server produces on demand — a wrong MD5, a 500, throttling, a request
that never gets an answer — the AWS backend is pointed at this server over real sockets, so
botocore's parsing and aiohttp's transport are exercised exactly as against Amazon SQS.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

# operation name (``SendMessageBatch``) and request JSON -> (HTTP status, headers, body JSON)
Handler = Callable[[str, dict[str, Any]], tuple[int, dict[str, str], dict[str, Any]]]


class FakeSQS:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "").removeprefix("AmazonSQS.")
        payload = json.loads(await request.text() or "{}")
        self.requests.append((operation, payload))
        self.headers.append(dict(request.headers))
        status, headers, body = self.handler(operation, payload)
        return web.Response(
            status=status,
            headers={"Content-Type": "application/x-amz-json-1.0", **headers},
            text=json.dumps(body),
        )


def sqs_error(
    code: str, type_name: str, message: str, status: int = 400
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """An error answer shaped as Amazon SQS sends it (JSON body plus the query-error header)."""
    fault = "Sender" if status < 500 else "Receiver"
    return (
        status,
        {"x-amzn-query-error": f"{code};{fault}"},
        {"__type": f"com.amazonaws.sqs#{type_name}", "message": message},
    )


@asynccontextmanager
async def fake_sqs(handler: Handler) -> AsyncIterator[FakeSQS]:
    fake = FakeSQS(handler)
    app = web.Application()
    app.router.add_post("/", fake._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    port = server.sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers: every request times out."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        release.set()
        server.close()
        await server.wait_closed()
