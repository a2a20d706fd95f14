"""Partitioning: jump consistent hashing spreads keys evenly and moves few when N grows."""

from __future__ import annotations

from collections import Counter

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import ConfigurationError, InvalidParameterValue
from enterprise_sqs.publishing.partition import jump_hash, partition_for


def test_100k_keys_spread_within_5_percent_of_even_over_10_partitions() -> None:
    counts = Counter(partition_for(f"customer-{i}", 10) for i in range(100_000))
    assert set(counts) == set(range(10))
    for partition, count in counts.items():
        assert abs(count - 10_000) <= 500, (partition, count)


def test_sequential_integer_keys_spread_evenly_too() -> None:
    counts = Counter(partition_for(i, 10) for i in range(100_000))
    assert all(abs(c - 10_000) <= 500 for c in counts.values()), counts


def test_growing_to_11_partitions_moves_about_one_eleventh_and_only_to_the_new_one() -> None:
    keys = [f"customer-{i}" for i in range(100_000)]
    moved = [(partition_for(k, 10), partition_for(k, 11)) for k in keys]
    changed = [(a, b) for a, b in moved if a != b]
    assert abs(len(changed) / len(keys) - 1 / 11) < 0.01
    assert all(b == 10 for _, b in changed)  # a key only ever moves to the new partition


def test_mapping_is_stable_across_calls_and_types() -> None:
    assert partition_for("abc", 7) == partition_for("abc", 7) == partition_for(b"abc", 7)
    assert partition_for(42, 10) == partition_for("42", 10)
    assert jump_hash(0, 1) == 0
    with pytest.raises(ConfigurationError):
        jump_hash(1, 0)
    with pytest.raises(InvalidParameterValue):
        partition_for(1.5, 10)


async def test_partitioned_publisher_sends_each_key_to_its_queue_with_a_derived_group(
    sqs: EnterpriseSQS,
) -> None:
    publisher = sqs.create_partitioned_publisher(
        "customer-queue-{partition}.fifo",
        partitions=4,
        key=lambda m: m["customerId"],
        group_id="customer-{key}",
        create_queue=True,
    )
    results = await publisher.publish_many(
        [{"customerId": c, "n": n} for c in range(8) for n in range(3)]
    )
    assert all(r.success for r in results), results
    backend = sqs.get_sqs_client()
    seen: dict[str, set[str]] = {}
    for index, queue in enumerate(publisher.queues):
        url = await backend.get_queue_url(queue)
        while batch := await backend.receive(url, max_messages=10, attribute_names=["All"]):
            for message in batch:
                group = message.attributes["MessageGroupId"]
                seen.setdefault(group, set()).add(queue)
                customer = int(group.removeprefix("customer-"))
                assert publisher.partition_of(customer) == index
                await backend.delete_message(url, message.receipt_handle)
    assert set(seen) == {f"customer-{c}" for c in range(8)}
    assert all(len(queues) == 1 for queues in seen.values())


def test_partitioned_publisher_validates_its_options(sqs: EnterpriseSQS) -> None:
    with pytest.raises(ConfigurationError, match="partition"):
        sqs.create_partitioned_publisher("no-placeholder", partitions=3)
    with pytest.raises(ConfigurationError, match="partitions"):
        sqs.create_partitioned_publisher("q-{partition}", partitions=0)
    with pytest.raises(ConfigurationError, match="key"):
        sqs.create_partitioned_publisher("q-{partition}", partitions=2, group_id="fixed")


async def test_publish_without_a_key_is_refused(sqs: EnterpriseSQS) -> None:
    publisher = sqs.create_partitioned_publisher("q-{partition}", partitions=2)
    with pytest.raises(InvalidParameterValue, match="key"):
        await publisher.publish({"x": 1})
