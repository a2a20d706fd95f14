"""The publisher end to end: batching, FIFO order, deduplication, sizes, failures, closing."""

from __future__ import annotations

import asyncio
import dataclasses
import decimal
import json

import pytest

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import (
    ClientClosedError,
    ConfigurationError,
    InvalidMessageContents,
    MessageSerializationError,
    MessageTooLong,
    MissingParameter,
    QueueDoesNotExist,
)
from enterprise_sqs.models import DeleteEntry, ReceivedMessage


async def drain(backend: Backend, url: str, expected: int) -> list[ReceivedMessage]:
    """Receive and delete until ``expected`` messages came, or the queue answers empty twice."""
    got: list[ReceivedMessage] = []
    empty = 0
    while len(got) < expected and empty < 2:
        batch = await backend.receive(
            url,
            max_messages=10,
            wait_time_seconds=1,
            attribute_names=["All"],
            message_attribute_names=["All"],
        )
        if not batch:
            empty += 1
            continue
        got.extend(batch)
        result = await backend.delete_batch(
            url,
            [DeleteEntry(id=str(i), receipt_handle=m.receipt_handle) for i, m in enumerate(batch)],
        )
        result.raise_for_failures()
    return got


async def test_publish_returns_a_message_id_and_the_body_arrives_as_json(
    sqs: EnterpriseSQS, unique: str
) -> None:
    publisher = sqs.create_publisher(f"{unique}-events", create_queue=True)
    result = await publisher.publish({"type": "order-created", "id": 7})
    assert result.success
    assert result.message_id
    assert result.error is None
    result.raise_for_error()
    (message,) = await drain(sqs.get_sqs_client(), result.queue_url or "", 1)
    assert message.message_id == result.message_id
    assert json.loads(message.body) == {"type": "order-created", "id": 7}


async def test_concurrent_publishes_share_batches_and_each_gets_its_own_result(
    sqs: EnterpriseSQS, unique: str
) -> None:
    publisher = sqs.create_publisher(f"{unique}-bulk", create_queue=True, linger=0.05)
    warmup = await publisher.publish({"n": -1})  # resolves the queue
    stats = sqs.get_sqs_client().stats
    before = stats.snapshot().calls
    results = await publisher.publish_many({"n": i} for i in range(95))
    calls = stats.snapshot().calls - before
    assert all(r.success for r in results)
    assert len({r.message_id for r in results}) == 95
    assert calls == 10, f"95 concurrent publishes took {calls} SendMessageBatch calls, not 10"
    received = await drain(sqs.get_sqs_client(), warmup.queue_url or "", 96)
    assert sorted(json.loads(m.body)["n"] for m in received) == list(range(-1, 95))


async def test_fifo_order_within_each_group_survives_concurrency(
    sqs: EnterpriseSQS, unique: str
) -> None:
    publisher = sqs.create_publisher(
        f"{unique}-orders.fifo", create_queue=True, max_in_flight_batches=4, linger=0.001
    )
    groups = ["alice", "bob", "carol"]
    per_group = 30
    results = await asyncio.gather(
        *(
            publisher.publish({"g": g, "seq": i}, group_id=g, deduplication_id=f"{g}-{i}")
            for i in range(per_group)
            for g in groups
        )
    )
    assert all(r.success for r in results), [r.error for r in results if not r.success][:3]
    received = await drain(sqs.get_sqs_client(), results[0].queue_url or "", per_group * 3)
    by_group: dict[str, list[int]] = {g: [] for g in groups}
    for message in received:
        body = json.loads(message.body)
        by_group[body["g"]].append(body["seq"])
    for group in groups:
        assert by_group[group] == list(range(per_group)), group


async def test_fifo_without_a_group_id_fails_with_a_clear_error(
    sqs: EnterpriseSQS, unique: str
) -> None:
    publisher = sqs.create_publisher(f"{unique}-nogroup.fifo", create_queue=True)
    result = await publisher.publish({"x": 1})
    assert not result.success
    assert isinstance(result.error, MissingParameter)
    assert "group" in str(result.error)
    with pytest.raises(MissingParameter):
        result.raise_for_error()


