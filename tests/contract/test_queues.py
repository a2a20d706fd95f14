"""Queue lifecycle: names, CreateQueue idempotency, GetQueueUrl, DeleteQueue, PurgeQueue.

Error texts are the ones Amazon SQS answers (recorded against AWS); tests check the class and
the words that carry the meaning, so an engine may phrase the rest its own way.
"""

from __future__ import annotations

import pytest

from enterprise_sqs.errors import (
    InvalidParameterValue,
    MissingParameter,
    PurgeQueueInProgress,
    QueueAlreadyExists,
    QueueDeletedRecently,
    QueueDoesNotExist,
)
from enterprise_sqs.models import SendEntry
from tests.contract.conftest import Harness

NAME_RULE = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"


async def _count(sqs: Harness, url: str) -> tuple[int, int, int]:
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


# -- names ----------------------------------------------------------------------------------------


async def test_queue_name_may_use_letters_digits_hyphens_and_underscores(sqs: Harness) -> None:
    name = sqs.name("Mixed_Case-09")
    url = await sqs.backend.create_queue(name)
    assert url.endswith("/" + name)


async def test_queue_name_of_80_characters_is_accepted(sqs: Harness) -> None:
    name = (sqs.prefix + "-" + "a" * 80)[:80]
    url = await sqs.backend.create_queue(name)
    assert url.endswith("/" + name)


async def test_queue_name_of_81_characters_is_refused(sqs: Harness) -> None:
    with pytest.raises(InvalidParameterValue, match="1 to 80 in length"):
        await sqs.backend.create_queue((sqs.prefix + "-" + "a" * 81)[:81])


@pytest.mark.parametrize(
    "bad", ["has space", "has/slash", "has.dot", "bang!", "ümlaut"], ids=lambda b: b.split()[0]
)
async def test_queue_name_with_a_character_outside_the_allowed_set_is_refused(
    sqs: Harness, bad: str
) -> None:
    with pytest.raises(InvalidParameterValue) as info:
        await sqs.backend.create_queue(f"{sqs.prefix}-{bad}")
    assert NAME_RULE in info.value.message


async def test_empty_queue_name_is_refused(sqs: Harness) -> None:
    # An absent QueueName is MissingParameter; for an empty one servers answer either code.
    with pytest.raises((InvalidParameterValue, MissingParameter)):
        await sqs.backend.create_queue("")


async def test_fifo_queue_requires_the_fifo_suffix(sqs: Harness) -> None:
    with pytest.raises(InvalidParameterValue) as info:
        await sqs.backend.create_queue(sqs.name("nofifo"), {"FifoQueue": "true"})
    assert ".fifo" in info.value.message


@pytest.mark.moto_deviation("moto creates a standard queue named x.fifo")
async def test_fifo_suffix_without_fifo_queue_attribute_is_refused(sqs: Harness) -> None:
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.create_queue(sqs.name("std", fifo=True))


async def test_fifo_queue_name_of_80_characters_including_suffix_is_accepted(sqs: Harness) -> None:
    name = (sqs.prefix + "-" + "f" * 80)[:75] + ".fifo"
    url = await sqs.backend.create_queue(name, {"FifoQueue": "true"})
    assert url.endswith("/" + name)


# -- CreateQueue idempotency ----------------------------------------------------------------------


async def test_create_queue_with_the_same_attributes_returns_the_same_url(sqs: Harness) -> None:
    first = await sqs.create("same", VisibilityTimeout="45", DelaySeconds="3")
    second = await sqs.create("same", VisibilityTimeout="45", DelaySeconds="3")
    assert first == second


async def test_create_queue_without_attributes_returns_an_existing_queue(sqs: Harness) -> None:
    first = await sqs.create("bare", VisibilityTimeout="69")
    assert await sqs.backend.create_queue(sqs.name("bare")) == first


async def test_create_queue_stating_a_default_value_matches_an_unset_attribute(
    sqs: Harness,
) -> None:
    first = await sqs.create("defaults")
    assert await sqs.create("defaults", VisibilityTimeout="30") == first


async def test_create_queue_with_a_different_attribute_is_queue_already_exists(
    sqs: Harness,
) -> None:
    await sqs.create("diff", DelaySeconds="1")
    with pytest.raises(QueueAlreadyExists):
        await sqs.create("diff", DelaySeconds="2")


@pytest.mark.moto_deviation("moto says 'The specified queue already exists.' without the name")
async def test_queue_already_exists_names_the_differing_attribute(sqs: Harness) -> None:
    await sqs.create("named", DelaySeconds="1")
    with pytest.raises(QueueAlreadyExists) as info:
        await sqs.create("named", DelaySeconds="2")
    assert info.value.message == (
        "A queue already exists with the same name and a different value for attribute DelaySeconds"
    )


async def test_fifo_create_with_different_content_based_deduplication_is_refused(
    sqs: Harness,
) -> None:
    await sqs.create("cbd", fifo=True, ContentBasedDeduplication="false")
    with pytest.raises(QueueAlreadyExists):
        await sqs.create("cbd", fifo=True, ContentBasedDeduplication="true")


