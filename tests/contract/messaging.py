"""Helpers shared by the message half of the contract suite (send, receive, visibility, batches,
FIFO, DLQ, move tasks). They call the Backend protocol only, so every helper means the same thing
on the embedded engine and on the AWS backend."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from enterprise_sqs.models import (
    MessageAttributeValue,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
)

if TYPE_CHECKING:
    from tests.contract.conftest import Harness

MIB = 1024 * 1024


def entry(
    body: str = "hello",
    *,
    id: str = "m",
    delay_seconds: int | None = None,
    attributes: Mapping[str, MessageAttributeValue] | None = None,
    system_attributes: Mapping[str, MessageAttributeValue] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> SendEntry:
    return SendEntry(
        id=id,
        body=body,
        delay_seconds=delay_seconds,
        message_attributes=dict(attributes or {}),
        system_attributes=dict(system_attributes or {}),
        group_id=group_id,
        deduplication_id=deduplication_id,
    )


async def send(
    sqs: Harness,
    url: str,
    body: str = "hello",
    *,
    delay_seconds: int | None = None,
    attributes: Mapping[str, MessageAttributeValue] | None = None,
    system_attributes: Mapping[str, MessageAttributeValue] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> SendSuccess:
    """SendMessage of one message."""
    return await sqs.backend.send_message(
        url,
        entry(
            body,
            delay_seconds=delay_seconds,
            attributes=attributes,
            system_attributes=system_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
        ),
    )


async def receive(
    sqs: Harness,
    url: str,
    max_messages: int = 10,
    *,
    visibility_timeout: int | None = None,
    attribute_names: Sequence[str] = (),
    message_attribute_names: Sequence[str] = (),
    receive_request_attempt_id: str | None = None,
) -> list[ReceivedMessage]:
    """A short poll (WaitTimeSeconds=0)."""
    return await sqs.backend.receive(
        url,
        max_messages=max_messages,
        wait_time_seconds=0,
        visibility_timeout=visibility_timeout,
        attribute_names=attribute_names,
        message_attribute_names=message_attribute_names,
        receive_request_attempt_id=receive_request_attempt_id,
    )


async def receive_all(
    sqs: Harness,
    url: str,
    *,
    visibility_timeout: int | None = None,
    attribute_names: Sequence[str] = (),
    limit: int = 100,
) -> list[ReceivedMessage]:
    """Short polls until one comes back empty: every message visible now, each received once."""
    got: list[ReceivedMessage] = []
    while len(got) < limit:
        batch = await receive(
            sqs, url, visibility_timeout=visibility_timeout, attribute_names=attribute_names
        )
        if not batch:
            break
        got.extend(batch)
    return got


async def counts(sqs: Harness, url: str) -> tuple[int, int, int]:
    """(ApproximateNumberOfMessages, ...NotVisible, ...Delayed)."""
    attrs = await sqs.backend.get_queue_attributes(
        url,
        [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


async def arn_of(sqs: Harness, url: str) -> str:
    attrs = await sqs.backend.get_queue_attributes(url, ["QueueArn"])
    return attrs["QueueArn"]


def redrive_policy(dlq_arn: str, max_receive_count: int) -> str:
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})


async def missing_queue_url(sqs: Harness) -> str:
    """The URL a queue of this test would have, after that queue was deleted."""
    url = await sqs.create("gone")
    await sqs.backend.delete_queue(url)
    return url
