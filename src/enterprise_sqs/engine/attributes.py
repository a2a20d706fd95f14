"""Queue attributes: names, defaults, ranges, and the two redrive policies, as pure functions.

Attributes travel as SQS spells them (``{"VisibilityTimeout": "30"}``). :func:`normalize`
validates what a caller gives and returns the canonical strings the store keeps, so that the
"same attributes?" comparison of CreateQueue compares like with like.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from enterprise_sqs.engine.validation import invalid_value
from enterprise_sqs.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
)

__all__ = [
    "COMPUTED",
    "defaults",
    "normalize",
    "parse_arn",
    "parse_redrive_policy",
    "redrive_allows",
]

# name -> (low, high, default) for the integer attributes.
RANGES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, 1_048_576, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
_COMMON = frozenset(
    (
        *RANGES,
        "Policy",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "KmsMasterKeyId",
        "SqsManagedSseEnabled",
    )
)
_FIFO_ONLY = frozenset(("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"))
COMPUTED = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
)
READABLE = frozenset((*_COMMON, *_FIFO_ONLY, *COMPUTED, "FifoQueue"))
_ARN = re.compile(r"arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)")
_ENUMS = {
    "DeduplicationScope": ("messageQueue", "messageGroup"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}


def defaults(*, fifo: bool) -> dict[str, str]:
    """The attributes a new queue has when the caller sets none."""
    attrs = {name: str(default) for name, (_, _, default) in RANGES.items()}
    del attrs["KmsDataKeyReusePeriodSeconds"]  # shown only once a KMS key is set
    attrs["SqsManagedSseEnabled"] = "true"
    if fifo:
        attrs.update(
            FifoQueue="true",
            ContentBasedDeduplication="false",
            DeduplicationScope="messageQueue",
            FifoThroughputLimit="perQueue",
        )
    return attrs


def _bad(name: str, reason: str | None = None) -> InvalidAttributeValue:
    suffix = f" Reason: {reason}" if reason else ""
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.{suffix}")


def _boolean(name: str, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise _bad(name)
    return lowered


def parse_arn(arn: object) -> tuple[str, str, str] | None:
    """(region, account, queue name) of an SQS queue ARN, or None when it is not one."""
    if not isinstance(arn, str):
        return None
    match = _ARN.fullmatch(arn)
    return None if match is None else (match[1], match[2], match[3])


def parse_redrive_policy(value: str) -> dict[str, Any]:
    """``{"deadLetterTargetArn": ARN, "maxReceiveCount": 1..1000}``, canonical.

    Raises: InvalidParameterValue with SQS's wording.
    """
    try:
        policy = json.loads(value)
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        raise invalid_value(value, "RedrivePolicy", "Redrive policy is not a valid JSON map.")
    unknown = set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise invalid_value(
            value,
            "RedrivePolicy",
            f"Only following attributes are supported: "
            f"[deadLetterTargetArn, maxReceiveCount]; got {sorted(unknown)}.",
        )
    target = policy.get("deadLetterTargetArn")
    if target is None:
        raise invalid_value(
            value,
            "RedrivePolicy",
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
        )
    if parse_arn(target) is None:
        raise invalid_value(value, "RedrivePolicy", "Invalid value for deadLetterTargetArn.")
    raw_count = policy.get("maxReceiveCount")
    if raw_count is None:
        raise invalid_value(
            value,
            "RedrivePolicy",
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        )
    try:
        count = int(raw_count)
    except (TypeError, ValueError):
        count = 0
    if isinstance(raw_count, bool | float) or not 1 <= count <= 1000:
        raise invalid_value(
            value,
            "RedrivePolicy",
            f"Invalid value for maxReceiveCount: {raw_count}, valid values are from 1 to 1000 "
            "both inclusive.",
        )
    return {"deadLetterTargetArn": target, "maxReceiveCount": count}


def _parse_redrive_allow_policy(value: str) -> dict[str, Any]:
    try:
        policy = json.loads(value)
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        raise invalid_value(
            value, "RedriveAllowPolicy", "Redrive allow policy is not a valid JSON map."
        )
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise invalid_value(
            value,
            "RedriveAllowPolicy",
            "Invalid value for redrivePermission: use allowAll, denyAll or byQueue.",
        )
    unknown = set(policy) - {"redrivePermission", "sourceQueueArns"}
    if unknown:
        raise invalid_value(value, "RedriveAllowPolicy", f"Unknown attributes {sorted(unknown)}.")
    sources = policy.get("sourceQueueArns")
    if permission == "byQueue":
        if (
            not isinstance(sources, list)
            or not 1 <= len(sources) <= 10
            or any(parse_arn(arn) is None for arn in sources)
        ):
            raise invalid_value(
                value,
                "RedriveAllowPolicy",
                "Amazon SQS can't create the redrive allow policy. When you specify the byQueue "
                "permission type, you must also specify one or more sourceQueueArns values, up "
                "to 10, each a queue ARN.",
            )
        return {"redrivePermission": permission, "sourceQueueArns": list(sources)}
    if sources is not None:
        raise invalid_value(
            value,
            "RedriveAllowPolicy",
            "Amazon SQS can't create the redrive allow policy. To specify one or more source "
            "queue ARNs, you must set redrivePermission to byQueue.",
        )
    return {"redrivePermission": permission}


def redrive_allows(allow_policy: str | None, source_arn: str) -> bool:
    """Whether a DLQ's RedriveAllowPolicy lets ``source_arn`` use it."""
    if not allow_policy:
        return True
    policy = json.loads(allow_policy)
    permission = policy.get("redrivePermission")
    if permission == "denyAll":
        return False
    if permission == "byQueue":
        return source_arn in policy.get("sourceQueueArns", ())
    return True


