"""FIFO queues: group ids, deduplication, ordering, group blocking, sequence numbers and
ReceiveRequestAttemptId."""

from __future__ import annotations

import hashlib

import pytest

from enterprise_sqs.errors import InvalidParameterValue, MissingParameter
from tests.contract.conftest import Harness
from tests.contract.messaging import entry, receive, receive_all, send


async def _fifo(sqs: Harness, **attrs: str) -> str:
    return await sqs.create("f", fifo=True, **attrs)


async def _cbd(sqs: Harness, **attrs: str) -> str:
    return await _fifo(sqs, ContentBasedDeduplication="true", **attrs)


async def _bodies_in_order(sqs: Harness, url: str, max_messages: int = 1) -> list[str]:
    """Receive and delete until the queue is empty, keeping the order of delivery."""
    bodies: list[str] = []
    for _ in range(50):
        got = await receive(sqs, url, max_messages)
        if not got:
            break
        for message in got:
            bodies.append(message.body)
            await sqs.backend.delete_message(url, message.receipt_handle)
    return bodies


# -- required parameters -------------------------------------------------------------------------


async def test_fifo_send_without_group_id_raises_missing_parameter(sqs: Harness) -> None:
    url = await _cbd(sqs)
    with pytest.raises(MissingParameter) as caught:
        await send(sqs, url, "no group")
    assert caught.value.message == "The request must contain the parameter MessageGroupId."


async def test_fifo_send_without_dedup_id_needs_content_based_dedup(sqs: Harness) -> None:
    url = await _fifo(sqs)
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "no dedup", group_id="g")
    assert caught.value.message == (
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly"
    )


async def test_fifo_refuses_a_per_message_delay(sqs: Harness) -> None:
    url = await _cbd(sqs)
    with pytest.raises(InvalidParameterValue) as caught:
        await send(sqs, url, "delayed", group_id="g", delay_seconds=2)
    assert caught.value.message == (
        "Value 2 for parameter DelaySeconds is invalid. "
        "Reason: The request include parameter that is not valid for this queue type."
    )


async def test_fifo_accepts_a_per_message_delay_of_zero(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "now", group_id="g", delay_seconds=0)
    assert [m.body for m in await receive(sqs, url)] == ["now"]


async def test_fifo_queue_delay_applies(sqs: Harness) -> None:
    url = await _cbd(sqs, DelaySeconds="1")
    await send(sqs, url, "later", group_id="g")
    assert await receive(sqs, url) == []
    await sqs.advance(1.5)
    assert [m.body for m in await receive(sqs, url)] == ["later"]


@pytest.mark.moto_deviation("moto does not limit MessageGroupId to 128 characters")
async def test_fifo_group_id_over_128_characters_is_refused(sqs: Harness) -> None:
    url = await _cbd(sqs)
    with pytest.raises(InvalidParameterValue):
        await send(sqs, url, "long group", group_id="g" * 129)


async def test_standard_queue_accepts_a_message_group_id(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "fair", group_id="tenant-1")
    (message,) = await receive(sqs, url, attribute_names=["MessageGroupId"])
    assert message.body == "fair"


# -- deduplication -------------------------------------------------------------------------------


async def test_content_based_dedup_drops_a_repeated_body(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "same", group_id="g")
    await send(sqs, url, "same", group_id="g")
    await send(sqs, url, "different", group_id="g")
    assert await _bodies_in_order(sqs, url) == ["same", "different"]


async def test_content_based_dedup_id_is_sha256_of_the_body(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "hash me", group_id="g")
    (message,) = await receive(sqs, url, attribute_names=["All"])
    assert message.attributes["MessageDeduplicationId"] == hashlib.sha256(b"hash me").hexdigest()
    assert message.attributes["MessageGroupId"] == "g"


async def test_explicit_dedup_id_wins_over_content(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "same body", group_id="g", deduplication_id="one")
    await send(sqs, url, "same body", group_id="g", deduplication_id="two")
    await send(sqs, url, "other body", group_id="g", deduplication_id="two")
    assert await _bodies_in_order(sqs, url) == ["same body", "same body"]


async def test_duplicate_is_accepted_but_never_delivered(sqs: Harness) -> None:
    url = await _fifo(sqs)
    first = await send(sqs, url, "once", group_id="g", deduplication_id="d1")
    duplicate = await send(sqs, url, "once", group_id="g", deduplication_id="d1")
    assert first.message_id
    assert duplicate.message_id  # same response shape as a fresh send
    assert await _bodies_in_order(sqs, url, 10) == ["once"]


