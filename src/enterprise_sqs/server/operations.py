"""One handler per SQS operation: typed parameters in, a JSON-shaped result out.

Handlers translate between the wire's member names and the :class:`~enterprise_sqs.backends.base.
Backend` protocol and nothing more: every rule about values (ranges, attribute names, FIFO, batch
limits) is the engine's, and its typed errors travel back unchanged. The only behaviour here is
what SQS itself builds on other operations: AddPermission/RemovePermission edit the ``Policy``
attribute (see :mod:`enterprise_sqs.server.permissions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.models import (
    BatchFailure,
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    MoveTask,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
)
from enterprise_sqs.server import permissions

__all__ = ["HANDLERS", "Context", "Handler"]

Params = dict[str, Any]
Result = dict[str, Any]


class Context:
    """What handlers share: the backend, the public base URL and the shutdown signal."""

    def __init__(self, backend: Backend, *, base_url: str, account_id: str) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.stopping = asyncio.Event()
        # AddPermission/RemovePermission read, edit and write Policy; one edit at a time.
        self.policy_lock = asyncio.Lock()

    def queue_url(self, params: Params) -> str:
        """The queue URL as the engine knows it, whatever host name the client used.

        Clients reach the server as localhost, 127.0.0.1 or a container name; SQS accepts any
        endpoint spelling, so only the path (``/account/name``) is kept.
        """
        url: str = params["QueueUrl"]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.path.count("/") == 2:
            return self.base_url + parts.path
        return url


Handler = Callable[[Context, Params], Awaitable[Result]]


def _opt(**values: Any) -> Result:
    """A result without the members that are None or empty, as SQS omits them."""
    return {k: v for k, v in values.items() if v is not None and v != {} and v != []}


# -- queues ---------------------------------------------------------------------------------------


async def create_queue(ctx: Context, p: Params) -> Result:
    url = await ctx.backend.create_queue(p["QueueName"], p.get("Attributes"), p.get("tags"))
    return {"QueueUrl": url}


async def get_queue_url(ctx: Context, p: Params) -> Result:
    url = await ctx.backend.get_queue_url(
        p["QueueName"], owner_account_id=p.get("QueueOwnerAWSAccountId")
    )
    return {"QueueUrl": url}


async def delete_queue(ctx: Context, p: Params) -> Result:
    await ctx.backend.delete_queue(ctx.queue_url(p))
    return {}


async def list_queues(ctx: Context, p: Params) -> Result:
    page = await ctx.backend.list_queues(
        prefix=p.get("QueueNamePrefix"),
        max_results=p.get("MaxResults"),
        next_token=p.get("NextToken"),
    )
    return _opt(QueueUrls=page.queue_urls, NextToken=page.next_token)


async def get_queue_attributes(ctx: Context, p: Params) -> Result:
    attributes = await ctx.backend.get_queue_attributes(
        ctx.queue_url(p), p.get("AttributeNames", [])
    )
    return _opt(Attributes=attributes)


async def set_queue_attributes(ctx: Context, p: Params) -> Result:
    await ctx.backend.set_queue_attributes(ctx.queue_url(p), p["Attributes"])
    return {}


async def purge_queue(ctx: Context, p: Params) -> Result:
    await ctx.backend.purge_queue(ctx.queue_url(p))
    return {}


async def tag_queue(ctx: Context, p: Params) -> Result:
    await ctx.backend.tag_queue(ctx.queue_url(p), p["Tags"])
    return {}


async def untag_queue(ctx: Context, p: Params) -> Result:
    await ctx.backend.untag_queue(ctx.queue_url(p), p["TagKeys"])
    return {}


async def list_queue_tags(ctx: Context, p: Params) -> Result:
    return _opt(Tags=await ctx.backend.list_queue_tags(ctx.queue_url(p)))


async def list_dead_letter_source_queues(ctx: Context, p: Params) -> Result:
    page = await ctx.backend.list_dead_letter_source_queues(
        ctx.queue_url(p), max_results=p.get("MaxResults"), next_token=p.get("NextToken")
    )
    return {"queueUrls": page.queue_urls, **_opt(NextToken=page.next_token)}


async def add_permission(ctx: Context, p: Params) -> Result:
    async with ctx.policy_lock:
        await permissions.add_permission(ctx.backend, ctx.queue_url(p), p)
    return {}


async def remove_permission(ctx: Context, p: Params) -> Result:
    async with ctx.policy_lock:
        await permissions.remove_permission(ctx.backend, ctx.queue_url(p), p["Label"])
    return {}


# -- messages -------------------------------------------------------------------------------------


def _attributes(raw: Mapping[str, Any] | None) -> dict[str, MessageAttributeValue]:
    if not raw:
        return {}
    return {
        name: MessageAttributeValue(
            v["DataType"], string_value=v.get("StringValue"), binary_value=v.get("BinaryValue")
        )
        for name, v in raw.items()
    }


def _render_attributes(attrs: Mapping[str, MessageAttributeValue]) -> dict[str, Any]:
    return {
        name: _opt(DataType=v.data_type, StringValue=v.string_value, BinaryValue=v.binary_value)
        for name, v in attrs.items()
    }


def _send_entry(p: Params, entry_id: str) -> SendEntry:
    return SendEntry(
        id=entry_id,
        body=p["MessageBody"],
        delay_seconds=p.get("DelaySeconds"),
        message_attributes=_attributes(p.get("MessageAttributes")),
        system_attributes=_attributes(p.get("MessageSystemAttributes")),
        group_id=p.get("MessageGroupId"),
        deduplication_id=p.get("MessageDeduplicationId"),
    )


def _sent(s: SendSuccess) -> Result:
    return _opt(
        MD5OfMessageBody=s.md5_of_body,
        MD5OfMessageAttributes=s.md5_of_message_attributes,
        MD5OfMessageSystemAttributes=s.md5_of_system_attributes,
        MessageId=s.message_id,
        SequenceNumber=s.sequence_number,
    )


def _failure(f: BatchFailure) -> Result:
    return {"Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message}


async def send_message(ctx: Context, p: Params) -> Result:
    return _sent(await ctx.backend.send_message(ctx.queue_url(p), _send_entry(p, "0")))


async def send_message_batch(ctx: Context, p: Params) -> Result:
    entries = [_send_entry(e, e["Id"]) for e in p["Entries"]]
    result = await ctx.backend.send_batch(ctx.queue_url(p), entries)
    return {
        "Successful": [{"Id": s.id, **_sent(s)} for s in result.successful],
        "Failed": [_failure(f) for f in result.failed],
    }


def _message(m: ReceivedMessage) -> Result:
    return _opt(
        MessageId=m.message_id,
        ReceiptHandle=m.receipt_handle,
        MD5OfBody=m.md5_of_body,
        Body=m.body,
        Attributes=dict(m.attributes),
        MD5OfMessageAttributes=m.md5_of_message_attributes,
        MessageAttributes=_render_attributes(m.message_attributes),
    )


async def receive_message(ctx: Context, p: Params) -> Result:
    # AttributeNames is the deprecated spelling of MessageSystemAttributeNames; SDKs send either.
    names = [*p.get("AttributeNames", ()), *p.get("MessageSystemAttributeNames", ())]
    receive = ctx.backend.receive(
        ctx.queue_url(p),
        max_messages=p.get("MaxNumberOfMessages", 1),
        wait_time_seconds=0 if ctx.stopping.is_set() else p.get("WaitTimeSeconds"),
        visibility_timeout=p.get("VisibilityTimeout"),
        attribute_names=list(dict.fromkeys(names)),
        message_attribute_names=p.get("MessageAttributeNames", ()),
        receive_request_attempt_id=p.get("ReceiveRequestAttemptId"),
    )
    messages = await _unless_stopping(ctx, receive)
    return _opt(Messages=[_message(m) for m in messages])


async def _unless_stopping(
    ctx: Context, receive: Awaitable[list[ReceivedMessage]]
) -> list[ReceivedMessage]:
    """Await a receive, but answer empty if the server starts to stop during a long poll."""
    task = asyncio.ensure_future(receive)
    stop = asyncio.ensure_future(ctx.stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        stop.cancel()
    if not task.done():
        task.cancel()
        # wait() does not raise the inner cancellation, only our own, which must propagate.
        await asyncio.wait({task})
    if task.cancelled():
        return []  # a long poll cut short receives nothing, as if its wait had ended
    return task.result()


async def delete_message(ctx: Context, p: Params) -> Result:
    await ctx.backend.delete_message(ctx.queue_url(p), p["ReceiptHandle"])
    return {}


async def delete_message_batch(ctx: Context, p: Params) -> Result:
    entries = [DeleteEntry(id=e["Id"], receipt_handle=e["ReceiptHandle"]) for e in p["Entries"]]
    result = await ctx.backend.delete_batch(ctx.queue_url(p), entries)
    return {
        "Successful": [{"Id": i} for i in result.successful],
        "Failed": [_failure(f) for f in result.failed],
    }


async def change_message_visibility(ctx: Context, p: Params) -> Result:
    await ctx.backend.change_visibility(
        ctx.queue_url(p), p["ReceiptHandle"], p["VisibilityTimeout"]
    )
    return {}


async def change_message_visibility_batch(ctx: Context, p: Params) -> Result:
    entries = [
        ChangeVisibilityEntry(
            id=e["Id"],
            receipt_handle=e["ReceiptHandle"],
            # The model makes it optional in a batch entry; the engine refuses what SQS refuses.
            visibility_timeout=e.get("VisibilityTimeout", 0),
        )
        for e in p["Entries"]
    ]
    result = await ctx.backend.change_visibility_batch(ctx.queue_url(p), entries)
    return {
        "Successful": [{"Id": i} for i in result.successful],
        "Failed": [_failure(f) for f in result.failed],
    }


# -- message move tasks ---------------------------------------------------------------------------


async def start_message_move_task(ctx: Context, p: Params) -> Result:
    handle = await ctx.backend.start_message_move_task(
        p["SourceArn"],
        destination_arn=p.get("DestinationArn"),
        max_messages_per_second=p.get("MaxNumberOfMessagesPerSecond"),
    )
    return {"TaskHandle": handle}


def _task(t: MoveTask) -> Result:
    return _opt(
        TaskHandle=t.task_handle,
        Status=t.status,
        SourceArn=t.source_arn,
        DestinationArn=t.destination_arn,
        MaxNumberOfMessagesPerSecond=t.max_number_of_messages_per_second,
        ApproximateNumberOfMessagesMoved=t.approximate_number_of_messages_moved,
        ApproximateNumberOfMessagesToMove=t.approximate_number_of_messages_to_move,
        FailureReason=t.failure_reason,
        StartedTimestamp=t.started_timestamp,
    )


async def list_message_move_tasks(ctx: Context, p: Params) -> Result:
    tasks = await ctx.backend.list_message_move_tasks(
        p["SourceArn"], max_results=p.get("MaxResults")
    )
    return _opt(Results=[_task(t) for t in tasks])


async def cancel_message_move_task(ctx: Context, p: Params) -> Result:
    moved = await ctx.backend.cancel_message_move_task(p["TaskHandle"])
    return {"ApproximateNumberOfMessagesMoved": moved}


HANDLERS: dict[str, Handler] = {
    "AddPermission": add_permission,
    "CancelMessageMoveTask": cancel_message_move_task,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "CreateQueue": create_queue,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "DeleteQueue": delete_queue,
    "GetQueueAttributes": get_queue_attributes,
    "GetQueueUrl": get_queue_url,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    "ListMessageMoveTasks": list_message_move_tasks,
    "ListQueueTags": list_queue_tags,
    "ListQueues": list_queues,
    "PurgeQueue": purge_queue,
    "ReceiveMessage": receive_message,
    "RemovePermission": remove_permission,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "SetQueueAttributes": set_queue_attributes,
    "StartMessageMoveTask": start_message_move_task,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
}
