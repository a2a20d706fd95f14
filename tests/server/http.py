"""Raw HTTP to the server, optionally SigV4-signed by botocore's own signer."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.esqs_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


def send(
    base_url: str,
    *,
    method: str = "POST",
    path: str = "/",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    sign: bool = True,
    secret: str = SECRET_ACCESS_KEY,
    timeout: float = 30,
) -> Reply:
    parts = urlsplit(base_url)
    headers = dict(headers or {})
    if sign:
        request = AWSRequest(method=method, url=base_url + path, data=body, headers=headers)
        SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "sqs", "us-east-1").add_auth(request)
        headers = dict(request.headers.items())
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def json_call(base_url: str, operation: str, params: object, **kwargs: object) -> Reply:
    return send(
        base_url,
        headers={
            "X-Amz-Target": f"AmazonSQS.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
        body=json.dumps(params).encode(),
        **kwargs,  # type: ignore[arg-type]
    )
