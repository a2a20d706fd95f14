"""Queue-side encryption (SSE-SQS, SSE-KMS) is settable when creating queues, on the embedded
engine and on moto server, and reads back as SQS reports it."""

from __future__ import annotations

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import InvalidAttributeValue


@pytest.fixture(params=["memory", "moto"])
def sqs(request: pytest.FixtureRequest) -> EnterpriseSQS:
    fixture = "memory_sqs" if request.param == "memory" else "moto_sqs"
    client: EnterpriseSQS = request.getfixturevalue(fixture)
    return client


async def test_sse_sqs_and_sse_kms_on_queue_creation(sqs: EnterpriseSQS, unique: str) -> None:
    client = sqs.get_sqs_client()
    managed = await client.create_queue(f"{unique}-sse", {"SqsManagedSseEnabled": "true"})
    kms = await client.create_queue(
        f"{unique}-kms",
        {"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "600"},
    )
    assert (await client.get_queue_attributes(managed, ["SqsManagedSseEnabled"])) == {
        "SqsManagedSseEnabled": "true"
    }
    attributes = await client.get_queue_attributes(
        kms, ["KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds"]
    )
    assert attributes == {
        "KmsMasterKeyId": "alias/aws/sqs",
        "KmsDataKeyReusePeriodSeconds": "600",
    }


async def test_the_engine_refuses_an_out_of_range_key_reuse_period(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    with pytest.raises(InvalidAttributeValue):
        await memory_sqs.get_sqs_client().create_queue(
            unique, {"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "30"}
        )
