"""boto3 against ``esqs serve`` over both protocols: JSON 1.0 (today's botocore) and query (the
last query-protocol model botocore shipped, so the client really sends forms and parses XML)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.server.conftest import sdk_client
from tests.support.esqs_server import RunningServer

pytestmark = pytest.mark.slow


@pytest.fixture(params=["json", "query"])
def client(request: pytest.FixtureRequest, server: RunningServer) -> Any:
    return sdk_client(server.url, request.param)


def _name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def test_the_query_client_really_speaks_query(server: RunningServer) -> None:
    client = sdk_client(server.url, "query")
    assert client.meta.service_model.protocol == "query"
    sent: list[Any] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.body))
    client.list_queues()
    assert "Action=ListQueues" in str(sent[0])


def test_send_receive_delete_with_attributes(client: Any) -> None:
    url = client.create_queue(QueueName=_name("basic"), Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    body = "héllo & <world> \r\n"
    sent = client.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={
            "text": {"DataType": "String", "StringValue": "v"},
            "num": {"DataType": "Number.int", "StringValue": "42"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )  # botocore verifies both MD5s of what it sent
    got = client.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
        WaitTimeSeconds=1,
    )["Messages"]
    assert [m["MessageId"] for m in got] == [sent["MessageId"]]
    message = got[0]  # botocore verified MD5OfBody and MD5OfMessageAttributes
    assert message["Body"] == body
    assert message["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\xff"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_batches_report_partial_failures(client: Any) -> None:
    url = client.create_queue(QueueName=_name("batch"))["QueueUrl"]
    result = client.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "1"},
            {"Id": "late", "MessageBody": "2", "DelaySeconds": 901},
            {"Id": "ok2", "MessageBody": "3"},
        ],
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["ok", "ok2"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in result["Failed"]] == [
        ("late", "InvalidParameterValue", True)
    ]
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)[
        "Messages"
    ]
    while len(messages) < 2:
        messages += client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    changed = client.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"c{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 60}
            for i, m in enumerate(messages)
        ],
    )
    assert len(changed["Successful"]) == 2
    deleted = client.delete_message_batch(
        QueueUrl=url,
        Entries=[
            *({"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)),
            {"Id": "bad", "ReceiptHandle": "not-a-handle"},
        ],
    )
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1"]
    assert [f["Code"] for f in deleted["Failed"]] == ["ReceiptHandleIsInvalid"]


def test_whole_request_errors_raise_the_sdks_exceptions(client: Any) -> None:
    with pytest.raises(client.exceptions.QueueDoesNotExist) as caught:
        client.get_queue_url(QueueName=_name("missing"))
    error = caught.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["Message"] == "The specified queue does not exist."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    url = client.create_queue(QueueName=_name("errs"))["QueueUrl"]
    with pytest.raises(client.exceptions.TooManyEntriesInBatchRequest):
        client.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)]
        )
    with pytest.raises(client.exceptions.ReceiptHandleIsInvalid):
        client.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    with pytest.raises(ClientError) as invalid:
        client.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert invalid.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_fifo_order_dedup_and_groups(client: Any) -> None:
    url = client.create_queue(
        QueueName=_name("order") + ".fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for i in range(5):
        client.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    dup = client.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
    assert dup["SequenceNumber"]
    bodies: list[str] = []
    while len(bodies) < 5:
        batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in batch.get("Messages", []):
            bodies.append(m["Body"])
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert bodies == [f"m{i}" for i in range(5)]
    assert "Messages" not in client.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    with pytest.raises(ClientError) as caught:
        client.send_message(QueueUrl=url, MessageBody="x")
    assert caught.value.response["Error"]["Code"] == "MissingParameter"


def test_dead_letter_redrive_with_a_move_task(client: Any) -> None:
    dlq = client.create_queue(QueueName=_name("dlq"))["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = client.create_queue(
        QueueName=_name("src"),
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
            "VisibilityTimeout": "0",
        },
    )["QueueUrl"]
    assert client.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    client.send_message(QueueUrl=source, MessageBody="poison")
    assert client.receive_message(QueueUrl=source, WaitTimeSeconds=1)["Messages"]
    # The second receive exceeds maxReceiveCount: the message moves to the DLQ instead.
    assert "Messages" not in client.receive_message(QueueUrl=source, WaitTimeSeconds=0)
    assert _count(client, dlq) == 1
    task = client.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    deadline = time.monotonic() + 20
    tasks = client.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    while tasks[0]["Status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)  # the move task runs inside the server; there is nothing to wait on
        tasks = client.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert tasks[0]["Status"] == "COMPLETED"
    assert tasks[0]["ApproximateNumberOfMessagesMoved"] == 1
    assert _count(client, dlq) == 0
    assert task
    moved = client.receive_message(QueueUrl=source, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]


def _count(client: Any, url: str) -> int:
    attrs = client.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_tags_listing_and_permissions(client: Any) -> None:
    stem = _name("admin")
    url = client.create_queue(QueueName=stem, tags={"team": "a"})["QueueUrl"]
    client.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    client.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert client.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    assert client.list_queues(QueueNamePrefix=stem)["QueueUrls"] == [url]
    assert client.get_queue_url(QueueName=stem)["QueueUrl"] == url
    client.add_permission(
        QueueUrl=url, Label="p1", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
    )
    policy = json.loads(
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert [s["Sid"] for s in policy["Statement"]] == ["p1"]
    with pytest.raises(ClientError) as caught:
        client.add_permission(
            QueueUrl=url, Label="p1", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    client.remove_permission(QueueUrl=url, Label="p1")
    attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert "Policy" not in attrs.get("Attributes", {})
    client.purge_queue(QueueUrl=url)
    client.delete_queue(QueueUrl=url)
    with pytest.raises(client.exceptions.QueueDoesNotExist):
        client.get_queue_attributes(QueueUrl=url)


def test_wrong_secret_and_unknown_key_are_refused(server: RunningServer) -> None:
    wrong = sdk_client(server.url, secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as caught:
        wrong.list_queues()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = sdk_client(server.url, "query", access_key_id="AKIDUNKNOWN")
    with pytest.raises(ClientError) as caught:
        unknown.list_queues()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
