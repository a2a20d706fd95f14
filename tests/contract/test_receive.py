"""ReceiveMessage: bounds, long polling, attribute selection and system attributes."""

from __future__ import annotations

import asyncio
import time

import pytest

from enterprise_sqs.checksums import md5_of_attributes
from enterprise_sqs.errors import InvalidParameterValue, QueueDoesNotExist
from enterprise_sqs.models import MessageAttributeValue
from tests.contract.conftest import Harness
from tests.contract.messaging import missing_queue_url, receive, receive_all, send

# A bound on how long an early-answering long poll may take in real time. It is a safety net
# against a hang (the poll asks for 20 s), not a performance assertion.
LONG_POLL_BOUND = 10.0


def _now_ms(sqs: Harness) -> float:
    return (sqs.clock.time() if sqs.clock is not None else time.time()) * 1000


async def _parked(task: asyncio.Task[object]) -> None:
    """Give a just-started long poll time to reach the backend and start waiting."""
    for _ in range(10):
        await asyncio.sleep(0.03)
    assert not task.done(), "the long poll answered before any message was sent"


# -- bounds --------------------------------------------------------------------------------------


async def test_receive_on_empty_queue_returns_nothing(sqs: Harness) -> None:
    url = await sqs.create()
    assert await receive(sqs, url) == []


async def test_receive_defaults_to_one_message(sqs: Harness) -> None:
    url = await sqs.create()
    for i in range(3):
        await send(sqs, url, f"m{i}")
    got = await sqs.backend.receive(url, wait_time_seconds=0)
    assert len(got) == 1


async def test_receive_returns_at_most_max_number_of_messages(sqs: Harness) -> None:
    url = await sqs.create()
    for i in range(12):
        await send(sqs, url, f"m{i}")
    first = await receive(sqs, url, 10)
    assert 1 <= len(first) <= 10
    rest = await receive_all(sqs, url)
    bodies = [m.body for m in first + rest]
    assert sorted(bodies) == sorted(f"m{i}" for i in range(12))  # each once, none lost


@pytest.mark.parametrize("count", [0, 11, -1], ids=["max_0", "max_11", "max_negative"])
async def test_max_number_of_messages_outside_1_to_10_is_refused(sqs: Harness, count: int) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.receive(url, max_messages=count, wait_time_seconds=0)
    assert "MaxNumberOfMessages" in caught.value.message


