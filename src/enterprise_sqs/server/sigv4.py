"""AWS Signature Version 4 verification, with nothing but :mod:`hmac` and :mod:`hashlib`.

A signed request carries ``Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/sqs/
aws4_request, SignedHeaders=a;b;c, Signature=HEX`` and an ``X-Amz-Date``. Verification rebuilds
what the client signed and compares in constant time:

1. the canonical request: method, URI-encoded path, sorted URI-encoded query parameters, the
   signed headers (lower-case names, trimmed values with runs of spaces collapsed), the signed
   header names, and the payload's SHA-256 (``X-Amz-Content-SHA256`` if sent, else computed);
2. the string to sign: ``AWS4-HMAC-SHA256``, the request time, the scope, SHA-256 of (1);
3. the signing key: HMAC-SHA256 chained over ``"AWS4" + secret``, date, region, ``sqs``,
   ``aws4_request``; the signature is HMAC-SHA256 of (2) under that key.

Refusals use the codes AWS uses (all HTTP 403): ``MissingAuthenticationToken``,
``IncompleteSignature`` (a malformed header or a scope that names another date, region or service),
``InvalidClientTokenId`` (unknown access key), ``RequestTimeTooSkewed`` (more than 15 minutes from
the server's clock) and ``SignatureDoesNotMatch``. Messages never contain the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from enterprise_sqs.errors import InvalidClientTokenId, SignatureDoesNotMatch
from enterprise_sqs.server.errors import (
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestTimeTooSkewed,
)

__all__ = ["MAX_SKEW_SECONDS", "SignedRequest", "verify"]

MAX_SKEW_SECONDS = 15 * 60
_ALGORITHM = "AWS4-HMAC-SHA256"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<headers>[^,\s]+)\s*,\s*Signature=(?P<sig>[0-9a-fA-F]{64})\s*$"
)
_SPACES = re.compile(r"\s+")


class SignedRequest:
    """The parts of an HTTP request that SigV4 covers."""

    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query  # the raw query string, as sent
        # Header names are case-insensitive; several values of one header join with commas.
        self.headers: dict[str, str] = {}
        for name, value in headers.items():
            key = name.lower()
            self.headers[key] = f"{self.headers[key]},{value}" if key in self.headers else value
        self.body = body


def verify(
    request: SignedRequest,
    secrets: Mapping[str, str],
    *,
    region: str,
    now: datetime | None = None,
    service: str = "sqs",
) -> str:
    """Verify a request's SigV4 signature; return the access key id that signed it.

    Raises:
        MissingAuthenticationToken, IncompleteSignature, InvalidClientTokenId,
        RequestTimeTooSkewed, SignatureDoesNotMatch: each as AWS answers (403).
    """
    auth = request.headers.get("authorization")
    if not auth:
        raise MissingAuthenticationToken()
    match = _AUTH.match(auth)
    if match is None:
        raise IncompleteSignature(
            "Authorization header requires Credential, SignedHeaders and Signature, "
            f"signed with {_ALGORITHM}."
        )
    scope_parts = match["cred"].split("/")
    if len(scope_parts) != 5:
        raise IncompleteSignature("Credential must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request.")
    key_id, date, scope_region, scope_service, terminator = scope_parts
    amz_date = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise IncompleteSignature("X-Amz-Date must be given as YYYYMMDDTHHMMSSZ.") from None
    if date != amz_date[:8] or scope_service != service or terminator != "aws4_request":
        raise IncompleteSignature(
            f"Credential should be scoped to a valid date, region and service: "
            f"{amz_date[:8]}/{region}/{service}/aws4_request."
        )
    if scope_region != region:
        raise SignatureDoesNotMatch(
            f"Credential should be scoped to a valid region. This server is in {region}."
        )
    secret = secrets.get(key_id)
    if secret is None:
        raise InvalidClientTokenId()
    current = now or datetime.now(UTC)
    if abs((current - signed_at).total_seconds()) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed(
            f"Signature expired or not yet valid: {amz_date} is more than 15 minutes from "
            f"the server time {current.strftime('%Y%m%dT%H%M%SZ')}."
        )
    signed_headers = match["headers"].split(";")
    if "host" not in signed_headers:
        raise IncompleteSignature("The Host header must be signed.")
    missing = [h for h in signed_headers if h not in request.headers]
    if missing:
        raise IncompleteSignature(f"Signed header {missing[0]} is not in the request.")
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed and claimed != "UNSIGNED-PAYLOAD":
        actual = hashlib.sha256(request.body).hexdigest()
        if not hmac.compare_digest(claimed.lower(), actual):
            raise SignatureDoesNotMatch(
                "The provided X-Amz-Content-SHA256 does not match the body."
            )
    scope = f"{date}/{region}/{service}/aws4_request"
    key = _signing_key(secret, date, region, service)
    # The spec re-encodes query parameters; botocore signs them as sent. Either form is accepted.
    for normalize in (True, False):
        canonical = canonical_request(request, signed_headers, normalize_query=normalize)
        to_sign = "\n".join((_ALGORITHM, amz_date, scope, _sha256(canonical)))
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, match["sig"].lower()):
            return key_id
        if not request.query:
            break
    raise SignatureDoesNotMatch()


def canonical_request(
    request: SignedRequest, signed_headers: list[str], *, normalize_query: bool = True
) -> str:
    """SigV4's canonical form of a request (step 1 above)."""
    path = quote(request.path or "/", safe="/~")
    pairs = [p.partition("=")[::2] for p in request.query.split("&") if p]
    if normalize_query:
        pairs = [(quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")) for k, v in pairs]
    query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    headers = "".join(
        f"{h}:{_SPACES.sub(' ', request.headers[h].strip())}\n" for h in signed_headers
    )
    payload = (
        request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    )
    return "\n".join(
        (request.method.upper(), path, query, headers, ";".join(signed_headers), payload)
    )


def _sha256(text: str) -> str:
    # Header values arrive as UTF-8 with undecodable bytes escaped; hash the bytes as sent.
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8", "surrogateescape")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return key
