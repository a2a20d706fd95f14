"""The wire details clients depend on, checked byte by byte with raw HTTP requests."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

import pytest

from tests.server.http import json_call, send
from tests.support.esqs_server import RunningServer

pytestmark = pytest.mark.slow
NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_health_reports_status_and_queue_count(server: RunningServer) -> None:
    json_call(server.url, "CreateQueue", {"QueueName": f"health-{uuid.uuid4().hex[:8]}"})
    reply = send(server.url, method="GET", path="/health", sign=False)
    assert reply.status == 200
    body = reply.json()
    assert body["status"] == "ok"
    assert isinstance(body["queues"], int)
    assert body["queues"] >= 1


def test_json_error_shape(server: RunningServer) -> None:
    reply = json_call(server.url, "GetQueueUrl", {"QueueName": "does-not-exist-anywhere"})
    assert reply.status == 400
    assert reply.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert reply.headers["content-type"].startswith("application/x-amz-json-1.0")
    assert reply.json() == {
        "__type": "com.amazonaws.sqs#QueueDoesNotExist",
        "message": "The specified queue does not exist.",
    }
    assert reply.headers["x-amzn-requestid"]


def test_query_error_shape(server: RunningServer) -> None:
    body = urlencode(
        {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "nope-nope"}
    ).encode()
    reply = send(server.url, headers=FORM, body=body)
    assert reply.status == 400
    root = ET.fromstring(reply.body)
    assert root.tag == f"{NS}ErrorResponse"
    assert root.findtext(f"{NS}Error/{NS}Type") == "Sender"
    assert root.findtext(f"{NS}Error/{NS}Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert root.findtext(f"{NS}RequestId") == reply.headers["x-amzn-requestid"]


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({"X-Amz-Target": "AmazonSQS.Nope"}, b"{}", "InvalidAction"),
        ({"X-Amz-Target": "Other.ListQueues"}, b"{}", "InvalidAction"),
        ({"X-Amz-Target": "AmazonSQS.ListQueues"}, b"{not json", "SerializationException"),
        ({"X-Amz-Target": "AmazonSQS.ListQueues"}, b"[1]", "SerializationException"),
        (
            {"X-Amz-Target": "AmazonSQS.ListQueues"},
            b'{"MaxResults": "x"}',
            "SerializationException",
        ),
        ({"X-Amz-Target": "AmazonSQS.SendMessage"}, b'{"MessageBody": "x"}', "MissingParameter"),
        ({"X-Amz-Target": "AmazonSQS.ListQueues"}, b"[" * 100_000, "SerializationException"),
        (FORM, b"Action=Nope", "InvalidAction"),
        (FORM, b"Version=2012-11-05", "InvalidAction"),
        (FORM, b"Action=ListQueues&MaxResults=abc", "InvalidParameterValue"),
        (FORM, b"Action=GetQueueUrl", "MissingParameter"),
        (FORM, b"Action=ListQueues&\xff\xfe=1", "SerializationException"),
    ],
)
def test_bad_requests_get_sqs_errors(
    server: RunningServer, headers: dict[str, str], body: bytes, code: str
) -> None:
    reply = send(server.url, headers=headers, body=body)
    assert reply.status == 400
    assert reply.headers["x-amzn-query-error"] == f"{code};Sender"


def test_a_request_over_the_size_limit_is_refused(server: RunningServer) -> None:
    body = json.dumps({"QueueUrl": "x", "MessageBody": "x" * (5 * 1024 * 1024)}).encode()
    reply = send(server.url, headers={"X-Amz-Target": "AmazonSQS.SendMessage"}, body=body)
    assert reply.status == 413
    assert reply.headers["x-amzn-query-error"] == "RequestEntityTooLarge;Sender"
    assert reply.json()["__type"] == "com.amazonaws.sqs#RequestEntityTooLarge"


def test_unsigned_and_badly_signed_requests_are_refused(server: RunningServer) -> None:
    unsigned = json_call(server.url, "ListQueues", {}, sign=False)
    assert unsigned.status == 403
    assert unsigned.headers["x-amzn-query-error"] == "MissingAuthenticationToken;Sender"
    wrong = json_call(server.url, "ListQueues", {}, secret="wrong")
    assert wrong.status == 403
    assert wrong.json()["__type"] == "com.amazonaws.sqs#SignatureDoesNotMatch"


def test_query_over_get_addressed_by_queue_path(server: RunningServer) -> None:
    """Older SDKs post to the queue's URL and may use GET; both work."""
    name = f"bypath-{uuid.uuid4().hex[:8]}"
    created = send(
        server.url,
        headers=FORM,
        body=urlencode({"Action": "CreateQueue", "QueueName": name}).encode(),
    )
    assert created.status == 200
    queue_url = ET.fromstring(created.body).findtext(f"{NS}CreateQueueResult/{NS}QueueUrl")
    assert queue_url is not None
    assert queue_url.endswith(f"/{name}")
    path = urlsplit(queue_url).path
    sent = send(
        server.url,
        method="GET",
        path=path + "?" + urlencode({"Action": "SendMessage", "MessageBody": "via path"}),
    )
    assert sent.status == 200, sent.body
    md5 = ET.fromstring(sent.body).findtext(f"{NS}SendMessageResult/{NS}MD5OfMessageBody")
    assert md5 is not None
    assert re.fullmatch(r"[0-9a-f]{32}", md5)
    got = send(
        server.url,
        path=path,
        headers=FORM,
        body=urlencode({"Action": "ReceiveMessage", "AttributeName.1": "All"}).encode(),
    )
    message = ET.fromstring(got.body).find(f"{NS}ReceiveMessageResult/{NS}Message")
    assert message is not None
    assert message.findtext(f"{NS}Body") == "via path"
    names = {a.findtext(f"{NS}Name") for a in message.findall(f"{NS}Attribute")}
    assert "SentTimestamp" in names


def test_queue_urls_with_another_host_spelling_work(server: RunningServer) -> None:
    """Clients reach the server as localhost or 127.0.0.1; queue URLs work either way."""
    name = f"host-{uuid.uuid4().hex[:8]}"
    url = json_call(server.url, "CreateQueue", {"QueueName": name}).json()["QueueUrl"]
    assert isinstance(url, str)
    other = url.replace("127.0.0.1", "localhost")
    reply = json_call(server.url, "SendMessage", {"QueueUrl": other, "MessageBody": "x"})
    assert reply.status == 200
