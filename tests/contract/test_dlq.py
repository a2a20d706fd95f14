"""Dead-letter queues: redrive at maxReceiveCount, DLQ types, ListDeadLetterSourceQueues and
RedriveAllowPolicy."""

from __future__ import annotations

import json

import pytest

from enterprise_sqs.errors import InvalidParameterValue, SenderError
from enterprise_sqs.models import MessageAttributeValue
from tests.contract.conftest import Harness
from tests.contract.messaging import arn_of, counts, receive, redrive_policy, send


async def _source_and_dlq(
    sqs: Harness, max_receive_count: int = 2, *, fifo: bool = False
) -> tuple[str, str]:
    extra = {"ContentBasedDeduplication": "true"} if fifo else {}
    dlq = await sqs.create("dlq", fifo=fifo, **extra)
    source = await sqs.create(
        "src",
        fifo=fifo,
        RedrivePolicy=redrive_policy(await arn_of(sqs, dlq), max_receive_count),
        **extra,
    )
    return source, dlq


async def _receive_times(sqs: Harness, url: str, times: int) -> None:
    for _ in range(times):
        assert len(await receive(sqs, url, visibility_timeout=0)) == 1


async def test_message_moves_to_dlq_after_max_receive_count(sqs: Harness) -> None:
    source, dlq = await _source_and_dlq(sqs, 2)
    await send(sqs, source, "poison")
    await _receive_times(sqs, source, 2)
    # the third receive would exceed maxReceiveCount: the message goes to the DLQ instead
    assert await receive(sqs, source, visibility_timeout=0) == []
    (moved,) = await receive(sqs, dlq)
    assert moved.body == "poison"
    assert await counts(sqs, source) == (0, 0, 0)


async def test_message_stays_until_max_receive_count_is_reached(sqs: Harness) -> None:
    source, dlq = await _source_and_dlq(sqs, 3)
    await send(sqs, source, "still good")
    await _receive_times(sqs, source, 3)
    assert await counts(sqs, dlq) == (0, 0, 0)


async def test_dead_lettered_message_keeps_id_body_and_attributes(sqs: Harness) -> None:
    source, dlq = await _source_and_dlq(sqs, 1)
    attributes = {
        "kind": MessageAttributeValue.string("order"),
        "n": MessageAttributeValue.number(7),
    }
    sent = await send(sqs, source, "keep me", attributes=attributes)
    await _receive_times(sqs, source, 1)
    assert await receive(sqs, source) == []
    (moved,) = await receive(sqs, dlq, message_attribute_names=["All"])
    assert moved.message_id == sent.message_id
    assert moved.body == "keep me"
    assert dict(moved.message_attributes) == attributes


@pytest.mark.moto_deviation("moto does not report DeadLetterQueueSourceArn")
async def test_dead_lettered_message_names_its_source_queue(sqs: Harness) -> None:
    source, dlq = await _source_and_dlq(sqs, 1)
    await send(sqs, source, "where from")
    await _receive_times(sqs, source, 1)
    assert await receive(sqs, source) == []
    (moved,) = await receive(sqs, dlq, attribute_names=["All"])
    assert moved.attributes["DeadLetterQueueSourceArn"] == await arn_of(sqs, source)


async def test_messages_below_the_limit_are_not_moved_with_the_poison_one(sqs: Harness) -> None:
    source, dlq = await _source_and_dlq(sqs, 1)
    await send(sqs, source, "poison")
    await _receive_times(sqs, source, 1)
    await send(sqs, source, "healthy")
    got = await receive(sqs, source, 10)
    assert [m.body for m in got] == ["healthy"]
    assert [m.body for m in await receive(sqs, dlq)] == ["poison"]


