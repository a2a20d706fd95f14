"""SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch: shapes, limits and
per-entry failures inside a successful call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from enterprise_sqs.checksums import md5_of_body
from enterprise_sqs.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    QueueDoesNotExist,
    TooManyEntriesInBatchRequest,
)
from enterprise_sqs.models import BatchResult, ChangeVisibilityEntry, DeleteEntry
from tests.contract.conftest import Harness
from tests.contract.messaging import (
    MIB,
    counts,
    entry,
    missing_queue_url,
    receive,
    receive_all,
    send,
)

# A batch operation under test: given the harness, a queue URL and entry ids, it calls the
# operation with one entry per id (real handles for delete/change, real bodies for send).
BatchCall = Callable[[Harness, str, Sequence[str]], Awaitable[BatchResult[Any]]]


async def _handles(sqs: Harness, url: str, n: int) -> list[str]:
    for i in range(n):
        await send(sqs, url, f"h{i}")
    got = await receive_all(sqs, url, visibility_timeout=300)
    return [m.receipt_handle for m in got]


async def _send_batch(sqs: Harness, url: str, ids: Sequence[str]) -> BatchResult[Any]:
    return await sqs.backend.send_batch(
        url, [entry(f"body {i}", id=id_) for i, id_ in enumerate(ids)]
    )


async def _delete_batch(sqs: Harness, url: str, ids: Sequence[str]) -> BatchResult[Any]:
    handles = await _handles(sqs, url, len(ids)) if ids else []
    entries = [DeleteEntry(id=id_, receipt_handle=handles[i]) for i, id_ in enumerate(ids)]
    return await sqs.backend.delete_batch(url, entries)


async def _change_batch(sqs: Harness, url: str, ids: Sequence[str]) -> BatchResult[Any]:
    handles = await _handles(sqs, url, len(ids)) if ids else []
    entries = [
        ChangeVisibilityEntry(id=id_, receipt_handle=handles[i], visibility_timeout=5)
        for i, id_ in enumerate(ids)
    ]
    return await sqs.backend.change_visibility_batch(url, entries)


OPS: dict[str, BatchCall] = {"send": _send_batch, "delete": _delete_batch, "change": _change_batch}
# moto checks batch shapes fully only for SendMessageBatch.
MOTO_SKIPS_SHAPE_CHECKS = pytest.mark.moto_deviation(
    "moto does not validate this batch shape for delete/change-visibility batches"
)


def _ops(*lenient_on_moto: str) -> list[object]:
    return [
        pytest.param(op, id=op, marks=[MOTO_SKIPS_SHAPE_CHECKS] if op in lenient_on_moto else [])
        for op in OPS
    ]


# -- whole-request shape errors ------------------------------------------------------------------


@pytest.mark.parametrize("op", _ops("delete", "change"))
async def test_eleven_entries_raise_too_many_entries(sqs: Harness, op: str) -> None:
    url = await sqs.create()
    with pytest.raises(TooManyEntriesInBatchRequest) as caught:
        await OPS[op](sqs, url, [f"e{i}" for i in range(11)])
    assert caught.value.message == "Maximum number of entries per request are 10. You have sent 11."


@pytest.mark.parametrize("op", _ops("change"))
async def test_empty_batch_raises_empty_batch_request(sqs: Harness, op: str) -> None:
    url = await sqs.create()
    with pytest.raises(EmptyBatchRequest):
        await OPS[op](sqs, url, [])


@pytest.mark.parametrize("op", _ops("delete", "change"))
async def test_duplicate_entry_ids_raise_batch_entry_ids_not_distinct(
    sqs: Harness, op: str
) -> None:
    url = await sqs.create()
    with pytest.raises(BatchEntryIdsNotDistinct):
        await OPS[op](sqs, url, ["same", "other", "same"])


BAD_IDS = {"space": "a b", "period": "a.b", "slash": "a/b", "too_long_81": "x" * 81}


@pytest.mark.parametrize("op", _ops("delete", "change"))
@pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=[f"id_{k}" for k in BAD_IDS])
async def test_bad_entry_id_raises_invalid_batch_entry_id(
    sqs: Harness, op: str, bad_id: str
) -> None:
    url = await sqs.create()
    with pytest.raises(InvalidBatchEntryId):
        await OPS[op](sqs, url, ["good", bad_id])


@pytest.mark.parametrize("op", _ops())
async def test_entry_id_of_80_letters_digits_hyphens_underscores_is_accepted(
    sqs: Harness, op: str
) -> None:
    url = await sqs.create()
    good = ("Ab3-_" * 16)[:80]
    result = await OPS[op](sqs, url, [good])
    assert result.failed == []


async def test_batch_over_one_mib_raises_batch_request_too_long(sqs: Harness) -> None:
    url = await sqs.create()
    half = MIB // 2
    entries = [entry("x" * half, id="a"), entry("x" * (half + 1), id="b")]
    with pytest.raises(BatchRequestTooLong) as caught:
        await sqs.backend.send_batch(url, entries)
    assert "Batch requests cannot be longer than 1048576 bytes" in caught.value.message
    assert await counts(sqs, url) == (0, 0, 0)


async def test_batch_of_exactly_one_mib_is_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    half = MIB // 2
    result = await sqs.backend.send_batch(
        url, [entry("x" * half, id="a"), entry("y" * half, id="b")]
    )
    assert sorted(s.id for s in result.successful) == ["a", "b"]


async def test_batch_to_missing_queue_raises_queue_does_not_exist(sqs: Harness) -> None:
    url = await missing_queue_url(sqs)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.send_batch(url, [entry("x")])


# -- success -------------------------------------------------------------------------------------


async def test_send_batch_of_ten_sends_every_entry(sqs: Harness) -> None:
    url = await sqs.create()
    bodies = {f"e{i}": f"body {i} ✓" for i in range(10)}
    result = await sqs.backend.send_batch(url, [entry(b, id=i) for i, b in bodies.items()])
    assert result.failed == []
    assert {s.id for s in result.successful} == set(bodies)
    for success in result.successful:
        assert success.md5_of_body == md5_of_body(bodies[success.id])
    assert len({s.message_id for s in result.successful}) == 10
    received = await receive_all(sqs, url)
    assert sorted(m.body for m in received) == sorted(bodies.values())
    assert {m.message_id for m in received} == {s.message_id for s in result.successful}


async def test_delete_batch_deletes_every_entry(sqs: Harness) -> None:
    url = await sqs.create()
    handles = await _handles(sqs, url, 5)
    result = await sqs.backend.delete_batch(
        url, [DeleteEntry(id=f"d{i}", receipt_handle=h) for i, h in enumerate(handles)]
    )
    assert sorted(result.successful) == [f"d{i}" for i in range(5)]
    assert result.failed == []
    assert await counts(sqs, url) == (0, 0, 0)


async def test_change_visibility_batch_changes_every_entry(sqs: Harness) -> None:
    url = await sqs.create()
    handles = await _handles(sqs, url, 4)
    result = await sqs.backend.change_visibility_batch(
        url,
        [
            ChangeVisibilityEntry(id=f"c{i}", receipt_handle=h, visibility_timeout=0)
            for i, h in enumerate(handles)
        ],
    )
    assert sorted(result.successful) == [f"c{i}" for i in range(4)]
    assert len(await receive_all(sqs, url)) == 4


# -- per-entry failures --------------------------------------------------------------------------


async def test_send_batch_entry_with_bad_delay_fails_alone(sqs: Harness) -> None:
    url = await sqs.create()
    result = await sqs.backend.send_batch(
        url,
        [
            entry("ok 1", id="ok1"),
            entry("bad", id="bad", delay_seconds=901),
            entry("ok 2", id="ok2"),
        ],
    )
    assert sorted(s.id for s in result.successful) == ["ok1", "ok2"]
    (failure,) = result.failed
    assert failure.id == "bad"
    assert failure.code == "InvalidParameterValue"
    assert failure.sender_fault is True
    assert "DelaySeconds" in failure.message
    assert sorted(m.body for m in await receive_all(sqs, url)) == ["ok 1", "ok 2"]


@pytest.mark.moto_deviation("moto does not check the body's characters")
async def test_send_batch_entry_with_illegal_characters_fails_alone(sqs: Harness) -> None:
    url = await sqs.create()
    result = await sqs.backend.send_batch(url, [entry("fine", id="ok"), entry("bad\x00", id="bad")])
    assert [s.id for s in result.successful] == ["ok"]
    (failure,) = result.failed
    assert failure.id == "bad"
    assert failure.code == "InvalidMessageContents"
    assert failure.sender_fault is True


@pytest.mark.moto_deviation("moto refuses the whole batch when one message is too long")
async def test_send_batch_entry_over_maximum_message_size_fails_alone(sqs: Harness) -> None:
    url = await sqs.create(MaximumMessageSize="1024")
    result = await sqs.backend.send_batch(
        url, [entry("x" * 1025, id="big"), entry("small", id="ok")]
    )
    assert [s.id for s in result.successful] == ["ok"]
    (failure,) = result.failed
    assert failure.id == "big"
    assert failure.code == "InvalidParameterValue"
    assert "Message must be shorter than 1024 bytes" in failure.message


async def test_delete_batch_with_one_bad_handle_fails_that_entry_only(sqs: Harness) -> None:
    url = await sqs.create()
    handles = await _handles(sqs, url, 2)
    result = await sqs.backend.delete_batch(
        url,
        [
            DeleteEntry(id="a", receipt_handle=handles[0]),
            DeleteEntry(id="bad", receipt_handle="garbage"),
            DeleteEntry(id="b", receipt_handle=handles[1]),
        ],
    )
    assert sorted(result.successful) == ["a", "b"]
    (failure,) = result.failed
    assert failure.id == "bad"
    assert failure.code == "ReceiptHandleIsInvalid"
    assert failure.sender_fault is True
    assert await counts(sqs, url) == (0, 0, 0)


async def test_change_visibility_batch_with_one_bad_handle_fails_that_entry_only(
    sqs: Harness,
) -> None:
    url = await sqs.create()
    (handle,) = await _handles(sqs, url, 1)
    result = await sqs.backend.change_visibility_batch(
        url,
        [
            ChangeVisibilityEntry(id="bad", receipt_handle="garbage", visibility_timeout=0),
            ChangeVisibilityEntry(id="ok", receipt_handle=handle, visibility_timeout=0),
        ],
    )
    assert result.successful == ["ok"]
    (failure,) = result.failed
    assert failure.id == "bad"
    assert failure.code == "ReceiptHandleIsInvalid"
    assert failure.sender_fault is True
    assert len(await receive(sqs, url)) == 1


async def test_change_visibility_batch_entry_over_12_hours_fails_alone(sqs: Harness) -> None:
    url = await sqs.create()
    handles = await _handles(sqs, url, 2)
    result = await sqs.backend.change_visibility_batch(
        url,
        [
            ChangeVisibilityEntry(id="long", receipt_handle=handles[0], visibility_timeout=43201),
            ChangeVisibilityEntry(id="ok", receipt_handle=handles[1], visibility_timeout=0),
        ],
    )
    assert result.successful == ["ok"]
    (failure,) = result.failed
    assert failure.id == "long"
    assert failure.code == "InvalidParameterValue"
    assert failure.sender_fault is True


async def test_batch_failure_converts_to_the_typed_error(sqs: Harness) -> None:
    url = await sqs.create()
    result = await sqs.backend.delete_batch(url, [DeleteEntry(id="bad", receipt_handle="garbage")])
    (failure,) = result.failed
    assert type(failure.to_exception()).__name__ == "ReceiptHandleIsInvalid"
    assert failure.retryable is False
