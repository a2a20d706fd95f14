"""Rules that depend on time, checked by moving a ManualClock instead of sleeping."""

from __future__ import annotations

import pytest

from enterprise_sqs import ChangeVisibilityEntry, ManualClock, SendEntry
from enterprise_sqs.engine.backend import EngineBackend
from enterprise_sqs.errors import (
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueDeletedRecently,
)


async def _counts(engine: EngineBackend, url: str) -> tuple[int, int, int]:
    attrs = await engine.get_queue_attributes(url)
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


async def test_second_purge_within_60_seconds_is_refused_then_allowed(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("purged")
    await engine.purge_queue(url)
    clock.advance(59)
    with pytest.raises(PurgeQueueInProgress) as caught:
        await engine.purge_queue(url)
    assert (
        caught.value.message
        == "Only one PurgeQueue operation on purged is allowed every 60 seconds."
    )
    clock.advance(1)
    await engine.purge_queue(url)


async def test_purge_removes_in_flight_messages_too(engine: EngineBackend) -> None:
    url = await engine.create_queue("inflight")
    await engine.send_message(url, SendEntry(id="a", body="held"))
    await engine.send_message(url, SendEntry(id="b", body="waiting"))
    assert len(await engine.receive(url)) == 1
    assert await _counts(engine, url) == (1, 1, 0)
    await engine.purge_queue(url)
    assert await _counts(engine, url) == (0, 0, 0)


async def test_deleted_name_is_reusable_only_after_60_seconds(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("phoenix")
    await engine.delete_queue(url)
    clock.advance(59.5)
    with pytest.raises(QueueDeletedRecently):
        await engine.create_queue("phoenix")
    clock.advance(0.5)
    assert await engine.create_queue("phoenix") == url


async def test_fifo_dedup_window_is_five_minutes_and_survives_delete(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("dedup.fifo", {"FifoQueue": "true"})
    entry = SendEntry(id="e", body="once", group_id="g", deduplication_id="d1")
    first = await engine.send_message(url, entry)
    (message,) = await engine.receive(url)
    await engine.delete_message(url, message.receipt_handle)
    clock.advance(299)
    duplicate = await engine.send_message(url, entry)
    assert duplicate.message_id == first.message_id
    assert await engine.receive(url) == []
    clock.advance(1)
    fresh = await engine.send_message(url, entry)
    assert fresh.message_id != first.message_id
    assert [m.body for m in await engine.receive(url)] == ["once"]


async def test_content_dedup_uses_body_and_explicit_id_wins(engine: EngineBackend) -> None:
    url = await engine.create_queue(
        "cbd.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    a = await engine.send_message(url, SendEntry(id="1", body="same", group_id="g"))
    b = await engine.send_message(url, SendEntry(id="2", body="same", group_id="g"))
    c = await engine.send_message(
        url, SendEntry(id="3", body="same", group_id="g", deduplication_id="explicit")
    )
    assert a.message_id == b.message_id
    assert c.message_id != a.message_id
    received = await engine.receive(url, max_messages=10)
    assert [m.message_id for m in received] == [a.message_id, c.message_id]


async def test_dedup_scope_message_group_keeps_groups_apart(engine: EngineBackend) -> None:
    url = await engine.create_queue(
        "scoped.fifo",
        {"FifoQueue": "true", "DeduplicationScope": "messageGroup"},
    )
    a = await engine.send_message(
        url, SendEntry(id="1", body="x", group_id="g1", deduplication_id="d")
    )
    b = await engine.send_message(
        url, SendEntry(id="2", body="x", group_id="g2", deduplication_id="d")
    )
    c = await engine.send_message(
        url, SendEntry(id="3", body="x", group_id="g1", deduplication_id="d")
    )
    assert a.message_id != b.message_id
    assert c.message_id == a.message_id


async def test_messages_past_retention_disappear_delivered_or_not(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("short", {"MessageRetentionPeriod": "60"})
    await engine.send_message(url, SendEntry(id="a", body="in flight"))
    await engine.send_message(url, SendEntry(id="b", body="waiting"))
    assert len(await engine.receive(url, visibility_timeout=600)) == 1
    clock.advance(59)
    assert await _counts(engine, url) == (1, 1, 0)
    clock.advance(1.5)
    assert await _counts(engine, url) == (0, 0, 0)
    assert await engine.receive(url, max_messages=10) == []


async def test_queue_and_message_delays(engine: EngineBackend, clock: ManualClock) -> None:
    url = await engine.create_queue("delayed", {"DelaySeconds": "10"})
    await engine.send_message(url, SendEntry(id="q", body="queue delay"))
    await engine.send_message(url, SendEntry(id="m", body="own delay", delay_seconds=30))
    await engine.send_message(url, SendEntry(id="z", body="no delay", delay_seconds=0))
    first = await engine.receive(url, max_messages=10, visibility_timeout=600)
    assert [m.body for m in first] == ["no delay"]
    assert await _counts(engine, url) == (0, 1, 2)
    clock.advance(10)
    assert [m.body for m in await engine.receive(url, max_messages=10)] == ["queue delay"]
    clock.advance(20)
    assert [m.body for m in await engine.receive(url, max_messages=10)] == ["own delay"]


async def test_visibility_cannot_be_extended_past_12_hours_from_receive(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("long")
    await engine.send_message(url, SendEntry(id="a", body="slow job"))
    (message,) = await engine.receive(url)
    clock.advance(3600)
    await engine.change_visibility(url, message.receipt_handle, 43_200 - 3600)
    with pytest.raises(InvalidParameterValue) as caught:
        await engine.change_visibility(url, message.receipt_handle, 43_200 - 3599)
    assert "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]" in (
        caught.value.message
    )
    result = await engine.change_visibility_batch(
        url,
        [
            ChangeVisibilityEntry(
                id="x", receipt_handle=message.receipt_handle, visibility_timeout=43_200
            )
        ],
    )
    assert [f.code for f in result.failed] == ["InvalidParameterValue"]


async def test_expired_visibility_makes_message_visible_and_counts_receives(
    engine: EngineBackend, clock: ManualClock
) -> None:
    url = await engine.create_queue("again", {"VisibilityTimeout": "5"})
    await engine.send_message(url, SendEntry(id="a", body="retry me"))
    first = await engine.receive(url, attribute_names=["All"])
    clock.advance(4.9)
    assert await engine.receive(url) == []
    clock.advance(0.1)
    (second,) = await engine.receive(url, attribute_names=["ApproximateReceiveCount"])
    assert second.attributes == {"ApproximateReceiveCount": "2"}
    assert second.receipt_handle != first[0].receipt_handle
    # changing the visibility of a message whose timeout merely expired answers OK
    clock.advance(30)
    await engine.change_visibility(url, second.receipt_handle, 10)
    assert await engine.receive(url) == []
