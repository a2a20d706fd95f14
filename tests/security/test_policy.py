"""Access control: ``policy(message, context) -> bool`` on consumers. Denied messages are never
handled, never silently dropped (dead-letter queue or delete), always counted and logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming.context import MessageContext
from enterprise_sqs.consuming.options import ConsumerOptions
from enterprise_sqs.errors import ConfigurationError, MessageAccessDenied
from tests.security.conftest import consume, make_queue


async def _publish(sqs: EnterpriseSQS, queue: str, users: list[str]) -> None:
    publisher = sqs.create_publisher(queue)
    for user in users:
        assert (await publisher.publish({"userId": user})).success
    await publisher.aclose()


def allow_alice(message: Any, context: MessageContext) -> bool:
    return bool(message["userId"] == "alice")


async def allow_alice_async(message: Any, context: MessageContext) -> bool:
    return bool(message["userId"] == "alice")


@pytest.mark.parametrize("policy", [allow_alice, allow_alice_async], ids=["sync", "async"])
async def test_denied_messages_go_to_the_dead_letter_queue_counted_and_logged(
    memory_sqs: EnterpriseSQS, unique: str, policy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, dlq_url = await make_queue(memory_sqs, unique, dlq=True)
    assert dlq_url is not None
    await _publish(memory_sqs, unique, ["alice", "mallory", "alice"])
    with caplog.at_level(logging.WARNING, logger="enterprise_sqs.consuming"):
        handled, events = await consume(memory_sqs, unique, 3, policy=policy)
    assert handled == [{"userId": "alice"}] * 2
    kinds = sorted(e.kind for e in events)
    assert kinds == ["dead_lettered", "denied", "processed", "processed"]
    denied = next(e for e in events if e.kind == "denied")
    assert isinstance(denied.error, MessageAccessDenied)
    assert any("access denied" in r.getMessage() for r in caplog.records)
    [dead] = await memory_sqs.get_sqs_client().receive(dlq_url)
    assert '"mallory"' in dead.body


async def test_on_denied_delete_deletes_and_still_counts(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    url, dlq_url = await make_queue(memory_sqs, unique, dlq=True)
    assert dlq_url is not None
    await _publish(memory_sqs, unique, ["mallory", "alice"])
    handled, events = await consume(
        memory_sqs,
        unique,
        2,
        policy=allow_alice,
        on_denied="delete",
        fates=frozenset({"processed", "denied"}),
    )
    assert handled == [{"userId": "alice"}]
    assert sorted(e.kind for e in events) == ["denied", "processed"]
    client = memory_sqs.get_sqs_client()
    assert await client.receive(dlq_url) == []
    attrs = await client.get_queue_attributes(
        url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert attrs == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


async def test_the_policy_runs_before_every_other_middleware_and_in_batches(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    await make_queue(memory_sqs, unique, dlq=True)
    await _publish(memory_sqs, unique, ["mallory", "alice"])
    seen_by_middleware: list[str] = []

    async def audit(context: MessageContext, call_next: Any) -> Any:
        message: Any = context.message
        seen_by_middleware.append(message["userId"])
        return await call_next()

    handled, _ = await consume(memory_sqs, unique, 2, policy=allow_alice, middleware=[audit])
    assert seen_by_middleware == ["alice"]
    assert handled == [{"userId": "alice"}]


async def test_batch_handlers_get_only_allowed_messages(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    import asyncio

    await make_queue(memory_sqs, unique, dlq=True)
    await _publish(memory_sqs, unique, ["mallory", "alice", "bob"])
    consumer = memory_sqs.create_consumer(
        unique, policy=allow_alice, wait_time_seconds=0, polling_interval=10, batch_size=10
    )
    batches: list[list[Any]] = []
    done = asyncio.Event()
    consumer.subscribe(
        lambda e: done.set() if consumer.stats.denied + consumer.stats.processed >= 3 else None
    )

    async def handle(contexts: list[MessageContext]) -> None:
        batches.append([c.message for c in contexts])

    await consumer.start(handle, batch=True)
    await asyncio.wait_for(done.wait(), 10)
    await consumer.stop()
    assert [m for batch in batches for m in batch] == [{"userId": "alice"}]
    snapshot = consumer.stats.snapshot()
    assert (snapshot.denied, snapshot.processed, snapshot.dead_lettered) == (2, 1, 2)


async def test_a_policy_that_raises_retries_the_message(
    memory_sqs: EnterpriseSQS, unique: str
) -> None:
    await make_queue(memory_sqs, unique, dlq=True)
    await _publish(memory_sqs, unique, ["alice"])
    calls: list[int] = []

    def flaky(message: Any, context: MessageContext) -> bool:
        calls.append(context.receive_count)
        if len(calls) == 1:
            raise ConnectionError("directory unavailable")
        return True

    handled, _ = await consume(memory_sqs, unique, 1, policy=flaky)
    assert handled == [{"userId": "alice"}]
    assert calls == [1, 2]


def test_policy_options_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="policy"):
        ConsumerOptions(policy="yes")  # type: ignore[arg-type]  # the mistake under test
    with pytest.raises(ConfigurationError, match="on_denied"):
        ConsumerOptions(policy=allow_alice, on_denied="ignore")  # type: ignore[arg-type]  # the mistake under test
