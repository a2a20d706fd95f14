"""Malformed and hostile requests: never a 500, never a crash, always SQS's error shape.

Requests are signed with botocore (so they get past authentication and reach the parsers) or
not (so authentication itself is attacked). After every example the server must still answer.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.http import Reply, send
from tests.support.esqs_server import RunningServer

pytestmark = pytest.mark.slow

OPERATIONS = [
    "CreateQueue",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "SetQueueAttributes",
    "GetQueueAttributes",
    "ListQueues",
    "TagQueue",
    "AddPermission",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=25,
)
member_names = st.sampled_from(
    [
        "QueueUrl",
        "QueueName",
        "MessageBody",
        "Entries",
        "Attributes",
        "MessageAttributes",
        "MaxNumberOfMessages",
        "WaitTimeSeconds",
        "VisibilityTimeout",
        "ReceiptHandle",
        "Tags",
        "Label",
        "SourceArn",
        "TaskHandle",
        "DelaySeconds",
        "AWSAccountIds",
    ]
) | st.text(max_size=10)
json_bodies = st.dictionaries(member_names, json_values, max_size=6).map(
    lambda d: json.dumps(d).encode()
) | st.binary(max_size=200)
form_keys = st.sampled_from(
    [
        "Action",
        "QueueUrl",
        "QueueName",
        "Attribute.1.Name",
        "Attribute.1.Value",
        "SendMessageBatchRequestEntry.1.Id",
        "SendMessageBatchRequestEntry.1.MessageBody",
        "MessageAttribute.1.Value.DataType",
        "MessageAttribute.1",
        "MaxNumberOfMessages",
        "AttributeName.x",
        "Tag..Key",
    ]
) | st.text(alphabet=string.printable, max_size=12)
form_bodies = st.lists(
    st.tuples(form_keys, st.text(max_size=20) | st.sampled_from(OPERATIONS)), max_size=8
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass"))
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


def _check(reply: Reply, server: RunningServer) -> None:
    assert reply.status < 500, reply.body[:300]
    if reply.status >= 400:
        code, _, fault = reply.headers["x-amzn-query-error"].partition(";")
        assert code
        assert fault in ("Sender", "Receiver")
        if reply.headers["content-type"].startswith("application/x-amz-json-1.0"):
            body = reply.json()
            assert str(body["__type"]).startswith("com.amazonaws.sqs#")
            assert isinstance(body["message"], str)
        else:
            assert b"<ErrorResponse" in reply.body
    assert server.process.poll() is None, "the server died"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    target=st.sampled_from(OPERATIONS).map(lambda op: f"AmazonSQS.{op}")
    | st.text(max_size=30).filter(lambda t: t.isprintable()),
    body=json_bodies,
    sign=st.booleans(),
)
def test_hostile_json_requests(server: RunningServer, target: str, body: bytes, sign: bool) -> None:
    # Raw UTF-8 bytes on the wire: http.client sends header strings as latin-1.
    wire_target = target.encode("utf-8").decode("latin-1")
    headers = {"X-Amz-Target": wire_target, "Content-Type": "application/x-amz-json-1.0"}
    _check(send(server.url, headers=headers, body=body, sign=sign), server)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=form_bodies | st.binary(max_size=200), method=st.sampled_from(["POST", "GET", "PUT"]))
def test_hostile_query_requests(server: RunningServer, body: bytes, method: str) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    _check(send(server.url, method=method, headers=headers, body=body), server)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=st.sampled_from(["Authorization", "X-Amz-Date", "X-Amz-Target", "Content-Type", "X-Odd"]),
    value=header_values,
    path=st.sampled_from(["/", "/000000000000/q", "/%ff%fe", "/a/b/c/d", "/health/x"]),
)
def test_odd_headers_and_paths(server: RunningServer, name: str, value: str, path: str) -> None:
    headers = {"X-Amz-Target": "AmazonSQS.ListQueues", name: value}
    _check(send(server.url, path=path, headers=headers, body=b"{}", sign=False), server)


def test_huge_header_is_refused_without_harm(server: RunningServer) -> None:
    try:
        reply = send(server.url, headers={"X-Amz-Target": "A" * 100_000}, body=b"{}", sign=False)
    except ConnectionError:
        pass  # closing the connection on an oversized header is a fine answer
    else:
        assert 400 <= reply.status < 500
    assert send(server.url, method="GET", path="/health", sign=False).status == 200
