"""Credentials: explicit secrets never appear in logs (even at DEBUG), repr, stats, tracebacks of
our errors or CLI output; assumed roles (STS on moto server) sign requests and refresh before
their temporary credentials expire."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enterprise_sqs import Credentials
from enterprise_sqs.backends.aws import AWSBackend
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.encryption import EnvelopeEncryption
from enterprise_sqs.codecs.keys import KMSKeyProvider
from enterprise_sqs.codecs.offload import PayloadOffload, S3PayloadStore
from enterprise_sqs.config import EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.credentials import AssumeRole
from enterprise_sqs.errors import ConfigurationError, EnterpriseSQSError
from tests.security.conftest import boto, consume, make_queue, moto_client

ACCESS_KEY = "AKIA" + secrets.token_hex(8).upper()
SECRET_KEY = "secret-" + secrets.token_urlsafe(24)
SESSION_TOKEN = "token-" + secrets.token_urlsafe(48)
SECRETS = (SECRET_KEY, SESSION_TOKEN)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, formatted with tracebacks, into one buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a credential leaked into {where}"


async def test_no_secret_in_logs_repr_stats_tracebacks_or_cli(
    moto_url: str, unique: str, debug_log: io.StringIO, tmp_path: Path
) -> None:
    credentials = Credentials(
        access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, session_token=SESSION_TOKEN
    )
    aws: dict[str, Any] = {
        "endpoint_url": moto_url,
        "region": "us-east-1",
        "credentials": credentials,
    }
    bucket = f"leak-{unique}"
    boto(moto_url, "s3").create_bucket(Bucket=bucket)
    key_id = boto(moto_url, "kms").create_key()["KeyMetadata"]["KeyId"]
    encryption = EnvelopeEncryption(KMSKeyProvider(key_id, **aws))
    offload = PayloadOffload(S3PayloadStore(bucket, **aws), always=True)
    seen: list[str] = []
    async with moto_client(moto_url, credentials) as sqs:
        await make_queue(sqs, unique)
        publisher = sqs.create_publisher(unique, codecs=[encryption, offload])
        result = await publisher.publish({"card": "4111"})
        assert result.success, result.error
        await publisher.aclose()
        handled, _ = await consume(sqs, unique, 1, codecs=[encryption, offload])
        assert handled == [{"card": "4111"}]
        client = sqs.get_sqs_client()
        # Our errors, with their whole chain of causes.
        errors: list[BaseException] = []
        failed = await sqs.create_publisher("no-such-queue").publish("x")
        assert failed.error is not None
        errors.append(failed.error)
        try:
            await client.get_queue_url("no-such-queue")
        except EnterpriseSQSError as exc:
            errors.append(exc)
        try:
            Credentials(access_key_id=ACCESS_KEY, secret_access_key="")
        except ConfigurationError as exc:
            errors.append(exc)
        seen += ["".join(traceback.format_exception(e)) for e in errors]
        seen += [repr(x) for x in (sqs, client, client.stats, credentials, sqs.config)]
        seen += [repr(publisher), repr(publisher.stats) if hasattr(publisher, "stats") else ""]
        seen += [repr(encryption), repr(offload), repr(encryption.provider), str(credentials)]
        seen.append(str(client.get_circuit_breaker_status()))
    await encryption.provider.aclose()  # type: ignore[attr-defined]  # a KMSKeyProvider
    await offload.aclose()
    for text in seen:
        _assert_clean(text, "a repr, stats or traceback")
    log = debug_log.getvalue()
    # botocore did log the signed requests (the token went out in every one), redacted.
    assert "X-Amz-Security-Token" in log and "<redacted>" in log
    _assert_clean(log, "the DEBUG log")

    # The CLI, with the same temporary credentials in the environment, --debug, and a failure.
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "ESQS_DATA_DIR": str(tmp_path),
    }
    esqs = str(Path(sys.executable).with_name("esqs"))
    base = [esqs, "--backend", moto_url]
    base += ["--region", "us-east-1", "--debug"]
    outputs: list[str] = []
    for args in (
        ["queues", "list"],
        ["send", unique, "hello"],
        ["stats", unique],
        ["stats", "nope"],
    ):
        run = await asyncio.to_thread(
            subprocess.run,
            [*base, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        _assert_clean(run.stdout + run.stderr, f"esqs {' '.join(args)}")
        outputs.append(run.stdout + run.stderr)
    assert "X-Amz-Security-Token" in "".join(outputs)  # --debug did log the signed requests
    # The last one failed, and said so without the secrets.
    assert run.returncode == 1 and "nope" in run.stderr


async def test_an_assumed_role_signs_and_refreshes_before_expiry(
    moto_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    role = AssumeRole(
        role_arn="arn:aws:iam::123456789012:role/orders-consumer",
        role_session_name="orders",
        external_id="ext-42",
        # 15 minutes is inside botocore's advisory refresh window: every use refreshes, the way
        # an hour-long role behaves in its last 15 minutes.
        duration_seconds=900,
        sts_endpoint_url=moto_url,
    )
    config = EnterpriseSQSConfig(
        backend=moto_url,
        region="us-east-1",
        credentials=Credentials(access_key_id="base", secret_access_key="base-secret"),
        assume_role=role,
        retry=RetryConfig(max_retries=1),
    )
    with caplog.at_level(logging.INFO, logger="enterprise_sqs.backends.aws_role"):
        async with EnterpriseSQS(config) as sqs:
            await make_queue(sqs, unique)
            publisher = sqs.create_publisher(unique)
            for n in range(3):
                assert (await publisher.publish({"n": n})).success
            await publisher.aclose()
            handled, _ = await consume(sqs, unique, 3)
            assert sorted(m["n"] for m in handled) == [0, 1, 2]
    assumed = [r for r in caplog.records if r.getMessage().startswith("assumed role")]
    assert len(assumed) >= 2  # the first AssumeRole, then refreshes before expiry


async def test_a_long_lived_role_is_assumed_once(moto_url: str, unique: str, caplog: Any) -> None:
    config = EnterpriseSQSConfig.from_mapping(
        {
            "backend": moto_url,
            "region": "us-east-1",
            "credentials": {"access_key_id": "base", "secret_access_key": "base-secret"},
            "assume_role": {
                "role_arn": "arn:aws:iam::123456789012:role/orders-producer",
                "sts_endpoint_url": moto_url,
            },
        }
    )
    with caplog.at_level(logging.INFO, logger="enterprise_sqs.backends.aws_role"):
        async with EnterpriseSQS(config) as sqs:
            await make_queue(sqs, unique)
            publisher = sqs.create_publisher(unique)
            for n in range(3):
                assert (await publisher.publish({"n": n})).success
            await publisher.aclose()
    assumed = [r for r in caplog.records if r.getMessage().startswith("assumed role")]
    assert len(assumed) == 1


def test_assume_role_configuration_is_validated_and_hides_the_external_id() -> None:
    role = AssumeRole(role_arn="arn:aws:iam::1:role/r", external_id="very-private-id")
    assert "very-private-id" not in repr(role)
    backend = AWSBackend(region="us-east-1", assume_role=role)
    assert "as arn:aws:iam::1:role/r" in repr(backend)
    assert "very-private-id" not in repr(backend)
    with pytest.raises(ConfigurationError, match="role_arn"):
        AssumeRole(role_arn="orders-consumer")
    with pytest.raises(ConfigurationError, match="duration_seconds"):
        AssumeRole(role_arn="arn:aws:iam::1:role/r", duration_seconds=60)
    with pytest.raises(ConfigurationError, match="unknown assume_role keys"):
        EnterpriseSQSConfig.from_mapping({"assume_role": {"role": "x"}})