@pytest.mark.moto_deviation("moto forgets a deduplication id once its message is deleted")
async def test_dedup_still_holds_after_the_first_was_deleted(sqs: Harness) -> None:
    url = await _fifo(sqs)
    await send(sqs, url, "once", group_id="g", deduplication_id="d1")
    assert await _bodies_in_order(sqs, url) == ["once"]
    await send(sqs, url, "once", group_id="g", deduplication_id="d1")
    assert await receive(sqs, url) == []


async def test_dedup_window_ends_after_five_minutes(sqs: Harness) -> None:
    url = await _fifo(sqs)
    await send(sqs, url, "first", group_id="g", deduplication_id="d1")
    assert await _bodies_in_order(sqs, url) == ["first"]
    await sqs.advance(301)  # only the engine's clock can move this far; skipped elsewhere
    await send(sqs, url, "second", group_id="g", deduplication_id="d1")
    assert await _bodies_in_order(sqs, url) == ["second"]


async def test_dedup_scope_queue_spans_message_groups(sqs: Harness) -> None:
    url = await _fifo(sqs)
    await send(sqs, url, "in g1", group_id="g1", deduplication_id="same")
    await send(sqs, url, "in g2", group_id="g2", deduplication_id="same")
    assert await _bodies_in_order(sqs, url) == ["in g1"]


@pytest.mark.moto_deviation("moto deduplicates across the whole queue whatever the scope")
async def test_dedup_scope_message_group_lets_the_same_id_into_two_groups(sqs: Harness) -> None:
    url = await _fifo(
        sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId"
    )
    await send(sqs, url, "in g1", group_id="g1", deduplication_id="same")
    await send(sqs, url, "in g2", group_id="g2", deduplication_id="same")
    await send(sqs, url, "again g1", group_id="g1", deduplication_id="same")
    assert sorted(await _bodies_in_order(sqs, url)) == ["in g1", "in g2"]


# -- ordering and group blocking -----------------------------------------------------------------


async def test_order_within_a_group_is_strict_across_receives(sqs: Harness) -> None:
    url = await _cbd(sqs)
    bodies = [f"m{i}" for i in range(6)]
    for body in bodies:
        await send(sqs, url, body, group_id="g")
    assert await _bodies_in_order(sqs, url) == bodies


@pytest.mark.moto_deviation("moto does not group a FIFO receive by message group")
async def test_receive_returns_one_group_first_then_the_next(sqs: Harness) -> None:
    url = await _cbd(sqs)
    for body, group in [("g1-m1", "g1"), ("g2-m1", "g2"), ("g1-m2", "g1"), ("g1-m3", "g1")]:
        await send(sqs, url, body, group_id=group)
    got = await receive(sqs, url, 10)
    assert [m.body for m in got] == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


async def test_group_is_blocked_while_one_of_its_messages_is_in_flight(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "first", group_id="g")
    await send(sqs, url, "second", group_id="g")
    (message,) = await receive(sqs, url, 1)
    assert message.body == "first"
    assert await receive(sqs, url, 10) == []
    await sqs.backend.delete_message(url, message.receipt_handle)
    assert [m.body for m in await receive(sqs, url, 10)] == ["second"]


async def test_other_groups_are_delivered_while_one_is_blocked(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "a1", group_id="a")
    await send(sqs, url, "a2", group_id="a")
    (first,) = await receive(sqs, url, 1)
    assert first.body == "a1"
    await send(sqs, url, "b1", group_id="b")
    assert [m.body for m in await receive(sqs, url, 10)] == ["b1"]


async def test_group_unblocks_when_its_message_times_out_and_redelivers_in_order(
    sqs: Harness,
) -> None:
    url = await _cbd(sqs, VisibilityTimeout="1")
    await send(sqs, url, "first", group_id="g")
    await send(sqs, url, "second", group_id="g")
    assert [m.body for m in await receive(sqs, url, 1)] == ["first"]
    await sqs.advance(1.5)
    assert [m.body for m in await receive(sqs, url, 1)] == ["first"]


