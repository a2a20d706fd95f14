"""The AWS backend against real servers: a moto server for SQS behaviour, a closed port and a
silent socket for transport failures, and a scripted local HTTP server for answers no honest
server gives on demand (wrong MD5s, 5xx, throttling)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore import exceptions as boto_exc

from enterprise_sqs import Credentials, open_backend
from enterprise_sqs.backends.aws import AWSBackend
from enterprise_sqs.backends.base import Backend
from enterprise_sqs.checksums import md5_of_attributes, md5_of_body
from enterprise_sqs.errors import (
    BatchEntryIdsNotDistinct,
    ChecksumMismatch,
    ClientClosedError,
    ConfigurationError,
    EmptyBatchRequest,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidBatchEntryId,
    InvalidParameterValue,
    MissingParameter,
    PurgeQueueInProgress,
    QueueAlreadyExists,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
    RequestTimeout,
    ServiceUnavailable,
    SQSError,
    ThrottlingError,
    TooManyEntriesInBatchRequest,
    TransportError,
)
from enterprise_sqs.models import (
    ChangeVisibilityEntry,
    DeleteEntry,
    MessageAttributeValue,
    SendEntry,
)
from tests.support.moto import free_port, moto_server, reset_moto
from tests.unit.aws_fake_sqs import fake_sqs, silent_server, sqs_error

KEY_ID = "AKIAUNITTESTKEY7Q3Z"
SECRET = "unit-test-secret-access-key-0f9e8d7c6b5a"
TOKEN = "unit-test-session-token-FwoGZXIvYXdzEJr"
SECRETS = (KEY_ID, SECRET, TOKEN)
CREDS = Credentials(access_key_id=KEY_ID, secret_access_key=SECRET, session_token=TOKEN)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
async def aws(moto_url: str) -> AsyncIterator[AWSBackend]:
    reset_moto(moto_url)
    backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=moto_url)
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials, region or profile from the machine running the tests."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "config").write_text("")
    (tmp_path / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- construction and identity --------------------------------------------------------------------


def test_open_backend_builds_aws_backend_for_region_and_endpoint_urls() -> None:
    assert isinstance(open_backend("aws://eu-west-1"), AWSBackend)
    backend = open_backend("http://127.0.0.1:4566", region="us-east-1", credentials=CREDS)
    assert isinstance(backend, AWSBackend)
    assert isinstance(backend, Backend)


def test_name_shows_region_or_endpoint_without_userinfo() -> None:
    assert AWSBackend(region="eu-west-1").name == "aws:eu-west-1"
    backend = AWSBackend(region="us-east-1", endpoint_url="http://user:pw@127.0.0.1:4566/")
    assert backend.name == "endpoint:http://127.0.0.1:4566"
    assert "pw" not in repr(backend)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"credentials": CREDS, "profile": "dev"}, "not both"),
        ({"endpoint_url": "ftp://example.com"}, "http:// or https://"),
        ({"endpoint_url": "http://"}, "with a host"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"max_pool_connections": 0}, "max_pool_connections"),
        ({"region": ""}, "region"),
        ({"profile": " "}, "profile"),
        ({"credentials": {"access_key_id": "x"}}, "Credentials"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        AWSBackend(**kwargs)


async def test_constructor_does_no_io_and_errors_surface_on_first_call(
    clean_aws_env: Path,
) -> None:
    # A missing profile would fail at once if the constructor read configuration.
    backend = AWSBackend(profile="no-such-profile", endpoint_url="http://127.0.0.1:9")
    assert "unopened" in repr(backend)
    with pytest.raises(ConfigurationError, match="no-such-profile") as info:
        await backend.list_queues()
    assert isinstance(info.value.__cause__, boto_exc.ProfileNotFound)
    await backend.aclose()


async def test_missing_region_is_a_configuration_error_naming_the_fixes(
    clean_aws_env: Path, moto_url: str
) -> None:
    backend = AWSBackend(credentials=CREDS, endpoint_url=moto_url)
    with pytest.raises(ConfigurationError, match="AWS_REGION") as info:
        await backend.list_queues()
    assert_no_secrets(str(info.value))
    await backend.aclose()


async def test_region_comes_from_aws_region_environment_variable(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    async with fake_sqs(lambda op, req: (200, {}, {"QueueUrls": []})) as fake:
        backend = AWSBackend(credentials=CREDS, endpoint_url=fake.url)
        await backend.list_queues()
        await backend.aclose()
    assert len(fake.requests) == 1


async def test_missing_credentials_is_a_configuration_error_naming_the_fixes(
    clean_aws_env: Path, moto_url: str
) -> None:
    backend = AWSBackend(region="us-east-1", endpoint_url=moto_url)
    with pytest.raises(ConfigurationError, match="credentials") as info:
        await backend.list_queues()
    assert "AWS_ACCESS_KEY_ID" in str(info.value)
    assert isinstance(info.value.__cause__, boto_exc.NoCredentialsError)
    await backend.aclose()


async def test_profile_supplies_credentials_and_region(clean_aws_env: Path, moto_url: str) -> None:
    (clean_aws_env / "config").write_text("[profile dev]\nregion = eu-central-1\n")
    (clean_aws_env / "credentials").write_text(
        f"[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    )
    reset_moto(moto_url)
    backend = AWSBackend(profile="dev", endpoint_url=moto_url)
    url = await backend.create_queue("from-profile")
    assert ":eu-central-1:" in (await backend.get_queue_attributes(url, ["QueueArn"]))["QueueArn"]
    assert "dev" in repr(backend)
    await backend.aclose()


async def test_default_chain_reads_environment_credentials(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    reset_moto(moto_url)
    backend = AWSBackend(region="us-east-1", endpoint_url=moto_url)
    url = await backend.create_queue("env-creds")
    assert (await backend.list_queues()).queue_urls == [url]
    await backend.aclose()


# -- lifecycle ------------------------------------------------------------------------------------


async def test_concurrent_first_calls_create_one_client(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiobotocore.session import AioSession

    created: list[str] = []
    real_create_client = AioSession.create_client

    def counting_create_client(self: AioSession, *args: Any, **kwargs: Any) -> Any:
        created.append(args[0] if args else kwargs["service_name"])
        return real_create_client(self, *args, **kwargs)

    monkeypatch.setattr(AioSession, "create_client", counting_create_client)
    backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=moto_url)
    assert created == []
    await asyncio.gather(*(backend.list_queues() for _ in range(5)))
    assert created == ["sqs"]
    assert "open" in repr(backend)
    await backend.aclose()


async def test_aclose_is_safe_twice_and_calls_after_it_raise_client_closed(
    aws: AWSBackend,
) -> None:
    await aws.list_queues()
    await aws.aclose()
    await aws.aclose()
    with pytest.raises(ClientClosedError):
        await aws.list_queues()
    with pytest.raises(ClientClosedError):
        await aws.send_batch("http://x", [SendEntry(id="a", body="b")])


async def test_aclose_before_any_call_never_connects() -> None:
    backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url="http://127.0.0.1:9")
    await backend.aclose()
    with pytest.raises(ClientClosedError):
        await backend.get_queue_url("q")


# -- error translation against moto ---------------------------------------------------------------


async def _send(aws: AWSBackend, entries: list[SendEntry]) -> None:
    url = await aws.create_queue("errs")
    await aws.send_batch(url, entries)


ERROR_CASES: list[tuple[str, Any, type[SQSError]]] = [
    ("queue does not exist", lambda a: a.get_queue_url("missing"), QueueDoesNotExist),
    (
        "queue already exists",
        lambda a: _create_twice(a, {"VisibilityTimeout": "10"}, {"VisibilityTimeout": "11"}),
        QueueAlreadyExists,
    ),
    ("bad queue name", lambda a: a.create_queue("bad name!"), InvalidParameterValue),
    (
        "attribute out of range",
        lambda a: a.create_queue("big", {"MaximumMessageSize": "1023"}),
        InvalidAttributeValue,
    ),
    ("unknown attribute", lambda a: _get_attr(a, "Nope"), InvalidAttributeName),
    ("purge twice", lambda a: _purge_twice(a), PurgeQueueInProgress),
    ("empty batch", lambda a: _send(a, []), EmptyBatchRequest),
    (
        "too many entries",
        lambda a: _send(a, [SendEntry(id=str(i), body="x") for i in range(11)]),
        TooManyEntriesInBatchRequest,
    ),
    (
        "duplicate ids",
        lambda a: _send(a, [SendEntry(id="a", body="x"), SendEntry(id="a", body="y")]),
        BatchEntryIdsNotDistinct,
    ),
    ("bad entry id", lambda a: _send(a, [SendEntry(id="a!", body="x")]), InvalidBatchEntryId),
    ("bad receipt handle", lambda a: _delete_garbage(a), ReceiptHandleIsInvalid),
    ("fifo without group", lambda a: _fifo_without_group(a), MissingParameter),
    (
        "moto internal error",
        lambda a: a.create_queue("x", {"VisibilityTimeout": "abc"}),
        ServiceUnavailable,
    ),
]


async def _create_twice(aws: AWSBackend, first: dict[str, str], second: dict[str, str]) -> None:
    await aws.create_queue("twice", first)
    await aws.create_queue("twice", second)


async def _get_attr(aws: AWSBackend, name: str) -> None:
    await aws.get_queue_attributes(await aws.create_queue("attrs"), [name])


async def _purge_twice(aws: AWSBackend) -> None:
    url = await aws.create_queue("purge")
    await aws.purge_queue(url)
    await aws.purge_queue(url)


async def _delete_garbage(aws: AWSBackend) -> None:
    await aws.delete_message(await aws.create_queue("handles"), "garbage")


async def _fifo_without_group(aws: AWSBackend) -> None:
    url = await aws.create_queue("f.fifo", {"FifoQueue": "true"})
    await aws.send_message(url, SendEntry(id="a", body="x", deduplication_id="d"))


@pytest.mark.parametrize(("case", "call", "expected"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
async def test_client_errors_translate_to_typed_errors(
    aws: AWSBackend, case: str, call: Any, expected: type[SQSError]
) -> None:
    with pytest.raises(expected) as info:
        await call(aws)
    assert type(info.value) is expected
    assert isinstance(info.value.__cause__, boto_exc.ClientError)
    assert info.value.message
    assert "<html" not in info.value.message
    assert_no_secrets(str(info.value) + repr(info.value))


async def test_parameter_validation_error_becomes_invalid_parameter_value(aws: AWSBackend) -> None:
    # Through aiobotocore: botocore's parameter validation, translated.
    with pytest.raises(InvalidParameterValue) as info:
        await aws.list_queues(max_results="ten")  # type: ignore[arg-type]  # wrong on purpose
    assert "MaxResults" in str(info.value)
    assert isinstance(info.value.__cause__, boto_exc.ParamValidationError)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda a, u: a.receive(u, max_messages="ten"), "MaxNumberOfMessages"),
        (lambda a, u: a.receive(u, wait_time_seconds=True), "WaitTimeSeconds"),
        (
            lambda a, u: a.change_visibility_batch(
                u, [ChangeVisibilityEntry(id="a", receipt_handle="r", visibility_timeout=1.5)]
            ),
            "Entries[0].VisibilityTimeout",
        ),
    ],
    ids=["receive-max", "receive-wait", "visibility"],
)
async def test_hand_written_path_rejects_non_integers_before_sending(
    aws: AWSBackend, call: Any, parameter: str
) -> None:
    url = await aws.create_queue("params")
    with pytest.raises(InvalidParameterValue) as info:
        await call(aws, url)
    assert parameter in str(info.value)


async def test_nothing_listening_is_a_transport_error() -> None:
    backend = AWSBackend(
        region="us-east-1", credentials=CREDS, endpoint_url=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(TransportError) as info:
        await backend.list_queues()
    assert type(info.value) is TransportError
    assert info.value.retryable
    assert isinstance(info.value.__cause__, boto_exc.EndpointConnectionError)
    assert_no_secrets(str(info.value))
    await backend.aclose()


async def test_server_that_never_answers_is_a_request_timeout() -> None:
    async with silent_server() as url:
        backend = AWSBackend(
            region="us-east-1", credentials=CREDS, endpoint_url=url, read_timeout=0.3
        )
        with pytest.raises(RequestTimeout) as info:
            await backend.list_queues()
        await backend.aclose()
    assert info.value.retryable
    assert isinstance(info.value.__cause__, boto_exc.ReadTimeoutError)
    assert_no_secrets(str(info.value))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            sqs_error("InternalError", "InternalError", "We encountered an internal error.", 500),
            ServiceUnavailable,
        ),
        (sqs_error("RequestThrottled", "RequestThrottled", "Rate exceeded", 400), ThrottlingError),
    ],
    ids=["5xx", "throttled"],
)
async def test_botocore_never_retries_a_retryable_error(
    answer: tuple[int, dict[str, str], dict[str, Any]], expected: type[SQSError]
) -> None:
    async with fake_sqs(lambda op, req: answer) as fake:
        backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=fake.url)
        with pytest.raises(expected) as info:
            await backend.list_queues()
        await backend.aclose()
    assert info.value.retryable
    assert len(fake.requests) == 1  # our retry layer decides; botocore made a single attempt


# -- credentials never leak -----------------------------------------------------------------------


async def test_credentials_never_appear_in_repr_errors_or_logs(
    moto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, botocore's request logs included
    reset_moto(moto_url)
    backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=moto_url)
    texts = [repr(backend), backend.name]
    url = await backend.create_queue("leak")
    await backend.send_message(url, SendEntry(id="a", body="hello"))
    for call in (backend.get_queue_url("missing"), backend.receive(url, max_messages=11)):
        with pytest.raises(SQSError) as info:
            await call
        texts += [str(info.value), repr(info.value)]
    texts.append(repr(backend))
    await backend.aclose()
    assert any("AmazonSQS.SendMessage" in r.getMessage() for r in caplog.records)
    texts += [r.getMessage() for r in caplog.records]
    assert_no_secrets("\n".join(texts))


# -- model mapping on moto ------------------------------------------------------------------------


async def test_send_and_receive_map_bodies_and_all_attribute_types(aws: AWSBackend) -> None:
    url = await aws.create_queue("mapping")
    attrs = {
        "s": MessageAttributeValue.string("héllo"),
        "n": MessageAttributeValue.number(42, "int"),
        "b": MessageAttributeValue.binary(b"\x00\xff"),
    }
    result = await aws.send_batch(
        url, [SendEntry(id="one", body="bödy ✓", message_attributes=attrs)]
    )
    assert result.failed == []
    [sent] = result.successful
    assert sent.id == "one"
    assert sent.md5_of_body == md5_of_body("bödy ✓")
    assert sent.md5_of_message_attributes == md5_of_attributes(attrs)
    [message] = await aws.receive(
        url, attribute_names=["All"], message_attribute_names=["All"], wait_time_seconds=1
    )
    assert message.message_id == sent.message_id
    assert message.body == "bödy ✓"
    assert message.message_attributes == attrs
    assert message.attributes["ApproximateReceiveCount"] == "1"
    assert int(message.attributes["SentTimestamp"]) > 0


async def test_trace_header_system_attribute_is_sent(aws: AWSBackend) -> None:
    url = await aws.create_queue("trace")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    await aws.send_message(
        url,
        SendEntry(
            id="t",
            body="x",
            system_attributes={"AWSTraceHeader": MessageAttributeValue.string(trace)},
        ),
    )
    [message] = await aws.receive(url, attribute_names=["AWSTraceHeader"])
    assert message.attributes["AWSTraceHeader"] == trace


async def test_fifo_send_returns_sequence_number_and_group(aws: AWSBackend) -> None:
    url = await aws.create_queue("order.fifo", {"FifoQueue": "true"})
    sent = await aws.send_message(
        url, SendEntry(id="x", body="a", group_id="g1", deduplication_id="d1")
    )
    assert sent.sequence_number
    [message] = await aws.receive(url, attribute_names=["MessageGroupId"])
    assert message.attributes["MessageGroupId"] == "g1"


async def test_delete_and_change_visibility_batches_report_successes_and_failures(
    aws: AWSBackend,
) -> None:
    url = await aws.create_queue("settle")
    await aws.send_message(url, SendEntry(id="a", body="x"))
    [message] = await aws.receive(url)
    changed = await aws.change_visibility_batch(
        url,
        [
            ChangeVisibilityEntry(
                id="ok", receipt_handle=message.receipt_handle, visibility_timeout=0
            ),
            ChangeVisibilityEntry(id="bad", receipt_handle="garbage", visibility_timeout=0),
        ],
    )
    assert changed.successful == ["ok"]
    assert [(f.id, f.code, f.sender_fault) for f in changed.failed] == [
        ("bad", "ReceiptHandleIsInvalid", True)
    ]
    [again] = await aws.receive(url)
    deleted = await aws.delete_batch(
        url,
        [
            DeleteEntry(id="ok", receipt_handle=again.receipt_handle),
            DeleteEntry(id="bad", receipt_handle="garbage"),
        ],
    )
    assert deleted.successful == ["ok"]
    assert isinstance(deleted.failed[0].to_exception(), ReceiptHandleIsInvalid)


async def test_queue_admin_round_trip(aws: AWSBackend) -> None:
    dlq = await aws.create_queue("admin-dlq", tags={"team": "core"})
    assert await aws.list_queue_tags(dlq) == {"team": "core"}
    arn = (await aws.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    src = await aws.create_queue(
        "admin-src",
        {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})},
    )
    assert await aws.get_queue_url("admin-src") == src
    assert src in (await aws.list_dead_letter_source_queues(dlq)).queue_urls
    page = await aws.list_queues(prefix="admin-")
    assert sorted(page.queue_urls) == sorted([dlq, src])
    await aws.set_queue_attributes(src, {"DelaySeconds": "5"})
    assert (await aws.get_queue_attributes(src, ["DelaySeconds"])) == {"DelaySeconds": "5"}
    await aws.tag_queue(src, {"a": "1", "b": "2"})
    await aws.untag_queue(src, ["a"])
    assert await aws.list_queue_tags(src) == {"b": "2"}
    await aws.delete_queue(src)
    with pytest.raises(QueueDoesNotExist):
        await aws.get_queue_url("admin-src")


# -- MD5 verification against a server that lies --------------------------------------------------


def _lying_server(op: str, req: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    if op == "SendMessageBatch":
        successful = []
        for entry in req["Entries"]:
            body_md5 = md5_of_body(entry["MessageBody"])
            if entry["Id"] == "corrupt":
                body_md5 = "0" * 32
            item = {
                "Id": entry["Id"],
                "MessageId": f"m-{entry['Id']}",
                "MD5OfMessageBody": body_md5,
            }
            if "MessageAttributes" in entry:
                item["MD5OfMessageAttributes"] = "f" * 32
            successful.append(item)
        return 200, {}, {"Successful": successful, "Failed": []}
    if op == "SendMessage":
        return 200, {}, {"MessageId": "m-1", "MD5OfMessageBody": "0" * 32}
    if op == "ReceiveMessage":
        good = {
            "MessageId": "good",
            "ReceiptHandle": "rh1",
            "Body": "fine",
            "MD5OfBody": md5_of_body("fine"),
        }
        bad_body = {
            "MessageId": "bad-body",
            "ReceiptHandle": "rh2",
            "Body": "changed",
            "MD5OfBody": md5_of_body("original"),
        }
        bad_attrs = {
            "MessageId": "bad-attrs",
            "ReceiptHandle": "rh3",
            "Body": "x",
            "MD5OfBody": md5_of_body("x"),
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            "MD5OfMessageAttributes": "a" * 32,
        }
        return 200, {}, {"Messages": [bad_body, good, bad_attrs]}
    return sqs_error("InvalidAction", "InvalidAction", f"unexpected {op}")


@pytest.fixture
async def lying() -> AsyncIterator[AWSBackend]:
    async with fake_sqs(_lying_server) as fake:
        backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=fake.url)
        try:
            yield backend
        finally:
            await backend.aclose()


async def test_sent_entry_with_wrong_md5_becomes_a_retryable_checksum_failure(
    lying: AWSBackend,
) -> None:
    result = await lying.send_batch(
        "http://q/1/q",
        [
            SendEntry(id="fine", body="a"),
            SendEntry(id="corrupt", body="b"),
            SendEntry(
                id="attrs", body="c", message_attributes={"k": MessageAttributeValue.string("v")}
            ),
        ],
    )
    assert [s.id for s in result.successful] == ["fine"]
    assert sorted(f.id for f in result.failed) == ["attrs", "corrupt"]
    for failure in result.failed:
        assert failure.code == "ChecksumMismatch"
        assert failure.sender_fault is False
        assert failure.retryable
        assert isinstance(failure.to_exception(), ChecksumMismatch)


async def test_single_send_with_wrong_md5_raises_checksum_mismatch(lying: AWSBackend) -> None:
    with pytest.raises(ChecksumMismatch) as info:
        await lying.send_message("http://q/1/q", SendEntry(id="x", body="a"))
    assert info.value.retryable
    assert "m-1" in info.value.message


async def test_received_messages_failing_verification_are_withheld_and_logged(
    lying: AWSBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="enterprise_sqs")
    messages = await lying.receive("http://q/1/q", max_messages=10, message_attribute_names=["All"])
    assert [m.message_id for m in messages] == ["good"]
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("enterprise_sqs")
    )
    assert "bad-body" in logged
    assert "bad-attrs" in logged


# -- message move tasks (moto has none: scripted server) ------------------------------------------


def _move_tasks(op: str, req: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    if op == "StartMessageMoveTask":
        assert req == {
            "SourceArn": "arn:dlq",
            "DestinationArn": "arn:src",
            "MaxNumberOfMessagesPerSecond": 50,
        }
        return 200, {}, {"TaskHandle": "h-1"}
    if op == "ListMessageMoveTasks":
        task = {
            "TaskHandle": "h-1",
            "Status": "RUNNING",
            "SourceArn": "arn:dlq",
            "DestinationArn": "arn:src",
            "MaxNumberOfMessagesPerSecond": 50,
            "ApproximateNumberOfMessagesMoved": 7,
            "ApproximateNumberOfMessagesToMove": 9,
            "StartedTimestamp": 1700000000000,
        }
        return 200, {}, {"Results": [task]}
    if op == "CancelMessageMoveTask":
        return 200, {}, {"ApproximateNumberOfMessagesMoved": 7}
    return sqs_error("ResourceNotFoundException", "ResourceNotFoundException", "no", 404)


async def test_message_move_tasks_map_both_ways() -> None:
    async with fake_sqs(_move_tasks) as fake:
        backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=fake.url)
        handle = await backend.start_message_move_task(
            "arn:dlq", destination_arn="arn:src", max_messages_per_second=50
        )
        [task] = await backend.list_message_move_tasks("arn:dlq", max_results=1)
        moved = await backend.cancel_message_move_task(handle)
        await backend.aclose()
    assert handle == "h-1"
    assert (task.status, task.task_handle, task.approximate_number_of_messages_moved) == (
        "RUNNING",
        "h-1",
        7,
    )
    assert task.approximate_number_of_messages_to_move == 9
    assert task.started_timestamp == 1700000000000
    assert moved == 7


async def test_a_full_one_mib_message_is_sent_without_blocking_the_event_loop(
    aws: AWSBackend,
) -> None:
    # aiohttp warns (an error under our pytest settings) when a body over 1 MiB is sent as raw
    # bytes; the backend streams such bodies instead.
    url = await aws.create_queue("large")
    body = "x" * (1024 * 1024)
    sent = await aws.send_message(url, SendEntry(id="big", body=body))
    assert sent.md5_of_body == md5_of_body(body)


# -- the hand-written path for the hot operations -------------------------------------------------


async def test_hot_operations_never_leak_credentials_in_errors_or_logs(
    moto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reset_moto(moto_url)
    backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=moto_url)
    texts = [repr(backend)]
    url = await backend.create_queue("hot-leak")
    await backend.send_batch(url, [SendEntry(id="a", body="hello")])
    [message] = await backend.receive(url, wait_time_seconds=1)
    await backend.change_visibility_batch(
        url,
        [
            ChangeVisibilityEntry(
                id="c", receipt_handle=message.receipt_handle, visibility_timeout=0
            )
        ],
    )
    await backend.delete_batch(url, [DeleteEntry(id="d", receipt_handle=message.receipt_handle)])
    missing = url.rsplit("/", 1)[0] + "/no-such-queue"
    for call in (
        backend.send_batch(missing, [SendEntry(id="a", body="x")]),
        backend.receive(missing),
        backend.delete_batch(missing, [DeleteEntry(id="d", receipt_handle="r")]),
    ):
        with pytest.raises(QueueDoesNotExist) as info:
            await call
        assert isinstance(info.value.__cause__, boto_exc.ClientError)
        texts += [str(info.value), repr(info.value), repr(info.value.__cause__)]
    await backend.aclose()
    texts += [r.getMessage() for r in caplog.records]
    assert_no_secrets("\n".join(texts))


async def test_hot_operations_are_signed_with_the_session_token_and_name_their_target() -> None:
    def answer(op: str, req: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        entries = req["Entries"]
        return 200, {}, {"Successful": [{"Id": e["Id"]} for e in entries], "Failed": []}

    async with fake_sqs(answer) as fake:
        backend = AWSBackend(region="eu-west-1", credentials=CREDS, endpoint_url=fake.url)
        await backend.delete_batch("http://q/1/q", [DeleteEntry(id="d", receipt_handle="r")])
        await backend.aclose()
    [headers] = fake.headers
    assert headers["X-Amz-Target"] == "AmazonSQS.DeleteMessageBatch"
    assert headers["X-Amz-Security-Token"] == TOKEN
    assert f"Credential={KEY_ID}/" in headers["Authorization"]
    assert "/eu-west-1/sqs/aws4_request" in headers["Authorization"]
    assert SECRET not in "\n".join(f"{k}: {v}" for k, v in headers.items())


async def test_hot_operations_sign_each_request_with_refreshed_credentials(
    clean_aws_env: Path,
) -> None:
    # A credential_process whose credentials expire within botocore's refresh window: the
    # provider hands out new keys on every refresh, as an assumed role does when it rotates.
    script = clean_aws_env / "rotate.py"
    script.write_text(
        "import datetime, json, pathlib\n"
        f"counter = pathlib.Path({str(clean_aws_env / 'n')!r})\n"
        "n = int(counter.read_text()) + 1 if counter.exists() else 1\n"
        "counter.write_text(str(n))\n"
        "expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=12)\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': f'AKIAROTATED{n:04d}',\n"
        "    'SecretAccessKey': 'rotating-secret', 'SessionToken': f'rotating-token-{n}',\n"
        "    'Expiration': expires.isoformat()}))\n"
    )
    (clean_aws_env / "config").write_text(
        f"[profile rotating]\nregion = us-east-1\ncredential_process = {sys.executable} {script}\n"
    )

    def answer(op: str, req: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        return 200, {}, {"Successful": [{"Id": e["Id"]} for e in req["Entries"]], "Failed": []}

    async with fake_sqs(answer) as fake:
        backend = AWSBackend(profile="rotating", endpoint_url=fake.url)
        for _ in range(2):
            await backend.delete_batch("http://q/1/q", [DeleteEntry(id="d", receipt_handle="r")])
        await backend.aclose()
    keys = [h["Authorization"].split("Credential=")[1].split("/")[0] for h in fake.headers]
    tokens = [h["X-Amz-Security-Token"] for h in fake.headers]
    assert all(k.startswith("AKIAROTATED") for k in keys)
    assert len(set(keys)) == 2, keys  # each request signed with what the provider holds now
    assert [t.rsplit("-", 1)[1] for t in tokens] == [k[-4:].lstrip("0") for k in keys]


async def test_hot_operation_against_a_closed_port_is_a_transport_error() -> None:
    backend = AWSBackend(
        region="us-east-1", credentials=CREDS, endpoint_url=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(TransportError) as info:
        await backend.send_batch("http://q/1/q", [SendEntry(id="a", body="x")])
    assert type(info.value) is TransportError
    assert isinstance(info.value.__cause__, boto_exc.EndpointConnectionError)
    assert_no_secrets(str(info.value))
    await backend.aclose()


async def test_hot_operation_that_gets_no_answer_is_a_request_timeout() -> None:
    async with silent_server() as url:
        backend = AWSBackend(
            region="us-east-1", credentials=CREDS, endpoint_url=url, read_timeout=0.3
        )
        with pytest.raises(RequestTimeout) as info:
            await backend.receive("http://q/1/q")
        await backend.aclose()
    assert isinstance(info.value.__cause__, boto_exc.ReadTimeoutError)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (sqs_error("InternalError", "InternalError", "boom", 500), ServiceUnavailable),
        (sqs_error("RequestThrottled", "RequestThrottled", "Rate exceeded", 400), ThrottlingError),
        (
            (502, {"Content-Type": "text/html"}, {"html": "<html>bad gateway</html>"}),
            ServiceUnavailable,
        ),
    ],
    ids=["5xx", "throttled", "proxy-page"],
)
async def test_hot_operation_errors_translate_as_aiobotocore_calls_do(
    answer: tuple[int, dict[str, str], dict[str, Any]], expected: type[SQSError]
) -> None:
    async with fake_sqs(lambda op, req: answer) as fake:
        backend = AWSBackend(region="us-east-1", credentials=CREDS, endpoint_url=fake.url)
        with pytest.raises(expected) as hot:
            await backend.send_batch("http://q/1/q", [SendEntry(id="a", body="x")])
        with pytest.raises(expected) as admin:
            await backend.list_queues()
        await backend.aclose()
    assert (hot.value.actual_code, hot.value.message) == (
        admin.value.actual_code,
        admin.value.message,
    )
    assert len(fake.requests) == 2  # one attempt each: retries are the resilience layer's


async def test_binary_attributes_round_trip_through_the_hand_written_path(
    aws: AWSBackend,
) -> None:
    url = await aws.create_queue("binary")
    attrs = {"b": MessageAttributeValue.binary(bytes(range(256)))}
    result = await aws.send_batch(url, [SendEntry(id="x", body="b", message_attributes=attrs)])
    assert result.failed == []
    [message] = await aws.receive(url, message_attribute_names=["All"], wait_time_seconds=1)
    assert message.message_attributes == attrs


async def test_hot_operations_use_the_endpoint_aiobotocore_resolves(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No endpoint_url given: botocore's own resolution (here its AWS_ENDPOINT_URL_SQS setting)
    # decides where the hand-written path sends, exactly as for aiobotocore calls.
    def answer(op: str, req: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if op == "ListQueues":
            return 200, {}, {"QueueUrls": []}
        return 200, {}, {"Successful": [{"Id": e["Id"]} for e in req["Entries"]], "Failed": []}

    async with fake_sqs(answer) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", fake.url)
        backend = AWSBackend(region="us-west-2", credentials=CREDS)
        await backend.list_queues()
        await backend.delete_batch("http://q/1/q", [DeleteEntry(id="d", receipt_handle="r")])
        await backend.aclose()
    assert [op for op, _ in fake.requests] == ["ListQueues", "DeleteMessageBatch"]
    assert "/us-west-2/sqs/aws4_request" in fake.headers[1]["Authorization"]


async def test_a_full_one_mib_batch_is_sent_without_blocking_the_event_loop(
    aws: AWSBackend,
) -> None:
    # aiohttp warns (an error under our pytest settings) when a body over 1 MiB is sent as raw
    # bytes; the hand-written path streams such bodies too.
    url = await aws.create_queue("large-batch")
    body = "x" * (1024 * 1024)
    result = await aws.send_batch(url, [SendEntry(id="big", body=body)])
    assert result.failed == []
    assert result.successful[0].md5_of_body == md5_of_body(body)


async def test_hot_operation_without_credentials_is_a_configuration_error(
    clean_aws_env: Path, moto_url: str
) -> None:
    backend = AWSBackend(region="us-east-1", endpoint_url=moto_url)
    with pytest.raises(ConfigurationError, match="credentials") as info:
        await backend.send_batch(f"{moto_url}/123456789012/q", [SendEntry(id="a", body="x")])
    assert isinstance(info.value.__cause__, boto_exc.NoCredentialsError)
    await backend.aclose()
