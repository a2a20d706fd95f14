"""Every exception Enterprise SQS raises, in one tree.

Foreign errors (botocore, aiohttp, sqlite3) never escape the library: each backend maps them to
the most specific class below at its boundary and chains the original with ``raise ... from exc``.

::

    EnterpriseSQSError                      root: catch this to catch everything of ours
    ├── ConfigurationError                  bad configuration or arguments given to the library
    │   └── InvalidBackendURL               a backend URL we cannot open
    ├── ClientClosedError                   a backend, publisher or consumer used after aclose()
    ├── MessageSerializationError           an object cannot become a message body
    ├── CodecError                          a codec cannot decode a message (tampered, no key)
    ├── CircuitOpenError                    a circuit breaker refused the call (.retry_after)
    ├── SpoolFullError                      the local outage spool has no room for a message
    ├── ValidationError                     a consumed message is invalid: never retried (DLQ)
    │   └── MessageAccessDenied             a consumer's policy refused the message
    ├── HandlerTimeoutError                 a consumer's handler ran past handler_timeout
    ├── Retry                               raised by a handler: retry after .delay seconds
    └── SQSError                            an SQS operation failed (.code .message .retryable)
        ├── SenderError                     the request is wrong: fix it, never retry it
        │   ├── QueueDoesNotExist
        │   ├── QueueAlreadyExists          same name, different attributes
        │   ├── QueueDeletedRecently        a name is reusable 60 s after DeleteQueue
        │   ├── PurgeQueueInProgress        one purge per queue per 60 s
        │   ├── InvalidParameterValue
        │   │   └── MessageTooLong          body + message attributes over the queue's limit
        │   ├── MissingParameter
        │   ├── InvalidAttributeName
        │   ├── InvalidAttributeValue
        │   ├── InvalidMessageContents      characters outside the XML-legal set
        │   ├── ReceiptHandleIsInvalid
        │   ├── InvalidIdFormat
        │   ├── MessageNotInflight
        │   ├── InvalidBatchEntryId
        │   ├── BatchEntryIdsNotDistinct
        │   ├── TooManyEntriesInBatchRequest
        │   ├── EmptyBatchRequest
        │   ├── BatchRequestTooLong
        │   ├── OverLimit                   e.g. too many messages in flight
        │   ├── UnsupportedOperation
        │   ├── ResourceNotFound
        │   ├── InvalidAddress
        │   └── AccessDenied                credentials or policy refuse the call
        │       ├── InvalidSecurity
        │       ├── InvalidClientTokenId
        │       ├── SignatureDoesNotMatch
        │       ├── ExpiredToken
        │       └── KmsError                KMS refused to encrypt or decrypt for SQS
        ├── ThrottlingError                 retryable: slow down (RequestThrottled, KMS throttling)
        ├── ServiceUnavailable              retryable: the service failed (5xx, InternalError)
        ├── ChecksumMismatch                retryable: an MD5 the service sent does not match
        └── TransportError                  retryable: no answer (connection refused, reset, DNS)
            └── RequestTimeout              the call took longer than its deadline

Every :class:`SQSError` carries ``code`` (the AWS query error code, as sent in
``x-amzn-query-error``), ``type_name`` (the JSON ``__type`` shape name), ``message``,
``retryable`` and ``sender_fault``. :func:`error_for_code` builds the right class from an AWS code
in either spelling, so per-entry batch failures and whole-request failures share one vocabulary.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "ChecksumMismatch",
    "ClientClosedError",
    "CodecError",
    "ConfigurationError",
    "EmptyBatchRequest",
    "EnterpriseSQSError",
    "ExpiredToken",
    "HandlerTimeoutError",
    "InvalidAddress",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBackendURL",
    "InvalidBatchEntryId",
    "InvalidClientTokenId",
    "InvalidIdFormat",
    "InvalidMessageContents",
    "InvalidParameterValue",
    "InvalidSecurity",
    "KmsError",
    "MessageAccessDenied",
    "MessageNotInflight",
    "MessageSerializationError",
    "MessageTooLong",
    "MissingParameter",
    "OverLimit",
    "PurgeQueueInProgress",
    "QueueAlreadyExists",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "ReceiptHandleIsInvalid",
    "RequestTimeout",
    "ResourceNotFound",
    "Retry",
    "SQSError",
    "SenderError",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "SpoolFullError",
    "ThrottlingError",
    "TooManyEntriesInBatchRequest",
    "TransportError",
    "UnsupportedOperation",
    "ValidationError",
    "error_class_for_code",
    "error_for_code",
]


class EnterpriseSQSError(Exception):
    """Root of every exception raised by Enterprise SQS."""


class ConfigurationError(EnterpriseSQSError, ValueError):
    """The library was given configuration or arguments it cannot use."""


class InvalidBackendURL(ConfigurationError):
    """A backend URL has an unknown scheme or a malformed location."""


class ClientClosedError(EnterpriseSQSError, RuntimeError):
    """An object was used after ``aclose()``."""


class CircuitOpenError(EnterpriseSQSError):
    """A circuit breaker refused the call without sending it: the endpoint failed recently.

    Not an :class:`SQSError`: nothing reached SQS, so retry layers never retry it; wait
    ``retry_after`` seconds (``None`` while an operator holds the breaker open) and try again.

    Attributes:
        breaker: the name of the breaker that refused the call.
        retry_after: seconds until the breaker lets a call through again, or ``None``.
        retry_at: the same moment on the breaker's monotonic clock, or ``None``.
    """

    def __init__(
        self, breaker: str, *, retry_after: float | None = None, retry_at: float | None = None
    ) -> None:
        self.breaker = breaker
        self.retry_after = retry_after
        self.retry_at = retry_at
        when = (
            "until an operator resets it"
            if retry_after is None
            else f"for another {retry_after:.3f} s"
        )
        super().__init__(f"circuit breaker {breaker!r} is open: calls are refused {when}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_open, (self.breaker, self.retry_after, self.retry_at))


def _rebuild_open(
    breaker: str, retry_after: float | None, retry_at: float | None
) -> CircuitOpenError:
    return CircuitOpenError(breaker, retry_after=retry_after, retry_at=retry_at)


class MessageSerializationError(EnterpriseSQSError, TypeError):
    """An object could not be turned into a message body (or a body back into an object)."""


class ValidationError(EnterpriseSQSError, ValueError):
    """A consumed message is invalid and will never succeed: a consumer does not retry it.

    Raised by a handler (or by decoding a body into the declared message type), it sends the
    message to the queue's dead-letter queue, or deletes it with a logged warning when the queue
    has none. (pydantic's ``ValidationError`` is treated the same way.)
    """


class MessageAccessDenied(ValidationError):
    """A consumer's ``policy`` refused a message: it is not handled, and goes to the dead-letter
    queue or is deleted (``on_denied``), counted as ``denied``."""


class HandlerTimeoutError(EnterpriseSQSError, TimeoutError):
    """A consumer's handler ran longer than ``handler_timeout``; the message is retried."""


# Retry is a request ("retry this"), not an error: the short name reads well in handlers.
class Retry(EnterpriseSQSError):
    """Raised by a consumer's handler to retry the message after ``delay`` seconds.

    ``delay`` becomes the message's visibility timeout (0 to 43200 whole seconds; fractions are
    rounded up); ``None`` uses the consumer's exponential backoff.

    Raises:
        ConfigurationError: ``delay`` is not a number from 0 to 43200.
    """

    def __init__(self, delay: float | None = None, reason: str | None = None) -> None:
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 43200
        ):
            raise ConfigurationError(
                f"Retry(delay=...) must be a number of seconds from 0 to 43200, got {delay!r}"
            )
        self.delay = delay
        self.reason = reason
        when = "with backoff" if delay is None else f"in {delay} s"
        super().__init__(f"retry {when}" + (f": {reason}" if reason else ""))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.delay, self.reason))