@pytest.mark.moto_deviation("moto lets a FIFO receipt handle delete after its visibility expired")
async def test_fifo_delete_with_expired_handle_is_refused(sqs: Harness) -> None:
    url = await _cbd(sqs, VisibilityTimeout="1")
    await send(sqs, url, "expiring", group_id="g")
    (message,) = await receive(sqs, url)
    await sqs.advance(1.5)
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.delete_message(url, message.receipt_handle)
    assert "The receipt handle has expired." in caught.value.message


# -- sequence numbers and batches ----------------------------------------------------------------


async def test_fifo_send_returns_a_sequence_number_that_receive_reports(sqs: Harness) -> None:
    url = await _fifo(sqs)
    sent = await send(sqs, url, "numbered", group_id="g", deduplication_id="d")
    assert sent.sequence_number is not None
    assert sent.sequence_number.isdigit()
    (message,) = await receive(sqs, url, attribute_names=["SequenceNumber"])
    assert message.attributes["SequenceNumber"] == sent.sequence_number


@pytest.mark.moto_deviation("moto's sequence numbers are random, not increasing")
async def test_sequence_numbers_increase_within_a_group(sqs: Harness) -> None:
    url = await _fifo(sqs)
    numbers = [
        int(
            (await send(sqs, url, f"m{i}", group_id="g", deduplication_id=f"d{i}")).sequence_number
            or "0"
        )
        for i in range(5)
    ]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5


async def test_fifo_batch_is_enqueued_in_order(sqs: Harness) -> None:
    url = await _cbd(sqs)
    bodies = [f"b{i}" for i in range(10)]
    result = await sqs.backend.send_batch(
        url, [entry(b, id=f"e{i}", group_id="g") for i, b in enumerate(bodies)]
    )
    assert result.failed == []
    assert await _bodies_in_order(sqs, url, 10) == bodies


@pytest.mark.moto_deviation("moto's sequence numbers are random, not increasing")
async def test_fifo_batch_sequence_numbers_follow_entry_order(sqs: Harness) -> None:
    url = await _fifo(sqs)
    result = await sqs.backend.send_batch(
        url, [entry(f"b{i}", id=f"e{i}", group_id="g", deduplication_id=f"d{i}") for i in range(5)]
    )
    assert all(s.sequence_number for s in result.successful)
    by_id = {s.id: int(s.sequence_number or "0") for s in result.successful}
    numbers = [by_id[f"e{i}"] for i in range(5)]
    assert numbers == sorted(numbers)


@pytest.mark.moto_deviation("moto answers MissingParameter where AWS answers InvalidParameterValue")
async def test_fifo_batch_without_group_id_fails_the_whole_request(sqs: Harness) -> None:
    # AWS refuses the whole batch, with InvalidParameterValue (SendMessage says MissingParameter)
    url = await _cbd(sqs)
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.send_batch(
            url, [entry("x", id="ok", group_id="g"), entry("y", id="nogroup")]
        )
    assert caught.value.message == "The request must contain the parameter MessageGroupId."


async def test_fifo_batch_without_dedup_id_fails_the_whole_request(sqs: Harness) -> None:
    url = await _fifo(sqs)
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.send_batch(url, [entry("x", id="nodedup", group_id="g")])
    assert "ContentBasedDeduplication" in caught.value.message
    assert await receive(sqs, url) == []


# -- ReceiveRequestAttemptId ---------------------------------------------------------------------


@pytest.mark.moto_deviation("moto ignores ReceiveRequestAttemptId")
async def test_retried_receive_with_same_attempt_id_returns_same_messages_and_handles(
    sqs: Harness,
) -> None:
    url = await _cbd(sqs)
    for i in range(3):
        await send(sqs, url, f"m{i}", group_id="g")
    first = await receive(sqs, url, 10, receive_request_attempt_id="attempt-1")
    retry = await receive(sqs, url, 10, receive_request_attempt_id="attempt-1")
    assert [m.body for m in first] == ["m0", "m1", "m2"]
    assert [(m.message_id, m.receipt_handle) for m in retry] == [
        (m.message_id, m.receipt_handle) for m in first
    ]


async def test_a_new_attempt_id_does_not_return_in_flight_messages(sqs: Harness) -> None:
    url = await _cbd(sqs)
    await send(sqs, url, "m0", group_id="g")
    assert len(await receive(sqs, url, 10, receive_request_attempt_id="attempt-1")) == 1
    assert await receive(sqs, url, 10, receive_request_attempt_id="attempt-2") == []
    assert await receive_all(sqs, url) == []
