"""``esqs send``, ``receive``, ``peek`` and ``tail``: messages by hand.

``receive`` takes messages off the queue (prints, then deletes them; ``--keep`` leaves them in
flight until their visibility timeout ends). ``peek`` receives and makes the messages visible
again at once. ``tail`` follows a queue. Every receive counts: peeking a message adds to its
``ApproximateReceiveCount``, so it moves a message closer to its dead-letter queue, as any SQS
tool that reads messages does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from enterprise_sqs.cli.runtime import (
    emit_json,
    json_option,
    resolve_queue_url,
    run,
    settings,
)
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.models import (
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    ReceivedMessage,
)

__all__ = ["parse_attributes", "peek", "receive", "send", "tail"]

_TYPES = {"string": "String", "number": "Number", "binary": "Binary"}


def _attribute(name: str, data_type: str, value: str, hint: str) -> MessageAttributeValue:
    base, _, custom = data_type.partition(".")
    kind = _TYPES.get(base.lower())
    if kind is None:
        raise click.BadParameter(
            f"attribute {name!r} has type {data_type!r}; use String, Number or Binary "
            "(optionally with a suffix, Number.float)",
            param_hint=hint,
        )
    full = kind + (f".{custom}" if custom else "")
    if kind == "Binary":
        try:
            return MessageAttributeValue(full, binary_value=base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise click.BadParameter(
                f"attribute {name!r}: a Binary value must be base64 ({exc})", param_hint=hint
            ) from exc
    if kind == "Number":
        try:
            float(value)
        except ValueError:
            raise click.BadParameter(
                f"attribute {name!r}: {value!r} is not a number", param_hint=hint
            ) from None
    return MessageAttributeValue(full, string_value=value)


def parse_attributes(
    pairs: tuple[str, ...], as_json: str | None
) -> dict[str, MessageAttributeValue]:
    """``--attribute NAME[:TYPE]=VALUE`` pairs and ``--attributes JSON`` → message attributes.

    JSON is ``{"name": "text" | 42 | {"DataType": "...", "StringValue"|"BinaryValue": "..."}}``
    (the AWS CLI's shape, or plain values).

    Raises:
        click.BadParameter: a malformed pair, malformed JSON, an unknown type.
    """
    result: dict[str, MessageAttributeValue] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        name, _, data_type = key.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(
                f"{item!r} is not NAME=VALUE or NAME:TYPE=VALUE", param_hint="--attribute"
            )
        result[name.strip()] = _attribute(name.strip(), data_type or "String", value, "--attribute")
    if as_json is not None:
        try:
            data = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"malformed JSON: {exc}", param_hint="--attributes") from exc
        if not isinstance(data, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--attributes")
        for name, spec in data.items():
            result[name] = _json_attribute(name, spec)
    return result


def _json_attribute(name: str, spec: object) -> MessageAttributeValue:
    hint = "--attributes"
    if isinstance(spec, bool):
        return MessageAttributeValue.string("true" if spec else "false")
    if isinstance(spec, str):
        return MessageAttributeValue.string(spec)
    if isinstance(spec, int | float):
        return MessageAttributeValue.number(repr(spec) if isinstance(spec, float) else str(spec))
    if isinstance(spec, Mapping) and isinstance(spec.get("DataType"), str):
        value = spec.get("StringValue", spec.get("BinaryValue"))
        if not isinstance(value, str):
            raise click.BadParameter(
                f"attribute {name!r} needs a StringValue or BinaryValue string", param_hint=hint
            )
        return _attribute(name, spec["DataType"], value, hint)
    raise click.BadParameter(
        f'attribute {name!r} must be a string, a number or {{"DataType": ..., "StringValue": ...}}',
        param_hint=hint,
    )


def _read_body(body: str | None, file: Path | None) -> str:
    if body is not None and file is not None:
        raise click.UsageError("give the body as an argument or with --file, not both")
    if body is not None:
        return body
    if file is not None:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    elif not sys.stdin.isatty():
        raw = sys.stdin.buffer.read()
    else:
        raise click.UsageError("no message body: give BODY, --file PATH, or pipe it on stdin")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(
            f"the body must be UTF-8 text (byte {exc.start} is not); base64-encode binary data",
            param_hint="--file",
        ) from None


@click.command()
@click.argument("queue")
@click.argument("body", required=False)
@click.option(
    "--file",
    "-f",
    type=click.Path(exists=False, dir_okay=False, path_type=Path, allow_dash=True),
    help="Read the body from a file ('-' for stdin).",
)
@click.option(
    "--attribute",
    "-a",
    "attribute_pairs",
    multiple=True,
    metavar="NAME[:TYPE]=VALUE",
    help="A message attribute; TYPE is String (default), Number or Binary (base64). Repeatable.",
)
@click.option("--attributes", "attributes_json", metavar="JSON", help="Message attributes as JSON.")
@click.option("--group-id", help="Message group id (FIFO queues).")
@click.option("--dedup-id", help="Deduplication id (FIFO queues).")
@click.option("--delay", type=click.IntRange(0, 900), help="Seconds before it can be received.")
@json_option
def send(
    queue: str,
    body: str | None,
    file: Path | None,
    attribute_pairs: tuple[str, ...],
    attributes_json: str | None,
    group_id: str | None,
    dedup_id: str | None,
    delay: int | None,
) -> None:
    """Send one message to QUEUE: BODY, the contents of --file, or stdin."""
    if file is not None and str(file) != "-" and not file.is_file():
        raise click.BadParameter(f"{str(file)!r} is not a readable file", param_hint="--file")
    text = _read_body(body, file)
    message_attributes = parse_attributes(attribute_pairs, attributes_json)

    async def main(sqs: EnterpriseSQS) -> dict[str, Any]:
        await resolve_queue_url(sqs, queue)  # a clear error for an unknown queue
        publisher = sqs.create_publisher(queue, linger=0)
        result = await publisher.publish(
            text,
            group_id=group_id,
            deduplication_id=dedup_id,
            delay_seconds=delay,
            attributes=message_attributes or None,
        )
        result.raise_for_error()
        return {
            "MessageId": result.message_id,
            "SequenceNumber": result.sequence_number,
            "QueueUrl": result.queue_url,
        }

    sent = run(main)
    if settings().json:
        emit_json(sent)
    else:
        click.echo(f"Sent {sent['MessageId']}")


def message_dict(message: ReceivedMessage) -> dict[str, Any]:
    """A received message in the AWS CLI's JSON shape."""
    data: dict[str, Any] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "Body": message.body,
        "MD5OfBody": message.md5_of_body,
        "Attributes": dict(message.attributes),
    }
    if message.message_attributes:
        data["MessageAttributes"] = {
            name: (
                {
                    "DataType": value.data_type,
                    "BinaryValue": base64.b64encode(value.binary_value).decode(),
                }
                if value.binary_value is not None
                else {"DataType": value.data_type, "StringValue": value.string_value}
            )
            for name, value in message.message_attributes.items()
        }
    return data


