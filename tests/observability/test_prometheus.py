"""``/metrics`` over real HTTP, parsed by prometheus_client's own text parser."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.consuming import MessageContext
from enterprise_sqs.errors import ValidationError
from tests.consuming.helpers import Recorder
from tests.observability.conftest import FAST, make_queue


async def scrape(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    name = sample.removesuffix("_total").removesuffix("_bucket").removesuffix("_count")
    name = name.removesuffix("_sum")
    for family in (families.get(name), families.get(sample)):
        if family is None:
            continue
        for s in family.samples:
            if s.name == sample and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"no sample {sample}{labels}")


async def test_metrics_endpoint_parses_and_matches_get_metrics(sqs: EnterpriseSQS) -> None:
    await make_queue(sqs, "orders", dlq=True)
    publisher = sqs.create_publisher("orders")
    assert all(r.success for r in await publisher.publish_many({"n": n} for n in range(12)))

    async def handler(message: Any, context: MessageContext) -> None:
        if message["n"] < 2:
            raise ValidationError("bad order")

    consumer = sqs.create_consumer("orders", **FAST)
    recorder = Recorder(consumer)
    await consumer.start(handler)
    await recorder.wait(lambda r: r.count("processed") == 10 and r.count("dead_lettered") == 2)
    server = await sqs.start_http_server(port=0)
    families = await scrape(server.url)
    await consumer.stop()

    assert (
        value(families, "messaging_client_sent_messages_total", queue="orders", outcome="success")
        == 12
    )
    assert value(families, "messaging_client_consumed_messages_total", queue="orders") == 12
    assert (
        value(families, "esqs_consumer_messages_total", queue="orders", outcome="processed") == 10
    )
    assert (
        value(families, "esqs_consumer_messages_total", queue="orders", outcome="dead_lettered")
        == 2
    )
    assert value(families, "esqs_consumer_messages_total", queue="orders", outcome="failed") == 2
    assert value(families, "messaging_process_duration_seconds_count", queue="orders") == 12
    assert (
        value(families, "messaging_process_duration_seconds_bucket", queue="orders", le="+Inf")
        == 12
    )
    assert value(families, "esqs_publish_duration_seconds_count", queue="orders") == 12
    assert value(families, "esqs_circuit_breaker_state") == 0
    assert value(families, "esqs_consumers_active") == 1
    assert value(families, "esqs_success_ratio") == sqs.get_metrics().system.success_rate / 100

    process = families["messaging_process_duration_seconds"]
    assert process.type == "histogram"
    buckets = [s.value for s in process.samples if s.name.endswith("_bucket")]
    assert buckets == sorted(buckets), "cumulative buckets never decrease"
    for family in families.values():
        for sample in family.samples:
            assert set(sample.labels) <= {"queue", "outcome", "le"}, sample


async def test_metrics_endpoint_counts_reset(sqs: EnterpriseSQS) -> None:
    await make_queue(sqs, "q")
    await sqs.create_publisher("q").publish({"n": 1})
    server = await sqs.start_http_server(port=0)
    assert (
        value(
            await scrape(server.url),
            "messaging_client_sent_messages_total",
            queue="q",
            outcome="success",
        )
        == 1
    )
    sqs.reset_metrics()
    # The series stays (its publisher still reports to it), counting from zero again.
    families = await scrape(server.url)
    assert (
        value(families, "messaging_client_sent_messages_total", queue="q", outcome="success") == 0
    )
