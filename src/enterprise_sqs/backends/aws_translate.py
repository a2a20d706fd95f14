"""What crosses the SQS boundary: our models to SQS JSON shapes and back, and botocore's
exceptions to ours, for aiobotocore calls and the hand-written path of ``aws_wire`` alike.

Kept apart from :mod:`enterprise_sqs.backends.aws` (which owns the client and its lifecycle) so
the pure mapping can be read, and tested, without a connection. Nothing here performs I/O.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from botocore import exceptions as boto_exc

from enterprise_sqs.checksums import md5_of_attributes, md5_of_body
from enterprise_sqs.errors import (
    ChecksumMismatch,
    ConfigurationError,
    EnterpriseSQSError,
    InvalidParameterValue,
    RequestTimeout,
    SQSError,
    TransportError,
    error_for_code,
)
from enterprise_sqs.models import (
    BatchFailure,
    MessageAttributeValue,
    MoveTask,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
)

__all__ = [
    "attributes_from_wire",
    "attributes_to_wire",
    "failure_from_wire",
    "move_task_from_wire",
    "received_from_wire",
    "send_entry_to_wire",
    "send_success_from_wire",
    "translate_error",
]

logger = logging.getLogger("enterprise_sqs.backends.aws")

# Credential problems surface from botocore as these; each means "configure credentials", never
# "retry later".
_CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    boto_exc.NoCredentialsError,
    boto_exc.PartialCredentialsError,
    boto_exc.ProfileNotFound,
    boto_exc.CredentialRetrievalError,
    boto_exc.InvalidConfigError,
)

_CREDENTIAL_HINT = (
    "pass credentials=Credentials(...) or profile=..., or configure the default AWS credential "
    "chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a container or instance role)"
)


# -- errors ---------------------------------------------------------------------------------------


def translate_error(exc: BaseException) -> EnterpriseSQSError | None:
    """Our exception for a foreign one raised by aiobotocore, or ``None`` if it is not foreign
    (a bug of ours must surface unchanged rather than be disguised as a service error).

    The messages are built from what botocore reports about the *request*: botocore never puts
    credentials in exception text, and we add none.
    """
    if isinstance(exc, EnterpriseSQSError):
        return None
    if isinstance(exc, boto_exc.ClientError):
        return _client_error(exc)
    # Timeouts first: botocore's timeout errors are also connection errors.
    if isinstance(exc, boto_exc.ReadTimeoutError | boto_exc.ConnectTimeoutError):
        return RequestTimeout(f"the SQS endpoint did not answer in time: {exc}")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return RequestTimeout("the SQS endpoint did not answer in time")
    if isinstance(exc, boto_exc.NoRegionError):
        return ConfigurationError(
            "no AWS region is configured: pass region=..., set AWS_REGION or AWS_DEFAULT_REGION, "
            "or set a region in your AWS profile"
        )
    if isinstance(exc, boto_exc.ProfileNotFound):
        return ConfigurationError(
            f"{exc}: create it in ~/.aws/config or ~/.aws/credentials, or {_CREDENTIAL_HINT}"
        )
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return ConfigurationError(f"AWS credentials are not usable ({exc}): {_CREDENTIAL_HINT}")
    if isinstance(exc, boto_exc.ParamValidationError):
        return InvalidParameterValue(str(exc))
    if isinstance(exc, boto_exc.HTTPClientError | boto_exc.EndpointConnectionError):
        return TransportError(f"could not reach the SQS endpoint: {exc}")
    if isinstance(exc, aiohttp.ClientError | ConnectionError):
        return TransportError(f"could not reach the SQS endpoint: {type(exc).__name__}: {exc}")
    if isinstance(exc, boto_exc.BotoCoreError):
        return SQSError(f"{type(exc).__name__}: {exc}", code="InternalError")
    return None


def _client_error(exc: boto_exc.ClientError) -> SQSError:
    response: Mapping[str, Any] = exc.response
    error: Mapping[str, Any] = response.get("Error") or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    if not code or code.isdigit():
        # No SQS error in the body (a proxy's or a crashed emulator's HTML page): say what
        # happened rather than pass the page on.
        return error_for_code(
            "InternalError" if status is None or status >= 500 else "InvalidRequest",
            f"the endpoint answered HTTP {status} without an SQS error code",
            http_status=status,
        )
    # botocore reports the query spelling (AWS.SimpleQueueService.NonExistentQueue) as Code and
    # the JSON shape name as QueryErrorCode; error_for_code knows both.
    return error_for_code(code, message or None, http_status=status)


# -- message attributes ---------------------------------------------------------------------------


def attributes_to_wire(
    attributes: Mapping[str, MessageAttributeValue], *, json_ready: bool = False
) -> dict[str, Any]:
    """Attributes as request parameters: binary values as bytes for aiobotocore, or as the
    base64 text AWS JSON carries (``json_ready``, for the hand-written path)."""
    wire: dict[str, Any] = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {"DataType": value.data_type}
        if value.binary_value is not None:
            item["BinaryValue"] = (
                base64.b64encode(value.binary_value).decode("ascii")
                if json_ready
                else value.binary_value
            )
        if value.string_value is not None:
            item["StringValue"] = value.string_value
        wire[name] = item
    return wire


def attributes_from_wire(wire: Mapping[str, Any] | None) -> dict[str, MessageAttributeValue]:
    """Attributes from an answer: binary values as bytes (parsed by botocore) or as base64 text
    (raw AWS JSON, from the hand-written path)."""
    result: dict[str, MessageAttributeValue] = {}
    for name, item in (wire or {}).items():
        result[name] = MessageAttributeValue(
            str(item.get("DataType", "")),
            string_value=item.get("StringValue"),
            binary_value=_blob(item.get("BinaryValue")),
        )
    return result


def _blob(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise SQSError(
                "the endpoint answered a binary attribute value that is not base64",
                code="InternalError",
            ) from exc
    return bytes(value)


# -- send -----------------------------------------------------------------------------------------


def send_entry_to_wire(
    entry: SendEntry, *, batch: bool, json_ready: bool = False
) -> dict[str, Any]:
    """A SendMessageBatchRequestEntry (``batch``) or SendMessage parameters (``json_ready``:
    binary attribute values as base64 text, as AWS JSON carries them)."""
    wire: dict[str, Any] = {"MessageBody": entry.body}
    if batch:
        wire["Id"] = entry.id
    if entry.delay_seconds is not None:
        wire["DelaySeconds"] = entry.delay_seconds
    if entry.message_attributes:
        wire["MessageAttributes"] = attributes_to_wire(
            entry.message_attributes, json_ready=json_ready
        )
    if entry.system_attributes:
        wire["MessageSystemAttributes"] = attributes_to_wire(
            entry.system_attributes, json_ready=json_ready
        )
    if entry.group_id is not None:
        wire["MessageGroupId"] = entry.group_id
    if entry.deduplication_id is not None:
        wire["MessageDeduplicationId"] = entry.deduplication_id
    return wire


def _send_checksum_problem(entry: SendEntry, wire: Mapping[str, Any]) -> str | None:
    """What does not match between the entry we sent and the digests SQS answered, if anything."""
    if wire.get("MD5OfMessageBody") != md5_of_body(entry.body):
        return "MD5OfMessageBody"
    expected_attrs = md5_of_attributes(entry.message_attributes)
    if expected_attrs is not None and wire.get("MD5OfMessageAttributes") != expected_attrs:
        return "MD5OfMessageAttributes"
    # Amazon SQS always digests the system attributes it accepted; some emulators (moto) accept
    # them without answering a digest. Absent means "not checkable", a different one is damage.
    expected_system = md5_of_attributes(entry.system_attributes)
    returned_system = wire.get("MD5OfMessageSystemAttributes")
    if expected_system is not None and returned_system not in (None, expected_system):
        return "MD5OfMessageSystemAttributes"
    return None


def send_success_from_wire(entry: SendEntry, wire: Mapping[str, Any]) -> SendSuccess | BatchFailure:
    """A successful send, verified; a :class:`BatchFailure` with code ``ChecksumMismatch`` when a
    digest does not match what we sent (the message may or may not be stored intact: sending it
    again is the safe choice, and a FIFO deduplication id makes that harmless)."""
    problem = _send_checksum_problem(entry, wire)
    if problem is not None:
        return BatchFailure(
            id=entry.id,
            code=ChecksumMismatch.code,
            message=(
                f"{problem} returned for message {wire.get('MessageId')} does not match the "
                "message sent"
            ),
            sender_fault=False,
        )
    return SendSuccess(
        id=entry.id,
        message_id=str(wire["MessageId"]),
        md5_of_body=str(wire["MD5OfMessageBody"]),
        md5_of_message_attributes=wire.get("MD5OfMessageAttributes"),
        md5_of_system_attributes=wire.get("MD5OfMessageSystemAttributes"),
        sequence_number=wire.get("SequenceNumber"),
    )


def failure_from_wire(wire: Mapping[str, Any]) -> BatchFailure:
    return BatchFailure(
        id=str(wire.get("Id", "")),
        code=str(wire.get("Code", "InternalError")),
        message=str(wire.get("Message", "")),
        sender_fault=bool(wire.get("SenderFault", False)),
    )


# -- receive --------------------------------------------------------------------------------------


def received_from_wire(wire: Mapping[str, Any]) -> ReceivedMessage | None:
    """The message, or ``None`` if its digests do not match its content.

    A damaged message is not handed to the caller, and it is not deleted either: it stays in
    flight and reappears after its visibility timeout, so a transient corruption heals itself and
    a persistent one ends in the DLQ through maxReceiveCount, as any poison message does. Handing
    it over would let a handler act on bytes SQS never stored.
    """
    body = str(wire.get("Body", ""))
    message_id = str(wire.get("MessageId", ""))
    attributes = attributes_from_wire(wire.get("MessageAttributes"))
    problem: str | None = None
    if wire.get("MD5OfBody") != md5_of_body(body):
        problem = "MD5OfBody"
    # SQS digests the attributes it returns; when none were asked for it may still send the
    # digest of all of them, which we cannot check.
    elif attributes and wire.get("MD5OfMessageAttributes") != md5_of_attributes(attributes):
        problem = "MD5OfMessageAttributes"
    if problem is not None:
        logger.warning(
            "dropping received message %s: %s does not match its content; it will reappear "
            "after its visibility timeout",
            message_id,
            problem,
            extra={"message_id": message_id, "checksum": problem},
        )
        return None
    return ReceivedMessage(
        message_id=message_id,
        receipt_handle=str(wire.get("ReceiptHandle", "")),
        body=body,
        md5_of_body=str(wire.get("MD5OfBody", "")),
        md5_of_message_attributes=wire.get("MD5OfMessageAttributes"),
        attributes={str(k): str(v) for k, v in (wire.get("Attributes") or {}).items()},
        message_attributes=attributes,
    )


# -- move tasks -----------------------------------------------------------------------------------


def move_task_from_wire(wire: Mapping[str, Any]) -> MoveTask:
    def optional_int(key: str) -> int | None:
        value = wire.get(key)
        return int(value) if value is not None else None

    return MoveTask(
        status=str(wire.get("Status", "")),
        source_arn=str(wire.get("SourceArn", "")),
        task_handle=wire.get("TaskHandle"),
        destination_arn=wire.get("DestinationArn"),
        max_number_of_messages_per_second=optional_int("MaxNumberOfMessagesPerSecond"),
        approximate_number_of_messages_moved=int(wire.get("ApproximateNumberOfMessagesMoved", 0)),
        approximate_number_of_messages_to_move=optional_int("ApproximateNumberOfMessagesToMove"),
        failure_reason=wire.get("FailureReason"),
        started_timestamp=int(wire.get("StartedTimestamp", 0)),
    )