class SpoolFullError(EnterpriseSQSError):
    """The outage spool reached its size bound while SQS was unreachable: the message was neither
    sent nor spooled. Raise the spool's ``max_bytes``, or shed load until the service is back."""


class CodecError(EnterpriseSQSError):
    """A codec (decryption, signature check, decompression, payload fetch) cannot turn a received
    message back into what was sent. Never retryable: the same bytes fail the same way."""


class SQSError(EnterpriseSQSError):
    """An SQS operation failed. Subclasses name the AWS error code.

    Attributes:
        code: the AWS query error code (``AWS.SimpleQueueService.NonExistentQueue``).
        type_name: the AWS JSON error shape name (``QueueDoesNotExist``).
        message: the human-readable text the service sent.
        retryable: whether the same request may succeed if sent again later.
        sender_fault: whether the caller's request was at fault.
        http_status: the HTTP status SQS answers with for this error.
    """

    code: ClassVar[str] = "InternalError"
    type_name: ClassVar[str] = "InternalError"
    retryable: ClassVar[bool] = False
    sender_fault: ClassVar[bool] = False
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "The request failed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        # An unknown code keeps the generic class but remembers what the service said.
        self.actual_code = code if code is not None else self.code
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.actual_code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.actual_code!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.actual_code))


def _rebuild(cls: type[SQSError], message: str, code: str) -> SQSError:
    return cls(message, code=code)


