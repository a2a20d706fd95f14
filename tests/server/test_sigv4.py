"""Our SigV4 verifier against signatures made by botocore's own signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from enterprise_sqs.errors import InvalidClientTokenId, SignatureDoesNotMatch
from enterprise_sqs.server.errors import (
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestTimeTooSkewed,
)
from enterprise_sqs.server.sigv4 import SignedRequest, verify

SECRETS = {"AKIDEXAMPLE": "secret/with+odd=chars"}


def _signed(
    *,
    method: str = "POST",
    url: str = "http://localhost:9324/",
    body: bytes = b'{"QueueName": "q"}',
    region: str = "us-east-1",
    key: str = "AKIDEXAMPLE",
    secret: str = "secret/with+odd=chars",
) -> SignedRequest:
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={
            "X-Amz-Target": "AmazonSQS.CreateQueue",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    SigV4Auth(Credentials(key, secret), "sqs", region).add_auth(request)
    path, _, query = url.split("//", 1)[1].partition("/")[2].partition("?")
    headers = dict(request.headers.items())
    headers["Host"] = url.split("//", 1)[1].split("/", 1)[0]
    return SignedRequest(method=method, path="/" + path, query=query, headers=headers, body=body)


def test_botocore_signatures_verify() -> None:
    assert verify(_signed(), SECRETS, region="us-east-1") == "AKIDEXAMPLE"
    get = _signed(method="GET", url="http://h:1/000000000000/q?Action=ListQueues&A=b%20c", body=b"")
    assert verify(get, SECRETS, region="us-east-1") == "AKIDEXAMPLE"


def test_a_changed_body_is_refused() -> None:
    request = _signed()
    request.body = b'{"QueueName": "other"}'
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, SECRETS, region="us-east-1")


def test_a_changed_signed_header_is_refused() -> None:
    request = _signed()
    request.headers["x-amz-target"] = "AmazonSQS.DeleteQueue"
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, SECRETS, region="us-east-1")


def test_wrong_secret_unknown_key_and_other_region() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        verify(_signed(secret="nope"), SECRETS, region="us-east-1")
    with pytest.raises(InvalidClientTokenId):
        verify(_signed(key="AKIDOTHER"), SECRETS, region="us-east-1")
    with pytest.raises(SignatureDoesNotMatch, match="region"):
        verify(_signed(region="eu-west-1"), SECRETS, region="us-east-1")


def test_clock_skew_over_fifteen_minutes_is_refused() -> None:
    request = _signed()
    now = datetime.now(UTC)
    assert verify(request, SECRETS, region="us-east-1", now=now + timedelta(minutes=14))
    with pytest.raises(RequestTimeTooSkewed):
        verify(request, SECRETS, region="us-east-1", now=now + timedelta(minutes=16))
    with pytest.raises(RequestTimeTooSkewed):
        verify(request, SECRETS, region="us-east-1", now=now - timedelta(minutes=16))


def test_missing_and_malformed_authorization() -> None:
    request = _signed()
    del request.headers["authorization"]
    with pytest.raises(MissingAuthenticationToken):
        verify(request, SECRETS, region="us-east-1")
    request.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=x, Signature=zz"
    with pytest.raises(IncompleteSignature):
        verify(request, SECRETS, region="us-east-1")
    request = _signed()
    del request.headers["x-amz-date"]
    with pytest.raises(IncompleteSignature):
        verify(request, SECRETS, region="us-east-1")


def test_errors_never_contain_the_secret() -> None:
    for bad in (_signed(secret="nope"), _signed(region="eu-west-1")):
        with pytest.raises(SignatureDoesNotMatch) as caught:
            verify(bad, SECRETS, region="us-east-1")
        assert "secret" not in str(caught.value)
