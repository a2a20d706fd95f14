"""The exception tree: codes in both spellings map to one class, and errors say what happened."""

from __future__ import annotations

import pickle

import pytest

from enterprise_sqs import errors
from enterprise_sqs.errors import (
    BatchRequestTooLong,
    ConfigurationError,
    EnterpriseSQSError,
    InvalidParameterValue,
    MessageTooLong,
    QueueAlreadyExists,
    QueueDoesNotExist,
    RequestTimeout,
    SenderError,
    ServiceUnavailable,
    SQSError,
    ThrottlingError,
    TransportError,
    error_class_for_code,
    error_for_code,
)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("AWS.SimpleQueueService.NonExistentQueue", QueueDoesNotExist),
        ("QueueDoesNotExist", QueueDoesNotExist),
        ("com.amazonaws.sqs#QueueDoesNotExist", QueueDoesNotExist),
        ("QueueAlreadyExists", QueueAlreadyExists),
        ("QueueNameExists", QueueAlreadyExists),
        ("AWS.SimpleQueueService.BatchRequestTooLong", BatchRequestTooLong),
        ("BatchRequestTooLong", BatchRequestTooLong),
        ("InvalidParameterValue", InvalidParameterValue),
        ("RequestThrottled", ThrottlingError),
        ("ThrottlingException", ThrottlingError),
        ("InternalError", ServiceUnavailable),
    ],
)
def test_both_spellings_of_a_code_map_to_one_class(code: str, cls: type[SQSError]) -> None:
    assert error_class_for_code(code) is cls


def test_unknown_codes_fall_back_by_http_status() -> None:
    assert error_class_for_code("SomethingNew", http_status=503) is ServiceUnavailable
    assert error_class_for_code("SomethingNew", http_status=400) is SenderError
    err = error_for_code("SomethingNew", "it broke", http_status=400)
    assert err.actual_code == "SomethingNew"
    assert "SomethingNew" in str(err)
    assert "it broke" in str(err)


def test_every_sqs_error_class_is_registered_under_its_own_code() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, SQSError)
            and obj not in (MessageTooLong, SQSError, SenderError)
        ):
            assert error_class_for_code(obj.type_name) is obj, name


def test_retryable_and_sender_fault_follow_the_tree() -> None:
    assert ThrottlingError.retryable
    assert ServiceUnavailable.retryable
    assert RequestTimeout.retryable and issubclass(RequestTimeout, TransportError)
    assert not QueueDoesNotExist.retryable and QueueDoesNotExist.sender_fault
    assert not ServiceUnavailable.sender_fault


def test_message_too_long_is_an_invalid_parameter_value_with_its_code() -> None:
    err = MessageTooLong("Message must be shorter than 1048576 bytes.")
    assert isinstance(err, InvalidParameterValue)
    assert err.actual_code == "InvalidParameterValue"


def test_configuration_errors_are_value_errors_and_ours() -> None:
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(ConfigurationError, EnterpriseSQSError)


def test_errors_survive_pickling_with_their_code_and_message() -> None:
    err = error_for_code("AWS.SimpleQueueService.NonExistentQueue", "gone")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is QueueDoesNotExist
    assert again.message == "gone"
    assert again.actual_code == "AWS.SimpleQueueService.NonExistentQueue"


def test_default_messages_are_the_sqs_wording() -> None:
    assert QueueDoesNotExist().message == "The specified queue does not exist."