async def test_content_deduplication_on_fifo_suppresses_the_repeat(
    sqs: EnterpriseSQS, unique: str
) -> None:
    publisher = sqs.create_publisher(
        f"{unique}-critical.fifo",
        create_queue=True,
        message_group_id="order-processing",
        deduplication_strategy="content",
    )
    first = await publisher.publish({"type": "order-created", "order": 1})
    again = await publisher.publish({"type": "order-created", "order": 1})
    other = await publisher.publish({"type": "order-created", "order": 2})
    assert first.success
    assert again.success
    assert other.success
    received = await drain(sqs.get_sqs_client(), first.queue_url or "", 2)
    assert [json.loads(m.body)["order"] for m in received] == [1, 2]
    assert await sqs.get_sqs_client().receive(first.queue_url or "") == []


async def test_client_side_window_reports_duplicates_without_sending(
    sqs: EnterpriseSQS, unique: str
) -> None:
    publisher = sqs.create_publisher(
        f"{unique}-events", create_queue=True, enable_deduplication=True
    )
    first = await publisher.publish({"type": "signup", "user": 1})
    second = await publisher.publish({"type": "signup", "user": 1})
    assert first.success
    assert not first.duplicate
    assert second.success
    assert second.duplicate
    assert second.message_id == first.message_id
    received = await drain(sqs.get_sqs_client(), first.queue_url or "", 1)
    assert len(received) == 1
    assert await sqs.get_sqs_client().receive(first.queue_url or "") == []


async def test_explicit_and_callable_deduplication_ids(sqs: EnterpriseSQS, unique: str) -> None:
    by_id = sqs.create_publisher(
        f"{unique}-a", create_queue=True, enable_deduplication=True, deduplication_strategy="id"
    )
    assert (await by_id.publish({"v": 1}, deduplication_id="k1")).success
    assert (await by_id.publish({"v": 2}, deduplication_id="k1")).duplicate
    missing = await by_id.publish({"v": 3})
    assert isinstance(missing.error, MissingParameter)

    by_key = sqs.create_publisher(
        f"{unique}-b",
        create_queue=True,
        enable_deduplication=True,
        deduplication_strategy=lambda obj: f"order-{obj['order']}",
    )
    assert not (await by_key.publish({"order": 5, "v": 1})).duplicate
    assert (await by_key.publish({"order": 5, "v": 2})).duplicate


async def test_oversize_message_fails_before_sending_and_says_by_how_much(
    sqs: EnterpriseSQS, unique: str
) -> None:
    url = await sqs.get_sqs_client().create_queue(f"{unique}-small", {"MaximumMessageSize": "1024"})
    publisher = sqs.create_publisher(url)
    assert (await publisher.publish("x" * 1000, attributes={"tenant": "y" * 12})).success
    before = sqs.get_sqs_client().stats.snapshot().calls
    result = await publisher.publish("x" * 1000, attributes={"tenant": "y" * 30})
    assert isinstance(result.error, MessageTooLong)
    # body 1000 + name 6 + type 6 + value 30 = 1042 bytes, 18 over.
    assert "1042 bytes" in str(result.error)
    assert "18 bytes over" in str(result.error)
    assert sqs.get_sqs_client().stats.snapshot().calls == before, "nothing may be sent"


async def test_partial_batch_failure_is_reported_per_message(
    sqs: EnterpriseSQS, unique: str
) -> None:
    if sqs.get_sqs_client().name.startswith("endpoint:"):
        pytest.xfail("moto accepts characters SQS rejects inside SendMessageBatch entries")
    publisher = sqs.create_publisher(f"{unique}-mixed", create_queue=True, linger=0.05)
    results = await asyncio.gather(
        publisher.publish("fine 1"), publisher.publish("bad \x00 char"), publisher.publish("fine 2")
    )
    assert [r.success for r in results] == [True, False, True]
    assert isinstance(results[1].error, InvalidMessageContents)
    assert results[1].message_id is None
    received = await drain(sqs.get_sqs_client(), results[0].queue_url or "", 2)
    assert sorted(m.body for m in received) == ["fine 1", "fine 2"]
    assert await sqs.get_sqs_client().receive(results[0].queue_url or "") == []