@pytest.mark.moto_deviation("moto's FIFO DLQ hands messages back in reverse order")
async def test_fifo_source_dead_letters_into_fifo_dlq_in_order(sqs: Harness) -> None:
    source, dlq = await _source_and_dlq(sqs, 1, fifo=True)
    for body in ["a", "b"]:
        await send(sqs, source, body, group_id="g")
    # receive and let go until every message has used up its one receive and moved on
    for _ in range(6):
        await receive(sqs, source, 10, visibility_timeout=0)
        if await counts(sqs, source) == (0, 0, 0):
            break
    assert await counts(sqs, source) == (0, 0, 0)
    got = await receive(sqs, dlq, 10, attribute_names=["MessageGroupId"])
    assert [m.body for m in got] == ["a", "b"]
    assert {m.attributes["MessageGroupId"] for m in got} == {"g"}


async def test_fifo_source_refuses_a_standard_dlq(sqs: Harness) -> None:
    dlq = await sqs.create("std-dlq")
    with pytest.raises(InvalidParameterValue):
        await sqs.create("src", fifo=True, RedrivePolicy=redrive_policy(await arn_of(sqs, dlq), 1))


@pytest.mark.moto_deviation("moto lets a standard queue use a FIFO dead-letter queue")
async def test_standard_source_refuses_a_fifo_dlq(sqs: Harness) -> None:
    dlq = await sqs.create("fifo-dlq", fifo=True)
    with pytest.raises(InvalidParameterValue):
        await sqs.create("src", RedrivePolicy=redrive_policy(await arn_of(sqs, dlq), 1))


async def test_list_dead_letter_source_queues_lists_every_source(sqs: Harness) -> None:
    dlq = await sqs.create("dlq")
    policy = redrive_policy(await arn_of(sqs, dlq), 3)
    first = await sqs.create("src1", RedrivePolicy=policy)
    second = await sqs.create("src2", RedrivePolicy=policy)
    await sqs.create("bystander")
    page = await sqs.backend.list_dead_letter_source_queues(dlq)
    assert sorted(page.queue_urls) == sorted([first, second])


async def test_list_dead_letter_source_queues_of_a_plain_queue_is_empty(sqs: Harness) -> None:
    url = await sqs.create()
    page = await sqs.backend.list_dead_letter_source_queues(url)
    assert page.queue_urls == []


async def test_redrive_policy_set_later_takes_effect(sqs: Harness) -> None:
    dlq = await sqs.create("dlq")
    source = await sqs.create("src")
    await sqs.backend.set_queue_attributes(
        source, {"RedrivePolicy": redrive_policy(await arn_of(sqs, dlq), 1)}
    )
    await send(sqs, source, "late policy")
    await _receive_times(sqs, source, 1)
    assert await receive(sqs, source) == []
    assert [m.body for m in await receive(sqs, dlq)] == ["late policy"]
    stored = json.loads(
        (await sqs.backend.get_queue_attributes(source, ["RedrivePolicy"]))["RedrivePolicy"]
    )
    assert stored["deadLetterTargetArn"] == await arn_of(sqs, dlq)
    assert int(stored["maxReceiveCount"]) == 1


@pytest.mark.moto_deviation("moto ignores RedriveAllowPolicy")
async def test_redrive_allow_policy_deny_all_refuses_a_source(sqs: Harness) -> None:
    dlq = await sqs.create("dlq", RedriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"}))
    source = await sqs.create("src")
    with pytest.raises(SenderError):
        await sqs.backend.set_queue_attributes(
            source, {"RedrivePolicy": redrive_policy(await arn_of(sqs, dlq), 1)}
        )


@pytest.mark.moto_deviation("moto ignores RedriveAllowPolicy")
async def test_redrive_allow_policy_by_queue_admits_only_listed_sources(sqs: Harness) -> None:
    allowed = await sqs.create("allowed")
    other = await sqs.create("other")
    dlq = await sqs.create(
        "dlq",
        RedriveAllowPolicy=json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [await arn_of(sqs, allowed)]}
        ),
    )
    policy = {"RedrivePolicy": redrive_policy(await arn_of(sqs, dlq), 1)}
    await sqs.backend.set_queue_attributes(allowed, policy)
    with pytest.raises(SenderError):
        await sqs.backend.set_queue_attributes(other, policy)
