"""A hand-written AWS JSON 1.0 path for the hot SQS operations, beside aiobotocore.

Hand-written for a measured gain. In ``benchmarks/publisher_client_cost.py`` (1 KiB JSON
messages, a canned-response endpoint, steady state, 2 shared cores, medians of 3 runs) the
publisher cost ~106 µs of client CPU per message through aiobotocore, 7.2x less than a boto3
``send_message`` loop (~790 µs): most of it botocore's per-request machinery (user-agent
assembly, parameter validation, the serializer's and parser's walks over the shape model, a
dozen event hooks), not the HTTP exchange. Through this module it costs ~62 µs (12.8x). Of what
is left, about a fifth is botocore's SigV4Auth (mostly its header bookkeeping); the rest is
JSON, the MD5 checks, aiohttp and asyncio.

What is hand-written is only the mechanical part: the JSON body and ``X-Amz-Target`` header,
sending on an aiohttp session, and reading a successful JSON answer. Everything with judgement
in it stays botocore's: credentials come from the same aiobotocore session (refreshed through its
own provider, so assumed-role and instance credentials keep rotating), requests are signed by
botocore's ``SigV4Auth``, the endpoint and region are those the aiobotocore client resolved, and
an error answer is parsed by botocore's JSON parser into the same ``ClientError`` aiobotocore
would raise, so :func:`~enterprise_sqs.backends.aws_translate.translate_error` maps it exactly as
for every other call. Transport failures become the botocore exceptions aiobotocore raises for
them, for the same reason.

Nothing here logs a header or a body: signed headers carry the access key id and session token.
(SigV4Auth itself logs the canonical request at DEBUG under ``botocore.auth``, filtered by
:mod:`enterprise_sqs.backends.aws_redact` exactly as for aiobotocore's calls.)
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
from botocore import exceptions as boto_exc
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpsession import ProxyConfiguration
from botocore.parsers import create_parser
from botocore.utils import get_environ_proxies

__all__ = ["WireSQS"]

logger = logging.getLogger("enterprise_sqs.backends.aws")

_CONTENT_TYPE = "application/x-amz-json-1.0"
# aiohttp warns (ResourceWarning) that a raw bytes body over 1 MiB may block the event loop, and
# a full 1 MiB batch plus its JSON framing is over that: hand such bodies over as a stream.
_STREAM_BODIES_OVER = 1024 * 1024
# What aiobotocore keeps an idle connection for (its DEFAULT_KEEPALIVE_TIMEOUT).
_KEEPALIVE_SECONDS = 12.0


class WireSQS:
    """Sends AWS JSON 1.0 SQS requests, signed with botocore's SigV4, on its own aiohttp session.

    Built by :class:`~enterprise_sqs.backends.aws.AWSBackend` from its open aiobotocore client;
    use from one event loop. ``credentials`` is a botocore credentials object with an async
    ``get_frozen_credentials()`` (aiobotocore's static or refreshable credentials).
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        signing_name: str,
        credentials: Any,
        service_model: Any,
        user_agent: str,
        ssl_context: ssl.SSLContext | None,
        proxies: Mapping[str, str] | None,
        connect_timeout: float,
        read_timeout: float,
        max_pool_connections: int,
    ) -> None:
        self._url = endpoint_url.rstrip("/") + "/"
        self._region = region
        self._signing_name = signing_name
        self._credentials = credentials
        self._service_model = service_model
        self._target_prefix = str(service_model.metadata["targetPrefix"])
        self._query_compatible = "awsQueryCompatible" in service_model.metadata
        self._user_agent = user_agent
        self._parser = create_parser(service_model.protocol)
        # The proxy botocore would use (the client's ``proxies`` config, else HTTP(S)_PROXY
        # unless NO_PROXY matches), resolved once as botocore does at client creation. Not
        # aiohttp's trust_env: that looks up netrc and proxies in a thread on every request.
        proxy_config = ProxyConfiguration(proxies=proxies or get_environ_proxies(self._url))
        self._proxy: str | None = proxy_config.proxy_url_for(self._url) or None
        self._proxy_headers: dict[str, str] | None = (
            proxy_config.proxy_headers_for(self._proxy) or None if self._proxy else None
        )
        # Same limits as aiobotocore's session: per-connection connect and read timeouts, no
        # overall deadline (a long poll is one slow read), the same pool size and keep-alive.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=max_pool_connections,
                keepalive_timeout=_KEEPALIVE_SECONDS,
                ssl=ssl_context if ssl_context is not None else True,
            ),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=connect_timeout, sock_read=read_timeout
            ),
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding",),
        )

    async def aclose(self) -> None:
        await self._session.close()

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """``operation`` (``"SendMessageBatch"``) with JSON-ready ``params``; the parsed answer.

        Raises:
            botocore.exceptions.ClientError: the service answered with an error.
            botocore.exceptions.BotoCoreError: no usable credentials, or a transport failure
                (the same classes aiobotocore raises, for ``translate_error``).
        """
        body = json.dumps(params, separators=(",", ":")).encode("utf-8")
        headers = await self._signed_headers(operation, body)
        data: bytes | io.BytesIO = body
        if len(body) > _STREAM_BODIES_OVER:
            data = io.BytesIO(body)
        try:
            async with self._session.post(
                self._url,
                data=data,
                headers=headers,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            ) as response:
                status = response.status
                raw = await response.read()
                if status >= 300:
                    response_headers = {k.lower(): v for k, v in response.headers.items()}
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _transport_error(self._url, exc) from exc
        if status < 300:
            if not raw:
                return {}
            try:
                answer = json.loads(raw)
            except ValueError as exc:
                raise boto_exc.ResponseParserError(
                    error=f"the endpoint answered {operation} with a body that is not JSON"
                ) from exc
            if not isinstance(answer, dict):
                raise boto_exc.ResponseParserError(
                    error=f"the endpoint answered {operation} with JSON that is not an object"
                )
            return answer
        logger.debug("%s.%s answered HTTP %s", self._target_prefix, operation, status)
        # botocore's own parser reads the error, so codes and messages come out exactly as for
        # calls made through aiobotocore (query-compatible codes, HTML pages from proxies, ...).
        output_shape = self._service_model.operation_model(operation).output_shape
        parsed = self._parser.parse(
            {"status_code": status, "headers": response_headers, "body": raw}, output_shape
        )
        raise boto_exc.ClientError(parsed, operation)

    async def _signed_headers(self, operation: str, body: bytes) -> dict[str, str]:
        # Frozen per request: refreshable credentials rotate inside the provider, and a request
        # must be signed with one consistent (key, secret, token) triple.
        if self._credentials is None:
            raise boto_exc.NoCredentialsError()
        frozen = await self._credentials.get_frozen_credentials()
        headers = {
            "Content-Type": _CONTENT_TYPE,
            "X-Amz-Target": f"{self._target_prefix}.{operation}",
        }
        if self._query_compatible:
            headers["x-amzn-query-mode"] = "true"
        request = AWSRequest(method="POST", url=self._url, data=body, headers=headers)
        SigV4Auth(frozen, self._signing_name, self._region).add_auth(request)
        signed = dict(request.headers.items())
        # Not signed (SigV4 leaves User-Agent out), as botocore sends them.
        signed["User-Agent"] = self._user_agent
        signed["Accept-Encoding"] = "identity"
        return signed


def _transport_error(url: str, exc: Exception) -> Any:  # botocore is untyped
    """The botocore exception aiobotocore raises for this aiohttp failure."""
    if isinstance(exc, boto_exc.BotoCoreError):
        return exc
    if isinstance(exc, aiohttp.ClientSSLError):
        return boto_exc.SSLError(endpoint_url=url, error=exc)
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return boto_exc.ProxyConnectionError(proxy_url="<proxy>", error=exc)
    if isinstance(
        exc,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.http_exceptions.BadStatusLine,
    ):
        return boto_exc.ConnectionClosedError(endpoint_url=url, error=exc)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        if str(exc).lower().startswith("connect"):
            return boto_exc.ConnectTimeoutError(endpoint_url=url, error=exc)
        return boto_exc.ReadTimeoutError(endpoint_url=url, error=exc)
    if isinstance(exc, aiohttp.ClientConnectionError | socket.gaierror):
        return boto_exc.EndpointConnectionError(endpoint_url=url, error=exc)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return boto_exc.ReadTimeoutError(endpoint_url=url, error=exc)
    return boto_exc.HTTPClientError(error=exc)