def _print_message(message: ReceivedMessage) -> None:
    count = message.attributes.get("ApproximateReceiveCount", "?")
    group = message.attributes.get("MessageGroupId")
    head = f"[{message.message_id}] receive #{count}" + (f" group {group}" if group else "")
    click.echo(head)
    for name, value in sorted(message.message_attributes.items()):
        shown = (
            value.string_value
            if value.binary_value is None
            else f"<{len(value.binary_value)} bytes>"
        )
        click.echo(f"  {name} ({value.data_type}) = {shown}")
    click.echo(f"  {message.body}")


async def _receive_up_to(
    sqs: EnterpriseSQS, url: str, count: int, wait: int, visibility: int | None
) -> list[ReceivedMessage]:
    backend = sqs.get_sqs_client()
    got: list[ReceivedMessage] = []
    while len(got) < count:
        batch = await backend.receive(
            url,
            max_messages=min(10, count - len(got)),
            wait_time_seconds=wait if not got else 0,
            visibility_timeout=visibility,
            attribute_names=["All"],
            message_attribute_names=["All"],
        )
        if not batch:
            break
        got.extend(batch)
    return got


async def _settle(
    sqs: EnterpriseSQS, url: str, messages: list[ReceivedMessage], delete: bool
) -> None:
    backend = sqs.get_sqs_client()
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        if delete:
            result = await backend.delete_batch(
                url,
                [
                    DeleteEntry(id=str(i), receipt_handle=m.receipt_handle)
                    for i, m in enumerate(chunk)
                ],
            )
        else:
            result = await backend.change_visibility_batch(
                url,
                [
                    ChangeVisibilityEntry(
                        id=str(i), receipt_handle=m.receipt_handle, visibility_timeout=0
                    )
                    for i, m in enumerate(chunk)
                ],
            )
        result.raise_for_failures()


