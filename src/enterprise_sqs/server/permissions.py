"""AddPermission and RemovePermission, which SQS defines as edits of the queue's ``Policy``.

AddPermission appends a statement whose ``Sid`` is the label, allowing the given accounts the given
actions on the queue; RemovePermission drops the statement with that label. The engine stores the
policy like any other attribute and validates it when it is set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import InvalidParameterValue, MissingParameter

__all__ = ["add_permission", "remove_permission"]

_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ACTIONS = frozenset(
    {
        "*",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
    }
)


async def _policy(backend: Backend, queue_url: str) -> tuple[dict[str, Any], str]:
    attrs = await backend.get_queue_attributes(queue_url, ["Policy", "QueueArn"])
    arn = attrs["QueueArn"]
    raw = attrs.get("Policy")
    policy: Any
    if raw:
        try:
            policy = json.loads(raw)
        except ValueError:
            policy = None
        if not isinstance(policy, dict):
            raise InvalidParameterValue(
                "The queue's Policy attribute is not a JSON policy document."
            )
    else:
        policy = {"Version": "2012-10-17", "Id": f"{arn}/SQSDefaultPolicy", "Statement": []}
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        policy["Statement"] = [statements]
    elif not isinstance(statements, list):
        policy["Statement"] = []
    return policy, arn


def _label_error(label: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value {label} for parameter Label is invalid. Reason: {reason}")


async def add_permission(backend: Backend, queue_url: str, params: Mapping[str, Any]) -> None:
    """Raises: MissingParameter, InvalidParameterValue, QueueDoesNotExist."""
    label: str = params["Label"]
    accounts: list[str] = params.get("AWSAccountIds") or []
    actions: list[str] = params.get("Actions") or []
    if not _LABEL.match(label):
        raise _label_error(label, "Must be 1-80 alphanumeric characters, hyphens or underscores.")
    if not accounts:
        raise MissingParameter("The request must contain the parameter AWSAccountIds.")
    if not actions:
        raise MissingParameter("The request must contain the parameter Actions.")
    for action in actions:
        if action not in _ACTIONS:
            raise InvalidParameterValue(
                f"Value SQS:{action} for parameter ActionName is invalid. "
                "Reason: Only the queue owner is allowed to invoke this action."
            )
    policy, arn = await _policy(backend, queue_url)
    if any(s.get("Sid") == label for s in policy["Statement"] if isinstance(s, dict)):
        raise _label_error(label, "Already exists.")
    principals = [f"arn:aws:iam::{a}:root" for a in accounts]
    sqs_actions = [f"SQS:{a}" for a in actions]
    policy["Statement"].append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": sqs_actions[0] if len(sqs_actions) == 1 else sqs_actions,
            "Resource": arn,
        }
    )
    await backend.set_queue_attributes(queue_url, {"Policy": json.dumps(policy)})


async def remove_permission(backend: Backend, queue_url: str, label: str) -> None:
    """Raises: InvalidParameterValue (no statement has that label), QueueDoesNotExist."""
    policy, _ = await _policy(backend, queue_url)
    kept = [s for s in policy["Statement"] if not (isinstance(s, dict) and s.get("Sid") == label)]
    if len(kept) == len(policy["Statement"]):
        raise _label_error(label, "can't find label on existing policy.")
    # SQS removes the Policy attribute once its last statement is gone.
    value = json.dumps({**policy, "Statement": kept}) if kept else ""
    await backend.set_queue_attributes(queue_url, {"Policy": value})