async def test_create_queue_compares_against_current_attributes_after_a_change(
    sqs: Harness,
) -> None:
    url = await sqs.create("changed", VisibilityTimeout="1")
    await sqs.backend.set_queue_attributes(url, {"VisibilityTimeout": "2"})
    assert await sqs.create("changed", VisibilityTimeout="2") == url
    with pytest.raises(QueueAlreadyExists):
        await sqs.create("changed", VisibilityTimeout="1")


async def test_create_queue_with_tags_tags_the_queue(sqs: Harness) -> None:
    url = await sqs.backend.create_queue(sqs.name("tagged"), None, {"team": "core", "env": "dev"})
    assert await sqs.backend.list_queue_tags(url) == {"team": "core", "env": "dev"}


# -- GetQueueUrl, DeleteQueue ---------------------------------------------------------------------


async def test_get_queue_url_returns_the_url_create_returned(sqs: Harness) -> None:
    url = await sqs.create("lookup")
    assert await sqs.backend.get_queue_url(sqs.name("lookup")) == url


async def test_get_queue_url_of_a_missing_queue_is_queue_does_not_exist(sqs: Harness) -> None:
    with pytest.raises(QueueDoesNotExist) as info:
        await sqs.backend.get_queue_url(sqs.name("missing"))
    assert info.value.message == "The specified queue does not exist."


async def test_get_queue_url_is_case_sensitive(sqs: Harness) -> None:
    await sqs.create("casequeue")
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.get_queue_url(sqs.name("CASEQUEUE"))


async def test_deleted_queue_cannot_be_used(sqs: Harness) -> None:
    url = await sqs.create("gone")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.get_queue_attributes(url, ["All"])
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.send_message(url, SendEntry(id="a", body="x"))
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.get_queue_url(sqs.name("gone"))


async def test_delete_of_a_missing_queue_is_queue_does_not_exist(sqs: Harness) -> None:
    url = await sqs.create("twice")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.delete_queue(url)


@pytest.mark.moto_deviation("moto lets a deleted name be reused at once")
async def test_recreating_a_queue_within_60_seconds_is_queue_deleted_recently(
    sqs: Harness,
) -> None:
    url = await sqs.create("recent")
    await sqs.backend.delete_queue(url)
    await sqs.advance(30)
    with pytest.raises(QueueDeletedRecently) as info:
        await sqs.create("recent")
    assert "wait 60 seconds" in info.value.message


async def test_a_deleted_name_is_reusable_after_60_seconds(sqs: Harness) -> None:
    url = await sqs.create("reuse")
    await sqs.backend.send_message(url, SendEntry(id="a", body="old"))
    await sqs.backend.delete_queue(url)
    await sqs.advance(61)
    again = await sqs.create("reuse")
    assert await _count(sqs, again) == (0, 0, 0)


# -- PurgeQueue -----------------------------------------------------------------------------------


async def test_purge_removes_visible_messages(sqs: Harness) -> None:
    url = await sqs.create("purge")
    for i in range(3):
        await sqs.backend.send_message(url, SendEntry(id="a", body=f"m{i}"))
    await sqs.backend.purge_queue(url)
    assert await _count(sqs, url) == (0, 0, 0)
    assert await sqs.backend.receive(url, max_messages=10) == []


async def test_purge_removes_in_flight_messages(sqs: Harness) -> None:
    url = await sqs.create("inflight")
    for i in range(3):
        await sqs.backend.send_message(url, SendEntry(id="a", body=f"m{i}"))
    received = await sqs.backend.receive(url, max_messages=10, visibility_timeout=1)
    assert received
    await sqs.backend.purge_queue(url)
    await sqs.advance(2)
    assert await sqs.backend.receive(url, max_messages=10) == []
    assert await _count(sqs, url) == (0, 0, 0)


async def test_purge_removes_delayed_messages(sqs: Harness) -> None:
    url = await sqs.create("delayed")
    await sqs.backend.send_message(url, SendEntry(id="a", body="later", delay_seconds=1))
    await sqs.backend.purge_queue(url)
    await sqs.advance(2)
    assert await sqs.backend.receive(url, max_messages=10) == []


async def test_messages_sent_after_a_purge_are_delivered(sqs: Harness) -> None:
    url = await sqs.create("after")
    await sqs.backend.send_message(url, SendEntry(id="a", body="before"))
    await sqs.backend.purge_queue(url)
    await sqs.advance(1)
    await sqs.backend.send_message(url, SendEntry(id="a", body="after"))
    [message] = await sqs.backend.receive(url, max_messages=10)
    assert message.body == "after"


async def test_second_purge_within_60_seconds_is_purge_queue_in_progress(sqs: Harness) -> None:
    url = await sqs.create("again")
    await sqs.backend.purge_queue(url)
    with pytest.raises(PurgeQueueInProgress) as info:
        await sqs.backend.purge_queue(url)
    assert info.value.message == (
        f"Only one PurgeQueue operation on {sqs.name('again')} is allowed every 60 seconds."
    )


async def test_purge_is_allowed_again_after_60_seconds(sqs: Harness) -> None:
    url = await sqs.create("later")
    await sqs.backend.purge_queue(url)
    await sqs.advance(61)
    await sqs.backend.purge_queue(url)


async def test_purge_of_a_missing_queue_is_queue_does_not_exist(sqs: Harness) -> None:
    url = await sqs.create("nopurge")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.purge_queue(url)