def _show(messages: list[ReceivedMessage], queue: str) -> None:
    if settings().json:
        emit_json({"Messages": [message_dict(m) for m in messages]})
    elif not messages:
        click.echo(f"No messages in {queue}.")
    else:
        for message in messages:
            _print_message(message)


_COUNT = click.option(
    "--max", "-n", "count", default=1, show_default=True, type=click.IntRange(1, 1000)
)
_WAIT = click.option(
    "--wait",
    default=1,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Seconds to long-poll for the first message.",
)


@click.command()
@click.argument("queue")
@_COUNT
@_WAIT
@click.option("--visibility", type=click.IntRange(0, 43_200), help="Visibility timeout to set.")
@click.option("--keep", is_flag=True, help="Do not delete: leave them in flight.")
@json_option
def receive(queue: str, count: int, wait: int, visibility: int | None, keep: bool) -> None:
    """Receive up to --max messages, print them, and delete them (unless --keep)."""

    async def main(sqs: EnterpriseSQS) -> list[ReceivedMessage]:
        url = await resolve_queue_url(sqs, queue)
        messages = await _receive_up_to(sqs, url, count, wait, visibility)
        if messages and not keep:
            await _settle(sqs, url, messages, delete=True)
        return messages

    _show(run(main), queue)


@click.command()
@click.argument("queue")
@_COUNT
@_WAIT
@json_option
def peek(queue: str, count: int, wait: int) -> None:
    """Show up to --max messages and make them visible again at once (counts as a receive)."""

    async def main(sqs: EnterpriseSQS) -> list[ReceivedMessage]:
        url = await resolve_queue_url(sqs, queue)
        messages = await _receive_up_to(sqs, url, count, wait, 30)
        if messages:
            await _settle(sqs, url, messages, delete=False)
        return messages

    _show(run(main), queue)


@click.command()
@click.argument("queue")
@click.option("--delete", is_flag=True, help="Delete each message after printing it.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many messages.")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(0, min_open=True),
    help="Stop after this many seconds without a new message.",
)
@click.option("--wait", default=5, show_default=True, type=click.IntRange(0, 20), help="Long poll.")
@json_option
def tail(
    queue: str, delete: bool, count: int | None, idle_timeout: float | None, wait: int
) -> None:
    """Follow QUEUE and print messages as they arrive, until Ctrl-C (or --count/--idle-timeout).

    Without --delete each message is made visible again right after it is printed and printed
    only once; with --json each message is one JSON line.
    """
    seen: set[str] = set()
    printed = 0

    async def main(sqs: EnterpriseSQS) -> None:
        nonlocal printed
        url = await resolve_queue_url(sqs, queue)
        if not settings().json:
            mode = "deleting" if delete else "leaving them in the queue"
            click.echo(f"Following {queue} ({mode}); Ctrl-C to stop.")
        last_new = time.monotonic()
        while count is None or printed < count:
            remaining = (
                None if idle_timeout is None else idle_timeout - (time.monotonic() - last_new)
            )
            if remaining is not None and remaining <= 0:
                return
            poll = wait if remaining is None else max(0, min(wait, int(remaining)))
            batch = await _receive_up_to(sqs, url, 10, poll, 30)
            fresh = [m for m in batch if m.message_id not in seen]
            if count is not None:
                fresh = fresh[: count - printed]
            for message in fresh:
                seen.add(message.message_id)
                if settings().json:
                    click.echo(json.dumps(message_dict(message), sort_keys=True))
                else:
                    _print_message(message)
                printed += 1
            if batch:
                if delete:
                    await _settle(sqs, url, fresh, delete=True)
                    rest = [m for m in batch if m not in fresh]
                    if rest:
                        await _settle(sqs, url, rest, delete=False)
                else:
                    await _settle(sqs, url, batch, delete=False)
            if fresh:
                last_new = time.monotonic()
            elif batch:
                # Only messages already printed came back: let others arrive before asking again.
                await asyncio.sleep(0.5)

    run(
        main,
        on_interrupt=lambda: f"Stopped following {queue}: printed {printed} message(s).",
        interrupt_is_normal=True,
    )
    if not settings().json:
        click.echo(f"Printed {printed} message(s).")
