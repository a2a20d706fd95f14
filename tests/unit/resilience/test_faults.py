"""FaultyBackend does exactly what it is told, and nothing when told nothing."""

from __future__ import annotations

import asyncio

import pytest

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import (
    ConfigurationError,
    InvalidParameterValue,
    ServiceUnavailable,
    ThrottlingError,
)
from enterprise_sqs.models import DeleteEntry, SendEntry
from enterprise_sqs.resilience import FaultyBackend
from tests.unit.resilience.fakes import FakeBackend


@pytest.fixture
async def faulty() -> FaultyBackend:
    return FaultyBackend(FakeBackend(), seed=7)


async def test_is_a_backend_that_forwards(faulty: FaultyBackend) -> None:
    assert isinstance(faulty, Backend)
    url = await faulty.create_queue("q")
    await faulty.send_message(url, SendEntry(id="x", body="hello"))
    (msg,) = await faulty.receive(url)
    assert msg.body == "hello"
    assert faulty.calls == {"create_queue": 1, "send_message": 1, "receive": 1}
    assert faulty.name == "faulty(fake://)"


async def test_fail_for_n_calls_then_recover(faulty: FaultyBackend) -> None:
    rule = faulty.fail(ServiceUnavailable("boom"), times=2)
    for _ in range(2):
        with pytest.raises(ServiceUnavailable, match="boom"):
            await faulty.list_queues()
    await faulty.list_queues()
    assert rule.applied == 2 and rule.exhausted


async def test_throttle_only_the_named_operations(faulty: FaultyBackend) -> None:
    url = await faulty.create_queue("q")
    faulty.throttle(operations={"receive"})
    await faulty.get_queue_attributes(url)
    with pytest.raises(ThrottlingError):
        await faulty.receive(url)


async def test_fraction_is_repeatable_with_a_seed() -> None:
    async def pattern() -> list[bool]:
        faulty = FaultyBackend(FakeBackend(), seed=3)
        faulty.fail(ServiceUnavailable, fraction=0.5)
        outcome = []
        for _ in range(40):
            try:
                await faulty.list_queues()
                outcome.append(True)
            except ServiceUnavailable:
                outcome.append(False)
        return outcome

    first, second = await pattern(), await pattern()
    assert first == second
    assert 5 < first.count(False) < 35


async def test_stall_holds_calls_until_released(faulty: FaultyBackend) -> None:
    rule = faulty.stall(times=1)
    task = asyncio.create_task(faulty.list_queues())
    await rule.wait_stalled()
    assert not task.done()
    await faulty.list_queues()  # times=1: only the first call stalls
    rule.release()
    page = await task
    assert page.queue_urls == []


async def test_stall_for_seconds(faulty: FaultyBackend) -> None:
    faulty.stall(seconds=0.01)
    await asyncio.wait_for(faulty.list_queues(), timeout=10)


async def test_clear_releases_stalls_and_forgets_rules(faulty: FaultyBackend) -> None:
    rule = faulty.stall()
    faulty.fail(ServiceUnavailable)
    task = asyncio.create_task(faulty.list_queues())
    await rule.wait_stalled()
    faulty.clear()
    await task
    await faulty.list_queues()


async def test_fail_entries_by_id_and_forward_the_rest(faulty: FaultyBackend) -> None:
    url = await faulty.create_queue("q")
    faulty.fail_entries(ServiceUnavailable, ids={"b"})
    faulty.fail_entries(InvalidParameterValue("bad"), ids={"c"}, times=1)
    batch = [SendEntry(id=i, body=i) for i in "abcd"]
    result = await faulty.send_batch(url, batch)
    assert sorted(s.id for s in result.successful) == ["a", "d"]
    assert {(f.id, f.code, f.sender_fault) for f in result.failed} == {
        ("b", "ServiceUnavailable", False),
        ("c", "InvalidParameterValue", True),
    }
    assert isinstance(faulty.inner, FakeBackend)
    assert faulty.inner.sent == ["a", "d"]
    result = await faulty.send_batch(url, batch)
    assert [f.id for f in result.failed] == ["b"]
    assert faulty.batches == [("send_batch", ["a", "b", "c", "d"])] * 2


async def test_fail_entries_when_all_fail_never_sends(faulty: FaultyBackend) -> None:
    url = await faulty.create_queue("q")
    faulty.fail_entries(ServiceUnavailable)
    result = await faulty.delete_batch(url, [DeleteEntry(id="a", receipt_handle="rh-1")])
    assert result.successful == [] and [f.id for f in result.failed] == ["a"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.fail(ServiceUnavailable, times=0), "times"),
        (lambda f: f.fail(ServiceUnavailable, fraction=1.5), "fraction"),
        (lambda f: f.fail(ServiceUnavailable, operations={"sned_batch"}), "unknown operations"),
        (lambda f: f.fail_entries(ServiceUnavailable, operations={"receive"}), "fail_entries"),
        (lambda f: f.stall(seconds=0), "seconds"),
    ],
)
def test_commands_validate(faulty: FaultyBackend, call: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call(faulty)  # type: ignore[operator]  # parametrized as object


def test_wraps_only_backends() -> None:
    with pytest.raises(ConfigurationError, match="Backend"):
        FaultyBackend(object())  # type: ignore[arg-type]  # the wrong type on purpose


async def test_aclose_releases_and_closes(faulty: FaultyBackend) -> None:
    rule = faulty.stall()
    task = asyncio.create_task(faulty.list_queues())
    await rule.wait_stalled()
    await faulty.aclose()
    await task
    assert isinstance(faulty.inner, FakeBackend) and faulty.inner.closed
