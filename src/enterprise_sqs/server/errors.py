"""Errors only the wire protocol can produce: a request that never reached the engine.

They extend the library's tree (:mod:`enterprise_sqs.errors`) so that one renderer turns every
error into SQS's shape. Codes and statuses are those AWS answers with for the same fault.
"""

# ruff: noqa: N818 - exception names spell the AWS error codes clients know, not Python style

from __future__ import annotations

from enterprise_sqs.errors import AccessDenied, SenderError

__all__ = [
    "IncompleteSignature",
    "InvalidAction",
    "MalformedRequest",
    "MissingAuthenticationToken",
    "RequestEntityTooLarge",
    "RequestTimeTooSkewed",
]


class InvalidAction(SenderError):
    """An operation SQS does not have (unknown ``X-Amz-Target`` or ``Action``)."""

    code = "InvalidAction"
    type_name = "InvalidAction"
    default_message = "The action or operation requested is invalid."


class MalformedRequest(SenderError):
    """A body that does not parse (bad JSON, bad form encoding) or a value of the wrong type."""

    code = "SerializationException"
    type_name = "SerializationException"
    default_message = "The request body could not be parsed."


class RequestEntityTooLarge(SenderError):
    code = "RequestEntityTooLarge"
    type_name = "RequestEntityTooLarge"
    http_status = 413
    default_message = "The request is larger than the server accepts."


class MissingAuthenticationToken(AccessDenied):
    code = "MissingAuthenticationToken"
    type_name = "MissingAuthenticationToken"
    default_message = "Request is missing Authentication Token."


class IncompleteSignature(AccessDenied):
    code = "IncompleteSignature"
    type_name = "IncompleteSignature"
    default_message = "The request signature does not conform to AWS standards."


class RequestTimeTooSkewed(AccessDenied):
    code = "RequestTimeTooSkewed"
    type_name = "RequestTimeTooSkewed"
    default_message = "The difference between the request time and the server's time is too large."