class SenderError(SQSError):
    """The request was at fault; sending it again unchanged will fail again."""

    code = "InvalidRequest"
    type_name = "InvalidRequest"
    sender_fault = True
    http_status = 400
    default_message = "The request is not valid."


class QueueDoesNotExist(SenderError):
    code = "AWS.SimpleQueueService.NonExistentQueue"
    type_name = "QueueDoesNotExist"
    default_message = "The specified queue does not exist."


class QueueAlreadyExists(SenderError):
    code = "QueueAlreadyExists"
    type_name = "QueueNameExists"
    default_message = (
        "A queue already exists with the same name and a different value for attribute."
    )


class QueueDeletedRecently(SenderError):
    code = "AWS.SimpleQueueService.QueueDeletedRecently"
    type_name = "QueueDeletedRecently"
    default_message = (
        "You must wait 60 seconds after deleting a queue before you can create another "
        "with the same name."
    )


class PurgeQueueInProgress(SenderError):
    code = "AWS.SimpleQueueService.PurgeQueueInProgress"
    type_name = "PurgeQueueInProgress"
    default_message = "Only one PurgeQueue operation on a queue is allowed every 60 seconds."


class InvalidParameterValue(SenderError):
    code = "InvalidParameterValue"
    type_name = "InvalidParameterValue"
    default_message = "A parameter has a value that is not valid."