async def test_missing_queue_gives_a_failed_result_as_in_the_seed(sqs: EnterpriseSQS) -> None:
    publisher = sqs.create_publisher("invalid-queue")
    result = await publisher.publish({"type": "test"})
    assert result.success is False
    assert isinstance(result.error, QueueDoesNotExist)


async def test_attributes_map_python_values_to_sqs_types(sqs: EnterpriseSQS, unique: str) -> None:
    publisher = sqs.create_publisher(
        f"{unique}-attrs", create_queue=True, attributes={"source": "billing"}
    )
    result = await publisher.publish(
        "body",
        attributes={"count": 3, "price": decimal.Decimal("9.95"), "ratio": 0.5, "raw": b"\x01\x02"},
    )
    assert result.success
    (message,) = await drain(sqs.get_sqs_client(), result.queue_url or "", 1)
    attrs = message.message_attributes
    assert attrs["source"].data_type == "String"
    assert attrs["source"].string_value == "billing"
    assert attrs["count"].data_type == "Number"
    assert attrs["count"].string_value == "3"
    assert attrs["price"].string_value == "9.95"
    assert attrs["ratio"].string_value == "0.5"
    assert attrs["raw"].data_type == "Binary"
    assert attrs["raw"].binary_value == b"\x01\x02"


@dataclasses.dataclass
class Order:
    order_id: int
    total: decimal.Decimal


async def test_dataclasses_and_bytes_bodies(sqs: EnterpriseSQS, unique: str) -> None:
    publisher = sqs.create_publisher(f"{unique}-bodies", create_queue=True)
    first = await publisher.publish(Order(order_id=1, total=decimal.Decimal("12.50")))
    second = await publisher.publish(b"plain text")
    bad = await publisher.publish(b"\xff\xfe")
    unserializable = await publisher.publish(object())
    assert first.success
    assert second.success
    assert isinstance(bad.error, MessageSerializationError)
    assert "UTF-8" in str(bad.error)
    assert isinstance(unserializable.error, MessageSerializationError)
    received = await drain(sqs.get_sqs_client(), first.queue_url or "", 2)
    assert [m.body for m in received] == ['{"order_id":1,"total":"12.50"}', "plain text"]


async def test_close_while_thousands_are_pending_loses_nothing(unique: str) -> None:
    sqs = EnterpriseSQS(backend="memory://")
    publisher = sqs.create_publisher(f"{unique}-flood", create_queue=True, max_in_flight_batches=2)
    tasks = [asyncio.create_task(publisher.publish({"n": i})) for i in range(3000)]
    await asyncio.sleep(0)  # every publish is now waiting in the batcher
    await publisher.aclose()
    results = [task.result() for task in tasks]  # aclose returned: every result must be there
    assert all(r.success for r in results)
    received = await drain(sqs.get_sqs_client(), results[0].queue_url or "", 3000)
    assert sorted(json.loads(m.body)["n"] for m in received) == list(range(3000))
    with pytest.raises(ClientClosedError):
        await publisher.publish({"late": True})
    await sqs.aclose()


def test_bad_options_are_refused_with_the_option_named() -> None:
    sqs = EnterpriseSQS(backend="memory://")
    with pytest.raises(ConfigurationError, match="deduplication_strategy"):
        sqs.create_publisher("q", deduplication_strategy="sha1")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="delay_seconds"):
        sqs.create_publisher("q", delay_seconds=901)
    with pytest.raises(ConfigurationError, match="message_group_id"):
        sqs.create_publisher("q", message_group_id="")
    with pytest.raises(ConfigurationError, match="queue"):
        sqs.create_publisher("")
