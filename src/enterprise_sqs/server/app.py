"""The aiohttp application: one route that speaks SQS, one health check.

Each request runs as its own aiohttp task, so a 20-second long poll never holds up anything else.
The path of a request is: read the body (size-limited) → verify SigV4 when keys are configured →
decode (JSON 1.0 if ``X-Amz-Target`` is present, else the query protocol) → type-check against the
service model → the operation's handler → render in the request's protocol. Every failure on that
path becomes SQS's error shape; an unexpected exception is logged and answered as
``InternalError`` without a traceback. The access log names the operation, queue, status and
duration only: never bodies, attributes, receipt handles or credentials.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import (
    ClientClosedError,
    ConfigurationError,
    InvalidParameterValue,
    ServiceUnavailable,
    SQSError,
)
from enterprise_sqs.server import query, sigv4
from enterprise_sqs.server.config import ServerConfig
from enterprise_sqs.server.errors import InvalidAction, MalformedRequest, RequestEntityTooLarge
from enterprise_sqs.server.operations import HANDLERS, Context
from enterprise_sqs.server.shapes import ServiceModel, service_model

__all__ = ["CONTEXT_KEY", "create_app"]

access_log = logging.getLogger("enterprise_sqs.server.access")
logger = logging.getLogger(__name__)

CONTEXT_KEY = web.AppKey("esqs_context", Context)
JSON_TYPE = "application/x-amz-json-1.0"
_TARGET_PREFIX = "AmazonSQS."
_MAX_FORM_FIELDS = 10_000


class _Request:
    """What one request turned out to be, filled in as decoding proceeds (for the log)."""

    __slots__ = ("is_json", "operation", "queue", "request_id")

    def __init__(self, is_json: bool) -> None:
        self.is_json = is_json
        self.operation = "-"
        self.queue = "-"
        self.request_id = str(uuid.uuid4())


def create_app(backend: Backend, config: ServerConfig, *, base_url: str) -> web.Application:
    """The SQS application over ``backend``; queue URLs start with ``base_url``."""
    app = web.Application(client_max_size=config.max_request_bytes)
    ctx = Context(backend, base_url=base_url, account_id=config.account_id)
    app[CONTEXT_KEY] = ctx
    model = service_model()
    unknown = set(model.operations) - set(HANDLERS)
    if unknown:  # a newer botocore with operations this server does not know yet
        logger.warning("SQS operations without a handler: %s", ", ".join(sorted(unknown)))
    endpoint = _Endpoint(ctx, config, model)
    app.router.add_get("/health", endpoint.health)
    app.router.add_route("*", "/{tail:.*}", endpoint.handle)
    return app


class _Endpoint:
    def __init__(self, ctx: Context, config: ServerConfig, model: ServiceModel) -> None:
        self.ctx = ctx
        self.config = config
        self.model = model
        self.secrets = dict(config.access_keys)
        self.in_flight = 0  # SQS requests being answered now (long polls included)

    async def health(self, request: web.Request) -> web.Response:
        count = 0
        token: str | None = None
        try:
            while True:
                page = await self.ctx.backend.list_queues(max_results=1000, next_token=token)
                count += len(page.queue_urls)
                token = page.next_token
                if not token:
                    break
        except (SQSError, ClientClosedError) as exc:
            body = {"status": "unavailable", "error": type(exc).__name__}
            return web.json_response(body, status=503)
        status = "stopping" if self.ctx.stopping.is_set() else "ok"
        return web.json_response(
            {"status": status, "queues": count, "requests_in_flight": self.in_flight}
        )

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        req = _Request("X-Amz-Target" in request.headers or "json" in request.content_type.lower())
        self.in_flight += 1
        try:
            response = await self._dispatch(request, req)
        except SQSError as exc:
            response = self._error(exc, req)
        except ClientClosedError as exc:
            response = self._error(ServiceUnavailable("The server is shutting down."), req)
            logger.debug("request during shutdown", exc_info=exc)
        except ConfigurationError as exc:
            # The engine refuses a value it could not even interpret; the caller's fault.
            response = self._error(InvalidParameterValue(str(exc)), req)
        except Exception:
            logger.exception("internal error in %s (request %s)", req.operation, req.request_id)
            response = self._error(SQSError("We encountered an internal error."), req)
        finally:
            self.in_flight -= 1
        response.headers["x-amzn-RequestId"] = req.request_id
        access_log.info(
            "%s %s %d %.1fms",
            req.operation,
            req.queue,
            response.status,
            (time.perf_counter() - started) * 1000,
            extra={
                "operation": req.operation,
                "queue": req.queue,
                "status": response.status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "request_id": req.request_id,
            },
        )
        return response

    async def _dispatch(self, request: web.Request, req: _Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise RequestEntityTooLarge(
                f"The request is larger than {self.config.max_request_bytes} bytes."
            ) from None
        if self.secrets:
            raw_path, _, raw_query = request.raw_path.partition("?")
            signed = sigv4.SignedRequest(
                method=request.method,
                path=raw_path,
                query=raw_query,
                headers=request.headers,
                body=body,
            )
            sigv4.verify(signed, self.secrets, region=self.config.region)
        if "X-Amz-Target" in request.headers:
            req.is_json = True
            operation, params = self._decode_json(request.headers["X-Amz-Target"], body, req)
        else:
            req.is_json = False
            operation, params = self._decode_query(request, body, req)
        req.queue = _queue_name(params)
        result = await HANDLERS[operation](self.ctx, params)
        _, output_shape = self.model.operations[operation]
        if req.is_json:
            text = json.dumps(result, separators=(",", ":"), default=_json_default)
            return web.Response(text=text, content_type=JSON_TYPE)
        xml = query.render_result(self.model, operation, output_shape, result, req.request_id)
        return web.Response(text=xml, content_type="text/xml")

    def _operation(self, name: str, req: _Request) -> str:
        if name not in HANDLERS or name not in self.model.operations:
            raise InvalidAction(f"The action {name[:100]} is not valid for this endpoint.")
        req.operation = name
        return name

    def _decode_json(self, target: str, body: bytes, req: _Request) -> tuple[str, dict[str, Any]]:
        if not target.startswith(_TARGET_PREFIX):
            raise InvalidAction(f"The target {target[:100]} is not an SQS operation.")
        operation = self._operation(target[len(_TARGET_PREFIX) :], req)
        try:
            raw = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError) as exc:
            raise MalformedRequest("The request body is not valid JSON.") from exc
        if not isinstance(raw, dict):
            raise MalformedRequest("The request body must be a JSON object.")
        input_shape, _ = self.model.operations[operation]
        if input_shape is None:
            return operation, {}
        return operation, self.model.check_json(input_shape, raw, "")

    def _decode_query(
        self, request: web.Request, body: bytes, req: _Request
    ) -> tuple[str, dict[str, Any]]:
        pairs = list(request.query.items())
        if body:
            try:
                pairs += parse_qsl(
                    body.decode("utf-8"),
                    keep_blank_values=True,
                    strict_parsing=False,
                    max_num_fields=_MAX_FORM_FIELDS,
                )
            except ValueError as exc:  # UnicodeDecodeError and too many fields are ValueErrors
                raise MalformedRequest("The request body is not a valid form.") from exc
        action = [v for k, v in pairs if k == "Action"]
        if len(action) != 1:
            raise InvalidAction(
                "Name the operation with an X-Amz-Target header (JSON 1.0) or one Action "
                "parameter (query protocol)."
            )
        operation = self._operation(action[0], req)
        tree = query.parse_form(pairs)
        if "QueueUrl" not in tree and request.path.count("/") == 2:
            # Older SDKs address a queue by posting to its URL instead of sending QueueUrl.
            tree["QueueUrl"] = self.ctx.base_url + request.path
        input_shape, _ = self.model.operations[operation]
        if input_shape is None:
            return operation, {}
        return operation, self.model.from_query(input_shape, tree, "")

    def _error(self, exc: SQSError, req: _Request) -> web.Response:
        status = exc.http_status if exc.http_status >= 400 else 500
        fault = "Sender" if exc.sender_fault else "Receiver"
        headers = {"x-amzn-query-error": f"{exc.actual_code};{fault}"}
        if req.is_json:
            body = {"__type": f"com.amazonaws.sqs#{exc.type_name}", "message": exc.message}
            return web.Response(
                text=json.dumps(body), status=status, content_type=JSON_TYPE, headers=headers
            )
        xml = query.render_error(exc, req.request_id)
        return web.Response(text=xml, status=status, content_type="text/xml", headers=headers)


def _json_default(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__}")  # pragma: no cover - our own results


def _queue_name(params: dict[str, Any]) -> str:
    url = params.get("QueueUrl")
    if isinstance(url, str):
        return urlsplit(url).path.rsplit("/", 1)[-1][:80] or "-"
    name = params.get("QueueName")
    return name[:80] if isinstance(name, str) else "-"
