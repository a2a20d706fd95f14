"""Publisher extension points: events for observers, and the codec pipeline."""

from __future__ import annotations

import base64

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.errors import MessageTooLong, QueueDoesNotExist
from enterprise_sqs.models import MessageAttributeValue
from enterprise_sqs.publishing.events import PublishEvent


class Base64Codec:
    """A reversible codec that marks what it did, as real codecs (encryption, gzip) do."""

    name = "base64"

    def __init__(self) -> None:
        self.contexts: list[CodecContext] = []

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        self.contexts.append(context)
        attributes = {**envelope.attributes, "codec": MessageAttributeValue.string(self.name)}
        return Envelope(base64.b64encode(envelope.body.encode()).decode(), attributes)

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        return Envelope(base64.b64decode(envelope.body).decode(), envelope.attributes)


async def test_observers_hear_published_failed_and_duplicate() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        publisher = sqs.create_publisher("events", create_queue=True, enable_deduplication=True)
        seen: list[PublishEvent] = []
        publisher.events.subscribe(seen.append)
        ok = await publisher.publish({"n": 1}, attributes={"tenant": "acme"})
        await publisher.publish({"n": 1})
        await publisher.publish("bad \x00")
        missing = sqs.create_publisher("nowhere")
        missing_seen: list[PublishEvent] = []
        missing.events.subscribe(missing_seen.append, kinds={"failed"})
        await missing.publish({"n": 2})

    assert [e.kind for e in seen] == ["published", "duplicate", "failed"]
    published = seen[0]
    assert published.message_id == ok.message_id
    assert published.queue == "events"
    assert published.body == '{"n":1}'
    assert published.message_attributes["tenant"].string_value == "acme"
    assert published.duration >= 0
    assert seen[1].message_id == ok.message_id
    assert seen[2].error is not None
    assert [type(e.error) for e in missing_seen] == [QueueDoesNotExist]
    assert missing_seen[0].queue_url is None


async def test_a_failing_observer_never_changes_the_result() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        publisher = sqs.create_publisher("events", create_queue=True)

        def broken(event: PublishEvent) -> None:
            raise RuntimeError("observer bug")

        publisher.events.subscribe(broken)
        result = await publisher.publish({"n": 1})
    assert result.success


async def test_codecs_transform_the_message_and_sizes_are_checked_after_them() -> None:
    codec = Base64Codec()
    async with EnterpriseSQS(backend="memory://") as sqs:
        url = await sqs.get_sqs_client().create_queue("small", {"MaximumMessageSize": "1024"})
        publisher = sqs.create_publisher(url, codecs=[codec])
        result = await publisher.publish("hello")
        assert result.success
        (message,) = await sqs.get_sqs_client().receive(url, message_attribute_names=["All"])
        assert base64.b64decode(message.body) == b"hello"
        assert message.message_attributes["codec"].string_value == "base64"
        assert codec.contexts[0].queue_name == "small"
        assert codec.contexts[0].queue_arn.endswith(":small")
        # 700 bytes fit before encoding; base64 makes them 936 + the attribute: still fine.
        assert (await publisher.publish("x" * 700)).success
        # 780 bytes become 1040 after encoding: over the limit, refused before sending.
        too_long = await publisher.publish("x" * 780)
        assert isinstance(too_long.error, MessageTooLong)


async def test_fifo_content_dedup_uses_the_original_body_when_codecs_change_it() -> None:
    class Salted(Base64Codec):
        """Encodes the same body differently each time, as encryption does."""

        counter = 0

        async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
            Salted.counter += 1
            salted = Envelope(f"{Salted.counter}:{envelope.body}", envelope.attributes)
            return await super().encode(salted, context)

    async with EnterpriseSQS(backend="memory://") as sqs:
        url = await sqs.get_sqs_client().create_queue(
            "orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )
        publisher = sqs.create_publisher(url, message_group_id="g", codecs=[Salted()])
        assert (await publisher.publish({"order": 1})).success
        assert (await publisher.publish({"order": 1})).success
        messages = await sqs.get_sqs_client().receive(url, max_messages=10)
    assert len(messages) == 1, "the repeat must be deduplicated by its original content"