class MessageTooLong(InvalidParameterValue):
    """The body plus message attributes exceed the queue's ``MaximumMessageSize``."""

    default_message = (
        "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )


class MissingParameter(SenderError):
    code = "MissingParameter"
    type_name = "MissingParameter"
    default_message = "A required parameter is missing."


class InvalidAttributeName(SenderError):
    code = "InvalidAttributeName"
    type_name = "InvalidAttributeName"
    default_message = "The specified attribute doesn't exist."


class InvalidAttributeValue(SenderError):
    code = "InvalidAttributeValue"
    type_name = "InvalidAttributeValue"
    default_message = "A queue attribute value is invalid."


class InvalidMessageContents(SenderError):
    code = "InvalidMessageContents"
    type_name = "InvalidMessageContents"
    default_message = "The message contains characters outside the allowed set."


class ReceiptHandleIsInvalid(SenderError):
    code = "ReceiptHandleIsInvalid"
    type_name = "ReceiptHandleIsInvalid"
    default_message = "The specified receipt handle isn't valid."


class InvalidIdFormat(SenderError):
    code = "InvalidIdFormat"
    type_name = "InvalidIdFormat"
    default_message = "The specified receipt handle isn't valid for the current version."


class MessageNotInflight(SenderError):
    code = "AWS.SimpleQueueService.MessageNotInflight"
    type_name = "MessageNotInflight"
    default_message = "The specified message isn't in flight."


class InvalidBatchEntryId(SenderError):
    code = "AWS.SimpleQueueService.InvalidBatchEntryId"
    type_name = "InvalidBatchEntryId"
    default_message = (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )


class BatchEntryIdsNotDistinct(SenderError):
    code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    type_name = "BatchEntryIdsNotDistinct"
    default_message = "Two or more batch entries in the request have the same Id."


class TooManyEntriesInBatchRequest(SenderError):
    code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    type_name = "TooManyEntriesInBatchRequest"
    default_message = "Maximum number of entries per request are 10."


class EmptyBatchRequest(SenderError):
    code = "AWS.SimpleQueueService.EmptyBatchRequest"
    type_name = "EmptyBatchRequest"
    default_message = "There should be at least one entry in the request."


class BatchRequestTooLong(SenderError):
    code = "AWS.SimpleQueueService.BatchRequestTooLong"
    type_name = "BatchRequestTooLong"
    default_message = "Batch requests cannot be longer than 1048576 bytes."


class OverLimit(SenderError):
    code = "OverLimit"
    type_name = "OverLimit"
    http_status = 403
    default_message = "The specified action violates a limit."


class UnsupportedOperation(SenderError):
    code = "AWS.SimpleQueueService.UnsupportedOperation"
    type_name = "UnsupportedOperation"
    default_message = "The operation is not supported."


class ResourceNotFound(SenderError):
    code = "ResourceNotFoundException"
    type_name = "ResourceNotFoundException"
    http_status = 404
    default_message = "One or more specified resources don't exist."


class InvalidAddress(SenderError):
    code = "InvalidAddress"
    type_name = "InvalidAddress"
    default_message = "The address is not valid for this endpoint."


class AccessDenied(SenderError):
    """Credentials, a queue policy or an IAM policy refused the call."""

    code = "AccessDenied"
    type_name = "AccessDenied"
    http_status = 403
    default_message = "Access to the resource is denied."


class InvalidSecurity(AccessDenied):
    code = "AWS.SimpleQueueService.InvalidSecurity"
    type_name = "InvalidSecurity"
    default_message = "The request was not made over HTTPS or did not use SigV4 for signing."


class InvalidClientTokenId(AccessDenied):
    code = "InvalidClientTokenId"
    type_name = "InvalidClientTokenId"
    default_message = "The security token included in the request is invalid."


class SignatureDoesNotMatch(AccessDenied):
    code = "SignatureDoesNotMatch"
    type_name = "SignatureDoesNotMatch"
    default_message = (
        "The request signature we calculated does not match the signature you provided."
    )


class ExpiredToken(AccessDenied):
    code = "ExpiredToken"
    type_name = "ExpiredToken"
    default_message = "The security token included in the request is expired."


class KmsError(AccessDenied):
    """KMS refused to encrypt or decrypt for the queue (disabled key, missing grant, ...)."""

    code = "KMS.AccessDeniedException"
    type_name = "KmsAccessDenied"
    http_status = 400
    default_message = "The caller doesn't have the required KMS access."


class ThrottlingError(SQSError):
    """The service asked us to slow down. Retry later with backoff."""

    code = "RequestThrottled"
    type_name = "RequestThrottled"
    retryable = True
    sender_fault = True
    http_status = 400
    default_message = "The request was denied due to request throttling."


class ServiceUnavailable(SQSError):
    """The service failed to answer the request (5xx). Retry later with backoff."""

    code = "ServiceUnavailable"
    type_name = "ServiceUnavailable"
    retryable = True
    http_status = 503
    default_message = "The service is unavailable. Please try again later."


class ChecksumMismatch(SQSError):
    """An MD5 digest the service answered with does not match what was sent or received.

    The message was damaged in transit (or the endpoint is not a faithful SQS): send it again.
    """

    code = "ChecksumMismatch"
    type_name = "ChecksumMismatch"
    retryable = True
    http_status = 0
    default_message = "The MD5 digest returned by the service does not match the message."


class TransportError(SQSError):
    """No answer came back: connection refused or reset, DNS failure. Retryable."""

    code = "TransportError"
    type_name = "TransportError"
    retryable = True
    http_status = 0
    default_message = "Could not reach the SQS endpoint."


class RequestTimeout(TransportError):
    """The call did not complete before its deadline. Retryable."""

    code = "RequestTimeout"
    type_name = "RequestTimeout"
    default_message = "The request timed out."


# Both spellings AWS uses for a code: the query code (x-amzn-query-error, batch entry Code) and
# the JSON shape name (__type). Extra aliases cover codes SQS and its emulators send as well.
_ALIASES: dict[str, type[SQSError]] = {
    "QueueDoesNotExist": QueueDoesNotExist,
    "AWS.SimpleQueueService.NonExistentQueue": QueueDoesNotExist,
    "QueueAlreadyExists": QueueAlreadyExists,
    "QueueNameExists": QueueAlreadyExists,
    "InvalidParameterCombination": InvalidParameterValue,
    "ValidationError": InvalidParameterValue,
    "MessageTooLong": MessageTooLong,
    "KmsAccessDenied": KmsError,
    "KmsDisabled": KmsError,
    "KmsInvalidKeyUsage": KmsError,
    "KmsInvalidState": KmsError,
    "KmsNotFound": KmsError,
    "KmsOptInRequired": KmsError,
    "KMS.DisabledException": KmsError,
    "KMS.InvalidKeyUsageException": KmsError,
    "KMS.KMSInvalidStateException": KmsError,
    "KMS.NotFoundException": KmsError,
    "KMS.OptInRequired": KmsError,
    "AccessDeniedException": AccessDenied,
    "UnrecognizedClientException": InvalidClientTokenId,
    "IncompleteSignature": SignatureDoesNotMatch,
    "MissingAuthenticationToken": AccessDenied,
    "RequestExpired": ExpiredToken,
    "ExpiredTokenException": ExpiredToken,
    "Throttling": ThrottlingError,
    "ThrottlingException": ThrottlingError,
    "KmsThrottled": ThrottlingError,
    "KMS.ThrottlingException": ThrottlingError,
    "RequestThrottled": ThrottlingError,
    "SlowDown": ThrottlingError,
    "InternalError": ServiceUnavailable,
    "InternalFailure": ServiceUnavailable,
    "ServiceUnavailable": ServiceUnavailable,
    "RequestTimeout": RequestTimeout,
    "ChecksumMismatch": ChecksumMismatch,
}


def _register(cls: type[SQSError]) -> None:
    _ALIASES.setdefault(cls.code, cls)
    _ALIASES.setdefault(cls.type_name, cls)
    for sub in cls.__subclasses__():
        _register(sub)


for _cls in (ThrottlingError, ServiceUnavailable, TransportError):
    _register(_cls)
for _sub in SenderError.__subclasses__():
    _register(_sub)
# SQS reports a message that is too long as InvalidParameterValue; only we raise the subclass.
_ALIASES["InvalidParameterValue"] = InvalidParameterValue


def error_class_for_code(code: str, *, http_status: int | None = None) -> type[SQSError]:
    """Return the exception class for an AWS error code in either spelling.

    An unknown code maps by HTTP status: 5xx → :class:`ServiceUnavailable`, anything else →
    :class:`SenderError`.
    """
    cls = _ALIASES.get(code)
    if cls is None and code.startswith("com.amazonaws.sqs#"):
        cls = _ALIASES.get(code.removeprefix("com.amazonaws.sqs#"))
    if cls is not None:
        return cls
    if http_status is not None and http_status >= 500:
        return ServiceUnavailable
    return SenderError


def error_for_code(
    code: str, message: str | None = None, *, http_status: int | None = None
) -> SQSError:
    """Build the exception for an AWS error code, keeping the code the service actually sent."""
    return error_class_for_code(code, http_status=http_status)(message, code=code)
