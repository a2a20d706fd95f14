"""The protocol layer without a backend: both protocols decode to the same typed parameters.

botocore's own serializers produce the requests: its JSON serializer with today's model and its
query serializer with the last query-protocol SQS model botocore shipped (tests/server/data).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.model import ServiceModel as BotoModel
from botocore.serialize import create_serializer

from enterprise_sqs.errors import InvalidParameterValue, MissingParameter
from enterprise_sqs.server import query
from enterprise_sqs.server.errors import MalformedRequest
from enterprise_sqs.server.operations import HANDLERS
from enterprise_sqs.server.shapes import service_model

QUERY_MODEL_DIR = Path(__file__).parent / "data" / "sqs-query"


def _query_model() -> dict[str, Any]:
    path = QUERY_MODEL_DIR / "sqs" / "2012-11-05" / "service-2.json.gz"
    with gzip.open(path, "rt") as f:
        return json.load(f)  # type: ignore[no-any-return]


URL = "http://localhost:9324/000000000000/q"
ATTR = {"DataType": "String", "StringValue": "v"}
BIN = {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}
CASES: list[tuple[str, dict[str, Any]]] = [
    ("CreateQueue", {"QueueName": "q", "Attributes": {"DelaySeconds": "5"}, "tags": {"a": "b"}}),
    ("GetQueueUrl", {"QueueName": "q", "QueueOwnerAWSAccountId": "123456789012"}),
    ("ListQueues", {"QueueNamePrefix": "q", "MaxResults": 5, "NextToken": "t"}),
    ("GetQueueAttributes", {"QueueUrl": URL, "AttributeNames": ["All", "Policy"]}),
    ("SetQueueAttributes", {"QueueUrl": URL, "Attributes": {"VisibilityTimeout": "3"}}),
    ("TagQueue", {"QueueUrl": URL, "Tags": {"k1": "v1", "k2": ""}}),
    ("UntagQueue", {"QueueUrl": URL, "TagKeys": ["k1", "k2"]}),
    (
        "SendMessage",
        {
            "QueueUrl": URL,
            "MessageBody": "hé & <x>",
            "DelaySeconds": 0,
            "MessageAttributes": {"s": ATTR, "b": BIN},
            "MessageSystemAttributes": {"AWSTraceHeader": ATTR},
            "MessageGroupId": "g",
            "MessageDeduplicationId": "d",
        },
    ),
    (
        "SendMessageBatch",
        {
            "QueueUrl": URL,
            "Entries": [
                {"Id": "a", "MessageBody": "1", "MessageAttributes": {"s": ATTR}},
                {"Id": "b", "MessageBody": "2", "DelaySeconds": 3},
            ],
        },
    ),
    (
        "ReceiveMessage",
        {
            "QueueUrl": URL,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
            "MaxNumberOfMessages": 10,
            "VisibilityTimeout": 5,
            "WaitTimeSeconds": 1,
            "ReceiveRequestAttemptId": "r",
        },
    ),
    (
        "DeleteMessageBatch",
        {"QueueUrl": URL, "Entries": [{"Id": "a", "ReceiptHandle": "h1"}]},
    ),
    (
        "ChangeMessageVisibilityBatch",
        {"QueueUrl": URL, "Entries": [{"Id": "a", "ReceiptHandle": "h", "VisibilityTimeout": 9}]},
    ),
    (
        "AddPermission",
        {"QueueUrl": URL, "Label": "l", "AWSAccountIds": ["1", "2"], "Actions": ["SendMessage"]},
    ),
    ("StartMessageMoveTask", {"SourceArn": "arn", "MaxNumberOfMessagesPerSecond": 5}),
    ("ListMessageMoveTasks", {"SourceArn": "arn", "MaxResults": 3}),
    ("ListDeadLetterSourceQueues", {"QueueUrl": URL, "MaxResults": 3}),
]


def test_every_operation_of_botocores_model_has_a_handler() -> None:
    assert set(service_model().operations) == set(HANDLERS)


@pytest.mark.parametrize(("operation", "params"), CASES, ids=[c[0] for c in CASES])
def test_query_and_json_requests_decode_to_the_same_parameters(
    operation: str, params: dict[str, Any]
) -> None:
    model = service_model()
    input_shape, _ = model.operations[operation]
    assert input_shape is not None

    json_model = BotoModel(_current_model())
    json_request = create_serializer("json").serialize_to_request(
        params, json_model.operation_model(operation)
    )
    from_json = model.check_json(input_shape, json.loads(json_request["body"]), "")

    query_model = BotoModel(_query_model())
    query_request = create_serializer("query").serialize_to_request(
        params, query_model.operation_model(operation)
    )
    body = query_request["body"]
    pairs = [(k, str(v)) for k, v in body.items()]
    from_query = model.from_query(input_shape, query.parse_form(pairs), "")

    assert from_json == params
    assert from_query == params


def test_query_names_match_the_last_query_model() -> None:
    """Every name the old model gives a member, list element or map entry is the one we use."""
    old = _query_model()["shapes"]
    model = service_model()
    checked = 0
    for struct, shape in old.items():
        if shape["type"] != "structure" or struct not in {
            name for name in old if name in model._members
        }:
            continue
        ours = {m.name: m.query_name for m in model.members(struct)}
        for member, ref in shape["members"].items():
            target = old[ref["shape"]]
            expected = ref.get("locationName") or target.get("locationName") or member
            if target["type"] == "list" and (target.get("flattened") or ref.get("flattened")):
                expected = target["member"].get("locationName", expected)
            assert ours[member] == expected, (struct, member)
            checked += 1
    assert checked > 50


def test_json_type_errors_are_serialization_errors() -> None:
    model = service_model()
    with pytest.raises(MalformedRequest, match="MaxNumberOfMessages"):
        model.check_json("ReceiveMessageRequest", {"QueueUrl": URL, "MaxNumberOfMessages": "1"}, "")
    with pytest.raises(MalformedRequest):
        model.check_json(
            "ReceiveMessageRequest", {"QueueUrl": URL, "MaxNumberOfMessages": True}, ""
        )
    with pytest.raises(MalformedRequest, match="base64"):
        model.check_json(
            "SendMessageRequest",
            {
                "QueueUrl": URL,
                "MessageBody": "x",
                "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": "@@"}},
            },
            "",
        )
    with pytest.raises(MissingParameter, match="QueueUrl"):
        model.check_json("ReceiveMessageRequest", {}, "")


def test_query_values_that_do_not_parse() -> None:
    model = service_model()
    with pytest.raises(InvalidParameterValue, match="MaxNumberOfMessages"):
        model.from_query("ReceiveMessageRequest", {"QueueUrl": URL, "MaxNumberOfMessages": "x"}, "")
    with pytest.raises(MalformedRequest):
        model.from_query("ReceiveMessageRequest", {"QueueUrl": {"a": "b"}}, "")
    with pytest.raises(MalformedRequest):
        query.parse_form([("QueueUrl", "a"), ("QueueUrl", "b")])
    with pytest.raises(MissingParameter, match=r"Attribute\.1\.Value"):
        model.from_query(
            "SetQueueAttributesRequest", {"QueueUrl": URL, "Attribute": {"1": {"Name": "x"}}}, ""
        )


def test_an_absent_batch_is_an_empty_one() -> None:
    """SQS answers EmptyBatchRequest, not MissingParameter; the engine decides on []."""
    params = service_model().from_query("DeleteMessageBatchRequest", {"QueueUrl": URL}, "")
    assert params == {"QueueUrl": URL, "Entries": []}


def _current_model() -> dict[str, Any]:
    from botocore.loaders import create_loader

    return create_loader().load_service_model("sqs", "service-2", "2012-11-05")  # type: ignore[no-any-return]