def normalize(
    attributes: Mapping[str, str] | None, *, fifo: bool, creating: bool
) -> dict[str, str]:
    """Validate settable attributes and return them in canonical form.

    ``RedrivePolicy`` and ``RedriveAllowPolicy`` may be ``""`` (remove the policy).
    Raises: InvalidAttributeName (unknown or not for this queue type, or read-only),
    InvalidAttributeValue (out of range), InvalidParameterValue (malformed policies).
    """
    out: dict[str, str] = {}
    if not attributes:
        return out
    if not isinstance(attributes, Mapping):
        raise InvalidParameterValue("Attributes must be a mapping of attribute names to strings.")
    for name, value in attributes.items():
        if name == "FifoQueue":
            if not fifo:
                raise InvalidAttributeName("Unknown Attribute FifoQueue.")
            if not isinstance(value, str) or value.lower() != "true":
                raise InvalidAttributeValue(
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is "
                    "not supported."
                )
            out[name] = "true"
            continue
        if name in _ENUMS and not fifo:
            raise InvalidAttributeName(
                f"You can specify the {name} only when FifoQueue is set to true."
            )
        if name not in _COMMON and not (fifo and name in _FIFO_ONLY):
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if not isinstance(value, str):
            raise _bad(name, f"attribute values are strings, got {type(value).__name__}")
        if name in RANGES:
            low, high, _ = RANGES[name]
            if not value.strip().lstrip("-").isdigit() or not low <= int(value) <= high:
                raise _bad(name)
            out[name] = str(int(value))
        elif name in ("SqsManagedSseEnabled", "ContentBasedDeduplication"):
            out[name] = _boolean(name, value)
        elif name in _ENUMS:
            if value not in _ENUMS[name]:
                raise _bad(name)
            out[name] = value
        elif name == "RedrivePolicy":
            out[name] = (
                json.dumps(parse_redrive_policy(value), separators=(",", ":")) if value else ""
            )
        elif name == "RedriveAllowPolicy":
            out[name] = (
                json.dumps(_parse_redrive_allow_policy(value), separators=(",", ":"))
                if value
                else ""
            )
        elif name == "Policy":
            if value:
                try:
                    policy = json.loads(value)
                except ValueError:
                    policy = None
                if not isinstance(policy, dict):
                    raise _bad(name)
            out[name] = value
        else:  # KmsMasterKeyId: any alias, ARN or key id; "" switches KMS off
            out[name] = value
    if out.get("SqsManagedSseEnabled") == "true" and out.get("KmsMasterKeyId"):
        raise InvalidAttributeValue(
            "You can use one type of server-side encryption (SSE) at one time. You can either "
            "enable KMS SSE or SQS SSE."
        )
    if (
        creating
        and out.get("FifoThroughputLimit") == "perMessageGroupId"
        and out.get("DeduplicationScope", "messageQueue") != "messageGroup"
    ):
        raise _bad(
            "FifoThroughputLimit",
            "perMessageGroupId requires DeduplicationScope to be messageGroup.",
        )
    return out


def apply(current: dict[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    """The stored attributes after ``changes`` (already normalised)."""
    merged = dict(current)
    for name, value in changes.items():
        if (
            name in ("RedrivePolicy", "RedriveAllowPolicy", "Policy", "KmsMasterKeyId")
            and not value
        ):
            merged.pop(name, None)
            if name == "KmsMasterKeyId":
                merged.pop("KmsDataKeyReusePeriodSeconds", None)
            continue
        merged[name] = value
    if merged.get("KmsMasterKeyId"):
        merged.setdefault("KmsDataKeyReusePeriodSeconds", "300")
        if "SqsManagedSseEnabled" not in changes:
            merged["SqsManagedSseEnabled"] = "false"
    return merged
