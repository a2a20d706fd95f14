"""What users get for testing their own code: a user's test suite, written as a user would,
run by a real pytest in a subprocess with only ``enterprise_sqs.pytest_plugin`` enabled (pytest-
asyncio in its default strict mode, none of this project's pytest settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USER_CONFTEST = 'pytest_plugins = ["enterprise_sqs.pytest_plugin"]\n'

USER_TESTS = """
import boto3
import pytest

from enterprise_sqs.testing import ConsumerRecorder


@pytest.mark.asyncio
async def test_an_order_is_processed(esqs):
    await esqs.get_sqs_client().create_queue("orders")
    seen = []

    async def handle(order, context):
        seen.append(order)

    consumer = esqs.create_consumer("orders", wait_time_seconds=1)
    recorder = ConsumerRecorder(consumer)
    await consumer.start(handle)
    await esqs.create_publisher("orders").publish({"order": 1})
    await recorder.wait_for(processed=1, timeout=10)
    await consumer.stop()
    assert seen == [{"order": 1}]
    assert recorder.count("processed") == 1


@pytest.mark.asyncio
async def test_a_failing_order_is_dead_lettered(esqs):
    client = esqs.get_sqs_client()
    dlq = await client.create_queue("orders-dlq")
    arn = (await client.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    policy = '{"deadLetterTargetArn": "%s", "maxReceiveCount": "1"}' % arn
    await client.create_queue("orders", {"RedrivePolicy": policy})

    async def handle(order, context):
        raise ValueError("no such product")

    consumer = esqs.create_consumer("orders", wait_time_seconds=1, non_retryable=[ValueError])
    recorder = ConsumerRecorder(consumer)
    await consumer.start(handle)
    await esqs.create_publisher("orders").publish({"order": 2})
    await recorder.wait_for(dead_lettered=1, timeout=10)
    await consumer.stop()
    assert len(await client.receive(dlq, max_messages=10)) == 1


@pytest.mark.asyncio
async def test_visibility_passes_when_the_test_says_so(esqs, esqs_clock):
    client = esqs.get_sqs_client()
    url = await client.create_queue("jobs", {"VisibilityTimeout": "30"})
    await esqs.create_publisher("jobs").publish("job")
    [first] = await client.receive(url, max_messages=1)
    assert await client.receive(url, max_messages=1) == []
    esqs_clock.advance(31)
    [again] = await client.receive(url, max_messages=1)
    assert again.message_id == first.message_id


@pytest.mark.asyncio
async def test_waiting_in_vain_says_what_happened(esqs):
    await esqs.get_sqs_client().create_queue("quiet")
    consumer = esqs.create_consumer("quiet", wait_time_seconds=0, polling_interval=10)
    recorder = ConsumerRecorder(consumer)

    async def handle(message, context):
        return None

    await consumer.start(handle)
    with pytest.raises(TimeoutError, match="processed=1; the consumer reported empty_poll="):
        await recorder.wait_for(processed=1, timeout=0.3)
    assert recorder.count("empty_poll") >= 1  # it did poll, and found nothing
    assert recorder.count("processed") == 0
    await consumer.stop()


def test_boto3_talks_to_the_server(esqs_server):
    sqs = boto3.client(
        "sqs",
        endpoint_url=esqs_server.url,
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )
    url = sqs.create_queue(QueueName="interop")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "hello"
"""


def test_a_users_suite_runs_on_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(USER_CONFTEST)
    (tmp_path / "test_orders.py").write_text(USER_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout, done.stdout[-2000:]
