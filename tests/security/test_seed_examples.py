"""The seed's "Security Considerations" examples, in Python against this API.

Seed (JavaScript)::

    const sqs = new EnterpriseSQS({ region: process.env.AWS_REGION });          // IAM role
    const sqs = new EnterpriseSQS({ region, credentials: { accessKeyId, secretAccessKey,
                                                           sessionToken } });  // credential chain
    const publishEncryptedMessage = async (sensitiveData) => { ... encrypt(...) ... };
    const processMessageWithAccessControl = async (message, context) => {
      if (!await hasAccess(message.userId, context.messageGroupId)) { ...; return; } ... };
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

import pytest

from enterprise_sqs import Credentials
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.codecs.encryption import ENCRYPTION_ATTRIBUTE, EnvelopeEncryption
from enterprise_sqs.codecs.keys import KMSKeyProvider, LocalKeyring
from enterprise_sqs.config import EnterpriseSQSConfig
from enterprise_sqs.consuming.context import MessageContext
from tests.security.conftest import MOTO_CREDENTIALS, boto, consume, make_queue


async def test_credential_management_iam_role_and_credential_chain(
    moto_url: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "Use IAM roles instead of access keys": no credentials in the configuration at all; the
    # AWS credential chain finds them (here: the environment, as a container role would).
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chain-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "chain-token")
    role_config = EnterpriseSQSConfig(backend=moto_url, region=os.environ["AWS_REGION"])
    assert role_config.credentials is None
    # "Or use AWS SDK credential chain" with explicit temporary credentials.
    explicit_config = EnterpriseSQSConfig(
        backend=moto_url,
        region=os.environ["AWS_REGION"],
        credentials=Credentials(
            access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            session_token=os.environ["AWS_SESSION_TOKEN"],  # for temporary credentials
        ),
    )
    for config in (role_config, explicit_config):
        async with EnterpriseSQS(config) as sqs:
            await make_queue(sqs, unique)
            assert (await sqs.create_publisher(unique).publish({"ok": True})).success
    assert "chain-secret" not in repr(explicit_config) and "chain-token" not in repr(
        explicit_config
    )


@pytest.mark.parametrize("keys", ["local", "kms"])
async def test_publish_encrypted_message(
    memory_sqs: EnterpriseSQS, moto_url: str, unique: str, keys: str
) -> None:
    if keys == "local":
        provider: Any = LocalKeyring({"2026-01": LocalKeyring.generate_key()})
    else:
        key_id = boto(moto_url, "kms").create_key()["KeyMetadata"]["KeyId"]
        provider = KMSKeyProvider(
            key_id, endpoint_url=moto_url, region="us-east-1", credentials=MOTO_CREDENTIALS
        )
    encryption = EnvelopeEncryption(provider)
    await make_queue(memory_sqs, unique)
    publisher = memory_sqs.create_publisher(unique, codecs=[encryption])
    wire: list[Any] = []
    publisher.events.subscribe(wire.append, kinds=("published",))

    # The seed's publishEncryptedMessage: encryption is the publisher's job now.
    async def publish_encrypted_message(sensitive_data: dict[str, Any]) -> Any:
        return await publisher.publish(
            {
                "type": "sensitive-data",
                "encryptedData": sensitive_data,
                "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
            }
        )

    result = await publish_encrypted_message({"ssn": "078-05-1120"})
    assert result.success, result.error
    await publisher.aclose()
    assert "078-05-1120" not in wire[0].body
    assert ENCRYPTION_ATTRIBUTE in wire[0].message_attributes
    handled, _ = await consume(memory_sqs, unique, 1, codecs=[encryption])
    assert handled[0]["encryptedData"] == {"ssn": "078-05-1120"}
    close = getattr(provider, "aclose", None)
    if close is not None:
        await close()


async def test_process_message_with_access_control(memory_sqs: EnterpriseSQS, unique: str) -> None:
    grants = {("alice", "team-a"), ("bob", "team-b")}

    async def has_access(user_id: str, message_group_id: str | None) -> bool:
        return (user_id, message_group_id) in grants

    # The seed's processMessageWithAccessControl, as the consumer's policy: a denied message is
    # not "skipped" (silently lost) but dead-lettered, counted and logged.
    async def access_control(message: Any, context: MessageContext) -> bool:
        return await has_access(message["userId"], context.group_id)

    client = memory_sqs.get_sqs_client()
    dlq = await client.create_queue(f"{unique}-dlq.fifo", {"FifoQueue": "true"})
    dlq_arn = (await client.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    await client.create_queue(f"{unique}.fifo", {"FifoQueue": "true", "RedrivePolicy": redrive})
    for user, group in (("alice", "team-a"), ("mallory", "team-a"), ("bob", "team-b")):
        publisher = memory_sqs.create_publisher(
            f"{unique}.fifo", message_group_id=group, enable_deduplication=True
        )
        assert (await publisher.publish({"userId": user})).success
        await publisher.aclose()
    handled, events = await consume(
        memory_sqs, f"{unique}.fifo", 3, policy=access_control, processing_mode="sequential"
    )
    processed = sorted(m["userId"] for m in handled)
    assert processed == ["alice", "bob"]
    assert sorted(e.kind for e in events).count("denied") == 1
    [dead] = await client.receive(dlq)
    assert '"mallory"' in dead.body
