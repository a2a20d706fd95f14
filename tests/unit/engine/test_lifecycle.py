"""Durability across reopen, receipt handle tampering, closed backends, constructor checks."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from enterprise_sqs import DeleteEntry, ManualClock, SendEntry, open_backend
from enterprise_sqs.engine.backend import EngineBackend
from enterprise_sqs.errors import ClientClosedError, ConfigurationError, ReceiptHandleIsInvalid


async def test_file_engine_keeps_queues_and_messages_across_reopen(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "durable.db")
    first = EngineBackend(path, clock=clock)
    url = await first.create_queue("kept", {"VisibilityTimeout": "45"})
    fifo = await first.create_queue("kept.fifo", {"FifoQueue": "true"})
    sent = await first.send_batch(url, [SendEntry(id=str(i), body=f"m{i}") for i in range(5)])
    await first.send_message(
        fifo, SendEntry(id="f", body="ordered", group_id="g", deduplication_id="d")
    )
    (held,) = await first.receive(url)
    await first.aclose()

    second = EngineBackend(path, clock=clock)
    try:
        assert (await second.get_queue_attributes(url, ["VisibilityTimeout"])) == {
            "VisibilityTimeout": "45"
        }
        # a handle from before the restart still deletes its message
        await second.delete_message(url, held.receipt_handle)
        rest = await second.receive(url, max_messages=10)
        assert {m.message_id for m in rest} | {held.message_id} == {
            s.message_id for s in sent.successful
        }
        # the dedup window is in the file too
        again = await second.send_message(
            fifo, SendEntry(id="f", body="ordered", group_id="g", deduplication_id="d")
        )
        assert [m.message_id for m in await second.receive(fifo, max_messages=10)] == [
            again.message_id
        ]
    finally:
        await second.aclose()


def _tampered(handle: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(handle))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


async def test_tampered_or_made_up_receipt_handles_are_refused(engine: EngineBackend) -> None:
    url = await engine.create_queue("guarded")
    await engine.send_message(url, SendEntry(id="a", body="precious"))
    (message,) = await engine.receive(url, visibility_timeout=0)
    handle = message.receipt_handle
    length = len(base64.urlsafe_b64decode(handle))
    for index in (0, 5, 12, 20, 30, length - 1):
        with pytest.raises(ReceiptHandleIsInvalid):
            await engine.delete_message(url, _tampered(handle, index))
    for bogus in ("", "not-a-handle", handle[:-4], handle + "AAAA", "!!!!"):
        with pytest.raises(ReceiptHandleIsInvalid):
            await engine.delete_message(url, bogus)
    result = await engine.delete_batch(
        url, [DeleteEntry(id="bad", receipt_handle=_tampered(handle, 9))]
    )
    assert [(f.id, f.code, f.sender_fault) for f in result.failed] == [
        ("bad", "ReceiptHandleIsInvalid", True)
    ]
    # the message is untouched by all of that
    assert [m.body for m in await engine.receive(url)] == ["precious"]


async def test_handle_of_one_queue_is_refused_by_another(engine: EngineBackend) -> None:
    a = await engine.create_queue("a")
    b = await engine.create_queue("b")
    await engine.send_message(a, SendEntry(id="x", body="in a"))
    (message,) = await engine.receive(a)
    with pytest.raises(ReceiptHandleIsInvalid):
        await engine.delete_message(b, message.receipt_handle)


async def test_every_call_after_aclose_raises_and_aclose_is_idempotent(clock: ManualClock) -> None:
    backend = open_backend("memory://", clock=clock)
    url = await backend.create_queue("closing")
    await backend.aclose()
    await backend.aclose()
    calls = [
        backend.create_queue("other"),
        backend.get_queue_url("closing"),
        backend.list_queues(),
        backend.get_queue_attributes(url),
        backend.send_message(url, SendEntry(id="a", body="late")),
        backend.send_batch(url, [SendEntry(id="a", body="late")]),
        backend.receive(url),
        backend.delete_message(url, "x"),
        backend.purge_queue(url),
        backend.list_message_move_tasks("arn:aws:sqs:us-east-1:000000000000:closing"),
    ]
    for call in calls:
        with pytest.raises(ClientClosedError):
            await call


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": ""},
        {"path": 42},
        {"path": None, "clock": object()},
        {"path": None, "region": ""},
        {"path": None, "region": "US EAST"},
        {"path": None, "account_id": "123"},
        {"path": None, "base_url": "localhost:9324"},
        {"path": None, "base_url": "ftp://x"},
    ],
)
def test_constructor_refuses_bad_arguments(kwargs: dict[str, object]) -> None:
    path = kwargs.pop("path")
    with pytest.raises(ConfigurationError):
        EngineBackend(path, **kwargs)  # type: ignore[arg-type]


def test_unopenable_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        EngineBackend(str(tmp_path / "missing-dir" / "x.db"))
    not_sqlite = tmp_path / "text.db"
    not_sqlite.write_text("this is not a database" * 100)
    with pytest.raises(ConfigurationError):
        EngineBackend(str(not_sqlite))


async def test_name_and_urls(tmp_path: Path) -> None:
    memory = EngineBackend(
        None, base_url="http://engine:1234/", account_id="123456789012", region="eu-west-1"
    )
    assert memory.name == "memory://"
    url = await memory.create_queue("named")
    assert url == "http://engine:1234/123456789012/named"
    # any URL whose last segment names the queue reaches it
    attrs = await memory.get_queue_attributes("http://elsewhere:9/123456789012/named", ["QueueArn"])
    assert attrs == {"QueueArn": "arn:aws:sqs:eu-west-1:123456789012:named"}
    await memory.aclose()
    file_backend = EngineBackend(str(tmp_path / "n.db"))
    assert file_backend.name == f"sqlite:///{tmp_path / 'n.db'}"
    await file_backend.aclose()
