"""Queue administration, send/receive/peek/tail, stats and health, on the engine and on moto."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Esqs


def _depth(esqs: Esqs, queue: str) -> tuple[int, int]:
    (row,) = esqs.json("stats", queue)["queues"]
    return row["visible"], row["in_flight"]


def test_queue_lifecycle(esqs: Esqs, name: str) -> None:
    url = esqs.json("queues", "create", name, "-a", "VisibilityTimeout=40")["QueueUrl"]
    assert url.endswith("/" + name)
    assert url in esqs.json("queues", "list", "--prefix", name)["QueueUrls"]
    assert esqs.json("queues", "attributes", name)["VisibilityTimeout"] == "40"

    changed = esqs.ok("queues", "set", name, "VisibilityTimeout=45", "DelaySeconds=0")
    assert "Set DelaySeconds, VisibilityTimeout" in changed.stdout
    shown = esqs.ok("queues", "attributes", name, "--name", "VisibilityTimeout")
    assert "VisibilityTimeout" in shown.stdout and "45" in shown.stdout

    esqs.ok("send", name, "doomed")
    assert "Purged" in esqs.ok("queues", "purge", name, "--yes").stdout
    assert "Deleted" in esqs.ok("queues", "delete", name, "--yes").stdout
    assert url not in esqs.json("queues", "list")["QueueUrls"]

    again = esqs("queues", "delete", name, "--yes")
    assert again.exit_code == 1
    assert "does not exist" in again.stderr and "Traceback" not in again.output
    assert esqs("queues", "delete", name, "--yes", "--if-exists").exit_code == 0


def test_first_line_names_the_backend(esqs: Esqs) -> None:
    listed = esqs.ok("queues", "list")
    first = listed.stdout.splitlines()[0]
    assert first.startswith("Backend: ")
    assert ("sqlite:///" in first) if esqs.kind == "engine" else ("127.0.0.1" in first)


def test_send_from_argument_file_and_stdin_then_peek_and_receive(
    esqs: Esqs, name: str, tmp_path: Path
) -> None:
    esqs.ok("queues", "create", name)
    sent = esqs.json(
        "send",
        name,
        "from-argument",
        "-a",
        "tenant=acme",
        "-a",
        "priority:Number=7",
        "-a",
        "blob:Binary=aGk=",
    )
    assert sent["MessageId"]
    body_file = tmp_path / "body.json"
    body_file.write_text('{"from": "file"}')
    esqs.ok("send", name, "--file", str(body_file))
    esqs.ok("send", name, "--attributes", '{"source": "stdin", "n": 3}', input="from-stdin")

    peeked = esqs.json("peek", name, "--max", "10")["Messages"]
    assert sorted(m["Body"] for m in peeked) == sorted(
        ['{"from": "file"}', "from-argument", "from-stdin"]
    )
    assert _depth(esqs, name) == (3, 0), "peek made the messages visible again"

    received = esqs.json("receive", name, "--max", "10", "--wait", "0")["Messages"]
    by_body = {m["Body"]: m for m in received}
    assert set(by_body) == {'{"from": "file"}', "from-argument", "from-stdin"}
    attributes = by_body["from-argument"]["MessageAttributes"]
    assert attributes["tenant"] == {"DataType": "String", "StringValue": "acme"}
    assert attributes["priority"] == {"DataType": "Number", "StringValue": "7"}
    assert attributes["blob"] == {"DataType": "Binary", "BinaryValue": "aGk="}
    assert by_body["from-stdin"]["MessageAttributes"]["n"]["DataType"] == "Number"
    assert _depth(esqs, name) == (0, 0), "receive deleted what it printed"
    empty = esqs.ok("receive", name, "--wait", "0")
    assert f"No messages in {name}." in empty.stdout


def test_fifo_send_with_group_and_deduplication_id(esqs: Esqs, name: str) -> None:
    queue = name + ".fifo"
    esqs.ok("queues", "create", queue)
    for body in ("first", "first-again"):
        esqs.ok("send", queue, body, "--group-id", "g1", "--dedup-id", "same")
    esqs.ok("send", queue, "second", "--group-id", "g1", "--dedup-id", "other")
    messages = esqs.json("receive", queue, "--max", "10", "--wait", "0")["Messages"]
    assert [m["Body"] for m in messages] == ["first", "second"]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"g1"}


def test_bad_input_is_refused_clearly_and_nothing_is_lost(
    esqs: Esqs, name: str, tmp_path: Path
) -> None:
    esqs.ok("queues", "create", name)
    esqs.ok("send", name, "keep-me")

    unknown = esqs("send", name + "-missing", "x")
    assert unknown.exit_code == 1
    assert f"queue '{name}-missing' does not exist" in unknown.stderr

    malformed = esqs("send", name, "x", "--attributes", "{not json")
    assert malformed.exit_code == 2 and "malformed JSON" in malformed.stderr

    bad_type = esqs("send", name, "x", "-a", "n:Integer=1")
    assert bad_type.exit_code == 2 and "use String, Number or Binary" in bad_type.stderr

    not_a_number = esqs("send", name, "x", "-a", "n:Number=abc")
    assert not_a_number.exit_code == 2 and "is not a number" in not_a_number.stderr

    big = tmp_path / "big.txt"
    big.write_text("x" * (1024 * 1024 + 1))
    oversize = esqs("send", name, "--file", str(big))
    assert oversize.exit_code == 1
    assert "over the limit" in oversize.stderr
    assert len(oversize.stderr.strip().splitlines()) == 1, oversize.stderr

    bad_flag = esqs("send", name, "x", "--delay", "5000")
    assert bad_flag.exit_code == 2 and "--delay" in bad_flag.stderr
    unknown_flag = esqs("receive", name, "--frobnicate")
    assert unknown_flag.exit_code == 2 and "No such option" in unknown_flag.stderr
    bad_assignment = esqs("queues", "set", name, "VisibilityTimeout")
    assert bad_assignment.exit_code == 2 and "NAME=VALUE" in bad_assignment.stderr
    if esqs.kind == "engine":  # moto accepts any VisibilityTimeout
        bad_attribute = esqs("queues", "set", name, "VisibilityTimeout=-4")
        assert bad_attribute.exit_code == 1 and "VisibilityTimeout" in bad_attribute.stderr
        assert "Traceback" not in bad_attribute.output

    messages = esqs.json("receive", name, "--max", "10", "--wait", "0")["Messages"]
    assert [m["Body"] for m in messages] == ["keep-me"]


def test_tail_follows_without_deleting_unless_asked(esqs: Esqs, name: str) -> None:
    esqs.ok("queues", "create", name)
    for i in range(3):
        esqs.ok("send", name, f"m{i}")
    followed = esqs.ok("tail", name, "--count", "3", "--wait", "1")
    assert sorted(
        line.strip() for line in followed.stdout.splitlines() if line.strip().startswith("m")
    ) == [
        "m0",
        "m1",
        "m2",
    ]
    assert "Printed 3 message(s)." in followed.stdout
    assert _depth(esqs, name) == (3, 0)

    drained = esqs("--json", "tail", name, "--delete", "--idle-timeout", "1.5", "--wait", "1")
    assert drained.exit_code == 0, drained.output
    bodies = sorted(__import__("json").loads(line)["Body"] for line in drained.stdout.splitlines())
    assert bodies == ["m0", "m1", "m2"]
    assert _depth(esqs, name) == (0, 0)


def test_stats_watch_and_health(esqs: Esqs, name: str) -> None:
    esqs.ok("queues", "create", name + "-dlq")
    esqs.ok("queues", "create", name, "--dlq", name + "-dlq", "--max-receives", "2")
    esqs.ok("send", name, "one")
    esqs.ok("send", name, "later", "--delay", "60")
    rows = {r["queue"]: r for r in esqs.json("stats")["queues"]}
    assert rows[name]["visible"] == 1
    assert rows[name]["delayed"] == 1
    assert rows[name]["dlq"] == name + "-dlq"
    assert rows[name]["dlq_depth"] == 0

    table = esqs.ok("stats", name)
    assert name in table.stdout and "In flight" in table.stdout

    watched = esqs("--json", "stats", name, "--watch", "--interval", "0.05", "--iterations", "3")
    assert watched.exit_code == 0, watched.output
    frames = [__import__("json").loads(line) for line in watched.stdout.splitlines()]
    assert len(frames) == 3 and frames[-1]["queues"][0]["visible"] == 1

    live = esqs.ok("stats", name, "--watch", "--interval", "0.05", "--iterations", "2")
    assert name in live.stdout

    report = esqs.json("health")
    assert report["status"] == "healthy"
    backend = report["details"]["backend"]
    assert backend["status"] == "healthy" and backend["details"]["circuit_breaker"] == "CLOSED"


def test_health_of_an_unreachable_backend_fails() -> None:
    from tests.cli.conftest import clean_env
    from tests.support.moto import free_port

    down = Esqs(
        ["--backend", f"http://127.0.0.1:{free_port()}", "--region", "us-east-1"],
        clean_env(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y"),
        "down",
        Path.cwd(),
    )
    result = down("health")
    assert result.exit_code == 1
    assert "backend      unhealthy" in result.stdout and "Overall: unhealthy" in result.stdout
