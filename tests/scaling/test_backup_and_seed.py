"""Message backup (SQLite, JSON lines, S3 on moto), replay (API and ``esqs backup replay``), and
the seed's scaling and disaster-recovery examples written against this API."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from enterprise_sqs.cli import cli
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import EnterpriseSQSConfig
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.publishing.backup import (
    BackupStore,
    JSONLinesBackupStore,
    MessageBackup,
    S3BackupStore,
    SQLiteBackupStore,
    open_backup_store,
    replay,
)
from enterprise_sqs.publishing.failover import FailoverPublisher
from tests.support.moto import reset_moto


async def drain(sqs: EnterpriseSQS, queue: str) -> list[Any]:
    backend = sqs.get_sqs_client()
    url = await backend.get_queue_url(queue)
    got = []
    while batch := await backend.receive(url, max_messages=10, attribute_names=["All"]):
        got.extend(batch)
        for message in batch:
            await backend.delete_message(url, message.receipt_handle)
    return got


def s3_store(moto_url: str) -> S3BackupStore:
    reset_moto(moto_url)
    request = urllib.request.Request(f"{moto_url}/backups", method="PUT")  # create the bucket
    with urllib.request.urlopen(request, timeout=10):
        pass
    return S3BackupStore(
        "backups",
        prefix="esqs/",
        endpoint_url=moto_url,
        credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
    )


@pytest.mark.parametrize("kind", ["sqlite", "jsonl", "s3"])
async def test_every_published_message_is_backed_up_and_replays(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store: BackupStore
    if kind == "sqlite":
        store = SQLiteBackupStore(tmp_path / "backup.db")
    elif kind == "jsonl":
        store = JSONLinesBackupStore(tmp_path / "backup")
    else:
        store = s3_store(request.getfixturevalue("scaling_moto_url"))
    async with EnterpriseSQS() as sqs:
        await sqs.get_sqs_client().create_queue(
            "orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        )
        publisher = sqs.create_publisher("orders.fifo", message_group_id="g")
        backup = MessageBackup(store, flush_interval=0.01)
        backup.attach(publisher)
        before = time.time()
        results = [
            await publisher.publish({"n": n}, deduplication_id=f"d{n}", attributes={"n": n})
            for n in range(5)
        ]
        await backup.flush()
        records = [r async for r in store.read(queue="orders.fifo")]
        assert [r.message_id for r in records] == [r.message_id for r in results]
        assert [r.deduplication_id for r in records] == [f"d{n}" for n in range(5)]
        assert records[0].group_id == "g" and records[0].attributes["n"].string_value == "0"
        assert all(before <= r.timestamp <= time.time() for r in records)
        assert [r async for r in store.read(queue="orders.fifo", until=before)] == []

        originals = await drain(sqs, "orders.fifo")
        report = await replay(store, sqs, queue="orders.fifo", since=before, to_queue=None)
        assert (report.read, report.published, report.failed) == (5, 5, 0)
        # Within five minutes the FIFO queue drops repeats of the same deduplication ids.
        assert await drain(sqs, "orders.fifo") == []
        assert len(originals) == 5

        await sqs.get_sqs_client().create_queue("copy")
        report = await replay(store, sqs, queue="orders.fifo", to_queue="copy")
        copies = await drain(sqs, "copy")
        assert sorted(m.body for m in copies) == sorted(m.body for m in originals)
        assert not {m.message_id for m in copies} & {m.message_id for m in originals}
        await backup.aclose()


def test_open_backup_store_specs(tmp_path: Path) -> None:
    assert isinstance(open_backup_store(f"sqlite:///{tmp_path}/b.db"), SQLiteBackupStore)
    assert isinstance(open_backup_store(tmp_path / "b.db"), SQLiteBackupStore)
    assert isinstance(open_backup_store(f"jsonl:///{tmp_path}/dir"), JSONLinesBackupStore)
    assert isinstance(open_backup_store("s3://bucket/prefix"), S3BackupStore)
    from enterprise_sqs.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        open_backup_store("ftp://nowhere")


def test_cli_backup_replay_republishes_a_time_range(tmp_path: Path) -> None:
    db = tmp_path / "queues.db"
    store = tmp_path / "backup.db"

    async def publish() -> float:
        async with EnterpriseSQS(EnterpriseSQSConfig(backend=f"sqlite:///{db}")) as sqs:
            await sqs.get_sqs_client().create_queue("events")
            publisher = sqs.create_publisher("events")
            backup = MessageBackup(SQLiteBackupStore(store), flush_interval=0)
            backup.attach(publisher)
            for n in range(3):
                assert (await publisher.publish({"n": n})).success
            cut = time.time()
            await asyncio.sleep(0.01)
            assert (await publisher.publish({"n": 3})).success
            await backup.aclose()
            await drain(sqs, "events")
            return cut

    cut = asyncio.run(publish())
    result = CliRunner().invoke(
        cli,
        [
            "--backend",
            f"sqlite:///{db}",
            "backup",
            "replay",
            "--queue",
            "events",
            "--until",
            str(cut),
            "--store",
            str(store),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "replayed 3 of 3 messages to events" in result.output

    async def check() -> list[str]:
        async with EnterpriseSQS(EnterpriseSQSConfig(backend=f"sqlite:///{db}")) as sqs:
            return sorted(m.body for m in await drain(sqs, "events"))

    assert asyncio.run(check()) == ['{"n":0}', '{"n":1}', '{"n":2}']
    bad = CliRunner().invoke(cli, ["backup", "replay", "--queue", "e", "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


# -- the seed's examples, in Python --------------------------------------------------------------


async def test_seed_horizontal_scaling_five_consumer_instances(sqs: EnterpriseSQS) -> None:
    await sqs.get_sqs_client().create_queue("high-volume-queue")
    handled: dict[int, int] = {}
    done = asyncio.Event()

    def create_consumer_instance(instance_id: int) -> Any:
        consumer = sqs.create_consumer(
            "high-volume-queue",
            processing_mode="parallel",
            batch_size=10,
            max_messages=10,
            wait_time_seconds=0,
            polling_interval=10,
        )

        async def handler(message: Any, context: Any) -> None:
            handled[instance_id] = handled.get(instance_id, 0) + 1
            if sum(handled.values()) == 200:
                done.set()

        return consumer, handler

    instances = [create_consumer_instance(i) for i in range(5)]
    for consumer, handler in instances:
        await consumer.start(handler)
    await sqs.create_publisher("high-volume-queue").publish_many({"i": i} for i in range(200))
    await asyncio.wait_for(done.wait(), 30)
    for consumer, _ in instances:
        await consumer.stop()
    assert sum(handled.values()) == 200 and len(handled) >= 2


async def test_seed_publish_to_partitioned_queue(sqs: EnterpriseSQS) -> None:
    partitioned = sqs.create_partitioned_publisher(
        "customer-queue-{partition}.fifo",
        partitions=10,
        group_id="customer-{key}",
        create_queue=True,
    )

    async def publish_to_partitioned_queue(message: dict[str, Any]) -> Any:
        return await partitioned.publish(message, key=message["customerId"])

    result = await publish_to_partitioned_queue({"customerId": 1234, "total": 5})
    assert result.success
    assert result.queue_url is not None and result.queue_url.endswith(partitioned.queue_for(1234))


async def test_seed_load_balanced_publish(sqs: EnterpriseSQS) -> None:
    for name in ("queue-1.fifo", "queue-2.fifo", "queue-3.fifo"):
        await sqs.get_sqs_client().create_queue(name, {"FifoQueue": "true"})
    balanced = sqs.create_balanced_publisher(
        ["queue-1.fifo", "queue-2.fifo", "queue-3.fifo"],
        strategy="random",
        message_group_id="load-balanced",
    )

    async def load_balanced_publish(message: Any) -> Any:
        return await balanced.publish(message)

    results = [await load_balanced_publish({"i": i}) for i in range(30)]
    assert all(r.success for r in results)
    assert len({r.queue_url for r in results}) == 3


async def test_seed_publish_with_failover() -> None:
    primary = EnterpriseSQS(EnterpriseSQSConfig(backend="memory://", region="us-east-1"))
    secondary = EnterpriseSQS(EnterpriseSQSConfig(backend="memory://", region="us-west-2"))
    for client in (primary, secondary):
        await client.get_sqs_client().create_queue("queue.fifo", {"FifoQueue": "true"})
    failover = FailoverPublisher([primary, secondary], "queue.fifo", message_group_id="g")

    async def publish_with_failover(message: Any) -> Any:
        return await failover.publish(message)

    assert (await publish_with_failover({"a": 1})).destination == "us-east-1"
    primary.get_sqs_client().breaker().force_open()  # the primary region fails
    assert (await publish_with_failover({"a": 2})).destination == "us-west-2"
    await failover.aclose()
    await primary.aclose()
    await secondary.aclose()


async def test_seed_publish_with_backup(sqs: EnterpriseSQS, tmp_path: Path) -> None:
    await sqs.get_sqs_client().create_queue("orders")
    publisher = sqs.create_publisher("orders")
    backup = MessageBackup(SQLiteBackupStore(tmp_path / "backup.db"), flush_interval=0)
    backup.attach(publisher)  # every published message is copied, with its message id

    async def publish_with_backup(message: Any) -> Any:
        result = await publisher.publish(message)
        result.raise_for_error()
        return result

    result = await publish_with_backup({"order": 1})
    await backup.aclose()
    records = [r async for r in SQLiteBackupStore(tmp_path / "backup.db").read(queue="orders")]
    assert [(r.message_id, r.body) for r in records] == [(result.message_id, '{"order":1}')]
