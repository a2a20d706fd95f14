"""Consumer extension points: codecs undone before decoding, middleware around handlers."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.errors import CodecError, ValidationError
from enterprise_sqs.models import MessageAttributeValue
from tests.consuming.helpers import Recorder, drain


class Base64Codec:
    name = "base64"

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        attributes = {**envelope.attributes, "codec": MessageAttributeValue.string("b64")}
        return Envelope(base64.b64encode(envelope.body.encode()).decode(), attributes)

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        if "codec" not in envelope.attributes:
            raise CodecError(f"message on {context.queue_name} was not encoded by this codec")
        return Envelope(base64.b64decode(envelope.body).decode(), envelope.attributes)


async def _queue_with_dlq(sqs: EnterpriseSQS, name: str) -> tuple[str, str]:
    client = sqs.get_sqs_client()
    dlq = await client.create_queue(f"{name}-dlq")
    arn = (await client.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    url = await client.create_queue(
        name,
        {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})},
    )
    return url, dlq


async def test_codecs_round_trip_and_undecodable_messages_go_to_the_dlq() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        url, dlq = await _queue_with_dlq(sqs, "coded")
        publisher = sqs.create_publisher(url, codecs=[Base64Codec()])
        assert (await publisher.publish({"n": 1})).success
        plain = sqs.create_publisher(url)
        assert (await plain.publish({"n": 2})).success  # not encoded: the codec refuses it

        got: list[Any] = []
        consumer = sqs.create_consumer(url, codecs=[Base64Codec()], wait_time_seconds=1)
        recorder = Recorder(consumer)

        async def handler(message: Any, context: MessageContext) -> None:
            got.append(message)

        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") + r.count("dead_lettered") >= 2)
        await consumer.stop()
        assert got == [{"n": 1}]
        (dead,) = recorder.of("dead_lettered")
        assert isinstance(dead.error, CodecError)
        (in_dlq,) = await drain(sqs, dlq, expect=1)
        assert json.loads(in_dlq.body) == {"n": 2}


async def test_middleware_wraps_handlers_in_order_and_can_refuse_a_message() -> None:
    calls: list[str] = []

    async def outer(context: MessageContext, call_next: Any) -> Any:
        calls.append(f"outer>{context.message['n']}")
        result = await call_next()
        calls.append(f"outer<{context.message['n']}")
        return result

    async def access_control(context: MessageContext, call_next: Any) -> Any:
        if context.message["n"] == 2:
            raise ValidationError("access denied for user 2")
        return await call_next()

    async with EnterpriseSQS(backend="memory://") as sqs:
        url, dlq = await _queue_with_dlq(sqs, "guarded")
        publisher = sqs.create_publisher(url)
        await publisher.publish_many([{"n": 1}, {"n": 2}])
        consumer = sqs.create_consumer(
            url, middleware=[outer, access_control], processing_mode="sequential"
        )
        recorder = Recorder(consumer)

        async def handler(message: Any, context: MessageContext) -> None:
            calls.append(f"handler {message['n']}")

        await consumer.start(handler)
        await recorder.wait(lambda r: r.count("processed") + r.count("dead_lettered") >= 2)
        await consumer.stop()
        assert calls[:3] == ["outer>1", "handler 1", "outer<1"]
        assert calls[3:] == ["outer>2"]
        (refused,) = await drain(sqs, dlq, expect=1)
        assert json.loads(refused.body) == {"n": 2}


async def test_stop_on_the_engine_does_not_wait_out_a_long_poll() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        url = await sqs.get_sqs_client().create_queue("idle")
        consumer = sqs.create_consumer(url, wait_time_seconds=20)
        recorder = Recorder(consumer)

        async def handler(message: Any, context: MessageContext) -> None:
            pass

        await consumer.start(handler)
        await sqs.create_publisher(url).publish({"n": 1})
        await recorder.wait(lambda r: r.count("processed") == 1)  # now in a 20 s long poll
        # The bound guards against a hang; the engine's receive is cancelled at once.
        await asyncio.wait_for(consumer.stop(), 10)
        await sqs.create_publisher(url).publish({"n": 2})
        (left,) = await drain(sqs, url, expect=1)
        assert json.loads(left.body) == {"n": 2}, "nothing was left claimed by the cancelled poll"
