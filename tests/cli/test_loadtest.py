"""``esqs loadtest``: 100,000 messages on the embedded engine, numbers checked against the
consumer's and the client's own counters, and a plot matplotlib really wrote; a small run on moto;
bad flags."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from tests.cli.conftest import Esqs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_text_chunks(data: bytes) -> dict[str, str]:
    """The tEXt/zTXt chunks of a PNG (where matplotlib signs its files)."""
    assert data[:8] == PNG_SIGNATURE
    chunks: dict[str, str] = {}
    position = 8
    seen_end = False
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        crc = int.from_bytes(data[position + 8 + length : position + 12 + length], "big")
        assert zlib.crc32(kind + payload) == crc, f"bad CRC in chunk {kind!r}"
        if kind == b"tEXt":
            key, _, value = payload.partition(b"\0")
            chunks[key.decode()] = value.decode("latin-1")
        if kind == b"IEND":
            seen_end = True
        position += 12 + length
    assert seen_end, "the PNG has no IEND chunk"
    return chunks


def test_hundred_thousand_messages_on_the_engine_agree_with_the_counters(
    engine: Esqs, tmp_path: Path
) -> None:
    plot = tmp_path / "loadtest.png"
    report = engine.json(
        "loadtest",
        "--messages",
        "100000",
        "--concurrency",
        "100",
        "--size",
        "200",
        "--plot",
        str(plot),
    )
    assert report["messages"] == 100_000
    assert report["published"] == 100_000
    assert report["consumed"] == 100_000
    assert report["lost"] == 0
    assert report["errors"] == {"publish": 0, "handler": 0}
    consumer = report["consumer_stats"]
    # Every successful handler call is a processed message: first deliveries plus duplicates.
    assert consumer["processed"] == report["consumed"] + report["duplicates"]
    assert consumer["received"] >= consumer["processed"]
    assert consumer["failed"] == 0 and consumer["dead_lettered"] == 0
    assert report["retries"] == consumer["retried"] + report["client_stats"]["retries"]
    # ... and with the metrics API (sqs.get_metrics()) of the client that ran it.
    queue = report["metrics"]["queue"]
    assert queue["sent"] == report["published"]
    assert queue["send_failed"] == report["errors"]["publish"]
    assert queue["processed"] == consumer["processed"]
    assert queue["received"] == consumer["received"]
    assert queue["failed"] == consumer["failed"] == report["errors"]["handler"]
    assert queue["retried"] == consumer["retried"]
    assert queue["processing_time"]["count"] == consumer["processed"]
    assert report["metrics"]["system"]["total_messages"] == queue["sent"] + queue["processed"]
    assert report["metrics"]["system"]["success_rate"] == 100.0
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert report["throughput_per_second"] > 0 and report["duration_seconds"] > 0
    # The load test's queue is gone afterwards.
    assert engine.json("queues", "list")["QueueUrls"] == []

    data = plot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert _png_text_chunks(data).get("Software", "").startswith("Matplotlib")


def test_fifo_load_with_handler_failures_counts_retries(engine: Esqs) -> None:
    report = engine.json(
        "loadtest",
        "-n",
        "600",
        "--fifo",
        "--groups",
        "4",
        "-c",
        "8",
        "--handler-failure-rate",
        "0.05",
        "--handler-delay",
        "0.5",
    )
    assert report["fifo"] is True
    assert (report["published"], report["consumed"], report["lost"]) == (600, 600, 0)
    consumer = report["consumer_stats"]
    assert consumer["failed"] == report["errors"]["handler"] > 0
    assert consumer["retried"] == consumer["failed"]
    assert report["metrics"]["queue"]["retried"] == consumer["retried"]
    assert report["retries"] >= consumer["retried"]


def test_table_output_on_moto(moto: Esqs) -> None:
    shown = moto.ok("loadtest", "-n", "40", "-c", "4")
    for text in (
        "Published",
        "Consumed",
        "Duplicates",
        "Lost",
        "Retries",
        "Throughput",
        "Latency p50",
        "Latency p95",
        "Latency p99",
        "Latency max",
    ):
        assert text in shown.stdout
    assert "40/40" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "0"], "--messages"),
        (["--size", "999999999"], "--size"),
        (["--handler-failure-rate", "2"], "--handler-failure-rate"),
        (["--queue", "plain", "--fifo"], ".fifo"),
        (["--concurrency", "lots"], "--concurrency"),
    ],
)
def test_bad_flags_are_usage_errors(engine: Esqs, args: list[str], message: str) -> None:
    result = engine("loadtest", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_json_report_is_one_document(engine: Esqs) -> None:
    result = engine("--json", "loadtest", "-n", "10")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consumed"] == 10
    assert result.stderr.startswith("Backend: sqlite:///")