@pytest.mark.moto_deviation("moto's error text differs from AWS's")
async def test_max_number_of_messages_error_text_matches_aws(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.receive(url, max_messages=11, wait_time_seconds=0)
    assert caught.value.message == (
        "Value 11 for parameter MaxNumberOfMessages is invalid. "
        "Reason: Must be between 1 and 10, if provided."
    )


@pytest.mark.parametrize("wait", [21, -1], ids=["wait_21", "wait_negative"])
async def test_wait_time_outside_0_to_20_is_refused(sqs: Harness, wait: int) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.receive(url, wait_time_seconds=wait)
    assert "WaitTimeSeconds" in caught.value.message


@pytest.mark.moto_deviation("moto's error text differs from AWS's")
async def test_wait_time_error_text_matches_aws(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.receive(url, wait_time_seconds=21)
    assert caught.value.message == (
        "Value 21 for parameter WaitTimeSeconds is invalid. "
        "Reason: Must be >= 0 and <= 20, if provided."
    )


async def test_visibility_timeout_over_12_hours_is_refused_on_receive(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    with pytest.raises(InvalidParameterValue):
        await receive(sqs, url, visibility_timeout=43201)


async def test_receive_from_missing_queue_raises_queue_does_not_exist(sqs: Harness) -> None:
    url = await missing_queue_url(sqs)
    with pytest.raises(QueueDoesNotExist):
        await receive(sqs, url)


# -- long polling --------------------------------------------------------------------------------


async def test_long_poll_answers_as_soon_as_a_message_is_sent(sqs: Harness) -> None:
    url = await sqs.create()
    poll = asyncio.ensure_future(sqs.backend.receive(url, wait_time_seconds=20))
    try:
        await _parked(poll)
        await send(sqs, url, "wake up")
        got = await asyncio.wait_for(poll, LONG_POLL_BOUND)
    finally:
        poll.cancel()
    assert [m.body for m in got] == ["wake up"]


async def test_long_poll_returns_at_once_when_a_message_is_waiting(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "already here")
    got = await asyncio.wait_for(sqs.backend.receive(url, wait_time_seconds=20), LONG_POLL_BOUND)
    assert [m.body for m in got] == ["already here"]


async def test_long_poll_on_empty_queue_returns_nothing_after_the_wait(sqs: Harness) -> None:
    url = await sqs.create()
    poll = asyncio.ensure_future(sqs.backend.receive(url, wait_time_seconds=1))
    try:
        await _parked(poll)
        await sqs.advance(1.5)
        got = await asyncio.wait_for(poll, LONG_POLL_BOUND)
    finally:
        poll.cancel()
    assert got == []


async def test_queue_receive_wait_time_applies_when_the_call_gives_none(sqs: Harness) -> None:
    url = await sqs.create(ReceiveMessageWaitTimeSeconds="20")
    poll = asyncio.ensure_future(sqs.backend.receive(url))
    try:
        await _parked(poll)  # a short poll would have answered [] by now
        await send(sqs, url, "for the patient")
        got = await asyncio.wait_for(poll, LONG_POLL_BOUND)
    finally:
        poll.cancel()
    assert [m.body for m in got] == ["for the patient"]


async def test_long_poll_wakes_when_a_delayed_message_becomes_visible(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url, "delayed", delay_seconds=1)
    poll = asyncio.ensure_future(sqs.backend.receive(url, wait_time_seconds=20))
    try:
        await _parked(poll)
        await sqs.advance(1.5)
        got = await asyncio.wait_for(poll, LONG_POLL_BOUND)
    finally:
        poll.cancel()
    assert [m.body for m in got] == ["delayed"]


# -- per-call visibility -------------------------------------------------------------------------


async def test_per_call_visibility_timeout_overrides_the_queues(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="600")
    await send(sqs, url, "short lease")
    (first,) = await receive(sqs, url, visibility_timeout=1)
    assert await receive(sqs, url) == []
    await sqs.advance(1.5)
    (again,) = await receive(sqs, url)
    assert again.message_id == first.message_id


# -- message attribute selection -----------------------------------------------------------------

ATTRS = {
    "color": MessageAttributeValue.string("red"),
    "size": MessageAttributeValue.number(3),
    "meta.a": MessageAttributeValue.string("1"),
    "meta.b": MessageAttributeValue.binary(b"\x02"),
}

SELECTIONS = {
    "all": (["All"], {"color", "size", "meta.a", "meta.b"}),
    "dot_star": ([".*"], {"color", "size", "meta.a", "meta.b"}),
    "prefix_star": (["meta.*"], {"meta.a", "meta.b"}),
    "exact_name": (["color"], {"color"}),
    "two_names": (["color", "size"], {"color", "size"}),
    "none_requested": ([], set()),
    "unknown_name": (["nope"], set()),
}


@pytest.mark.parametrize(
    ("names", "expected"), SELECTIONS.values(), ids=[f"select_{k}" for k in SELECTIONS]
)
async def test_message_attribute_names_select_attributes(
    sqs: Harness, names: list[str], expected: set[str]
) -> None:
    url = await sqs.create()
    await send(sqs, url, "attrs", attributes=ATTRS)
    (message,) = await receive(sqs, url, message_attribute_names=names)
    assert set(message.message_attributes) == expected
    for name in expected:
        assert message.message_attributes[name] == ATTRS[name]
    selected = {name: ATTRS[name] for name in expected}
    # the MD5 covers what came back, so clients can verify a filtered answer
    assert message.md5_of_message_attributes == md5_of_attributes(selected)


# -- system attributes ---------------------------------------------------------------------------

STANDARD_SYSTEM = {
    "SenderId",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "ApproximateReceiveCount",
}


async def test_all_returns_every_standard_system_attribute(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url, attribute_names=["All"])
    assert set(message.attributes) >= STANDARD_SYSTEM
    assert message.attributes["SenderId"]


async def test_listed_system_attributes_only_are_returned(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(
        sqs, url, attribute_names=["SentTimestamp", "ApproximateReceiveCount"]
    )
    assert set(message.attributes) == {"SentTimestamp", "ApproximateReceiveCount"}


async def test_no_system_attributes_unless_asked(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    assert dict(message.attributes) == {}


async def test_timestamps_are_epoch_milliseconds(sqs: Harness) -> None:
    url = await sqs.create()
    before = _now_ms(sqs)
    await send(sqs, url)
    (message,) = await receive(sqs, url, attribute_names=["All"])
    after = _now_ms(sqs)
    sent = int(message.attributes["SentTimestamp"])
    first_receive = int(message.attributes["ApproximateFirstReceiveTimestamp"])
    # one second of slack each side: servers truncate to whole milliseconds, clocks drift
    assert before - 1000 <= sent <= after + 1000
    assert sent - 1000 <= first_receive <= after + 1000


async def test_first_receive_timestamp_stays_put_across_receives(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (first,) = await receive(sqs, url, visibility_timeout=0, attribute_names=["All"])
    await sqs.advance(1.1)
    (second,) = await receive(sqs, url, visibility_timeout=0, attribute_names=["All"])
    assert (
        first.attributes["ApproximateFirstReceiveTimestamp"]
        == second.attributes["ApproximateFirstReceiveTimestamp"]
    )
    assert first.attributes["SentTimestamp"] == second.attributes["SentTimestamp"]


async def test_approximate_receive_count_increments_per_receive(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    seen = []
    for _ in range(3):
        (message,) = await receive(
            sqs, url, visibility_timeout=0, attribute_names=["ApproximateReceiveCount"]
        )
        seen.append(message.attributes["ApproximateReceiveCount"])
    assert seen == ["1", "2", "3"]


async def test_one_receive_never_returns_a_message_twice(sqs: Harness) -> None:
    url = await sqs.create()
    for i in range(10):
        await send(sqs, url, f"m{i}")
    got = await receive(sqs, url, 10, visibility_timeout=0)
    ids = [m.message_id for m in got]
    assert len(ids) == len(set(ids))
