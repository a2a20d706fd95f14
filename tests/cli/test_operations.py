"""dlq redrive, work, global options and configuration, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

from tests.cli.conftest import ESQS, Esqs, clean_env


def _dead_letter_one(esqs: Esqs, name: str) -> None:
    esqs.ok("queues", "create", name + "-dlq")
    esqs.ok("queues", "create", name, "--dlq", name + "-dlq", "--max-receives", "1")
    esqs.ok("send", name, "poison")
    esqs.ok("receive", name, "--keep", "--visibility", "0", "--wait", "0")
    # The second receive finds the receive count spent: SQS moves the message to the DLQ.
    assert esqs.json("receive", name, "--wait", "0")["Messages"] == []
    (row,) = esqs.json("stats", name)["queues"]
    assert row["dlq_depth"] == 1


def test_dlq_redrive_moves_messages_back_with_progress(engine: Esqs, name: str) -> None:
    _dead_letter_one(engine, name)
    done = engine.ok("dlq", "redrive", name + "-dlq", "--poll", "0.05")
    assert "Redrive completed: moved 1 message(s)" in done.stdout
    (row,) = engine.json("stats", name)["queues"]
    assert (row["visible"], row["dlq_depth"]) == (1, 0)

    _again = engine.json("dlq", "redrive", name + "-dlq", "--to", name, "--poll", "0.05")
    assert _again["Status"] == "COMPLETED" and _again["ApproximateNumberOfMessagesMoved"] == 0


def test_dlq_redrive_where_unsupported_fails_in_one_line_and_keeps_the_message(
    esqs: Esqs, name: str
) -> None:
    _dead_letter_one(esqs, name)
    if esqs.kind == "engine":
        missing = esqs("dlq", "redrive", name + "-nothing")
        assert missing.exit_code == 1 and "does not exist" in missing.stderr
        return
    refused = esqs("dlq", "redrive", name + "-dlq")  # moto has no message move tasks
    assert refused.exit_code == 1
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.output
    (row,) = esqs.json("stats", name)["queues"]
    assert row["dlq_depth"] == 1


def test_work_runs_a_handler_until_sigterm_then_stops_gracefully(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            async def record(message, context):
                if message.get("fail"):
                    raise ValueError("bad order")
                with Path("handled.txt").open("a") as out:
                    out.write(f"{message['n']}\\n")
            """
        )
    )
    env = clean_env(ESQS_BACKEND=f"sqlite:///{tmp_path / 'q.db'}")
    esqs = Esqs([], env, "engine", tmp_path)  # set up in-process; the worker is a real process
    esqs.ok("queues", "create", "jobs")
    for n in range(5):
        esqs.ok("send", "jobs", json.dumps({"n": n}))
    worker = subprocess.Popen(
        [
            str(ESQS),
            "work",
            "handlers:record",
            "jobs",
            "--wait",
            "1",
            "--concurrency",
            "3",
            "--http-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
    )
    try:
        assert worker.stdout is not None
        lines = [worker.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Backend: sqlite:///")
        assert lines[1].startswith("Worker consuming jobs with handlers:record")
        endpoint = lines[2].split()[3].removesuffix("/livez")
        with urllib.request.urlopen(endpoint + "/healthz", timeout=10) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["details"]["backend"]["status"] == "healthy"
        with urllib.request.urlopen(endpoint + "/readyz", timeout=10) as answer:
            assert answer.status == 200
        handled = tmp_path / "handled.txt"
        deadline = time.monotonic() + 30
        while not (handled.exists() and len(handled.read_text().split()) == 5):
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker did not handle the messages"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert sorted(handled.read_text().split()) == ["0", "1", "2", "3", "4"]
    assert "Worker stopped: received 5, processed 5" in out
    stats = esqs.json("stats", "jobs")["queues"][0]
    assert (stats["visible"], stats["in_flight"]) == (0, 0)


def test_work_refuses_a_handler_it_cannot_import(tmp_path: Path) -> None:
    env = clean_env(ESQS_BACKEND="memory://")
    done = subprocess.run(
        [str(ESQS), "work", "no_such_module:handler", "jobs"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "cannot import 'no_such_module'" in done.stderr and "Traceback" not in done.stderr


def test_help_documents_exit_codes_and_environment_variables(engine: Esqs) -> None:
    shown = engine.ok("--help")
    for text in (
        "Exit codes",
        "0    success",
        "1    an operation failed",
        "2    bad usage",
        "130",
        "ESQS_BACKEND",
        "ESQS_DATA_DIR",
    ):
        assert text in shown.stdout
    for command in (
        "demo",
        "queues",
        "send",
        "receive",
        "peek",
        "tail",
        "work",
        "dlq",
        "stats",
        "health",
        "loadtest",
        "serve",
    ):
        assert command in shown.stdout


def test_default_backend_is_a_local_data_directory_said_first(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ESQS), "queues", "create", "here"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"Backend: sqlite:///{tmp_path / '.esqs' / 'queues.db'}")
    assert "local data directory" in first
    assert (tmp_path / ".esqs" / "queues.db").exists()

    elsewhere = tmp_path / "data"
    listed = subprocess.run(
        [str(ESQS), "--json", "queues", "list"],
        capture_output=True,
        text=True,
        env=clean_env(ESQS_DATA_DIR=str(elsewhere)),
        cwd=tmp_path,
        timeout=60,
    )
    assert listed.returncode == 0
    assert json.loads(listed.stdout) == {"QueueUrls": []}
    assert listed.stderr.startswith(f"Backend: sqlite:///{elsewhere / 'queues.db'}")


def test_config_file_and_environment_choose_the_backend(tmp_path: Path, name: str) -> None:
    config = tmp_path / "esqs.toml"
    config.write_text(
        f'backend = "sqlite:///{tmp_path / "dev.db"}"\n'
        f'[production]\nbackend = "sqlite:///{tmp_path / "prod.db"}"\n'
    )
    dev = Esqs(["--config", str(config)], clean_env(), "engine", tmp_path)
    prod = Esqs(["--config", str(config), "--env", "production"], clean_env(), "engine", tmp_path)
    dev.ok("queues", "create", name)
    assert (tmp_path / "dev.db").exists() and not (tmp_path / "prod.db").exists()
    assert prod.json("queues", "list")["QueueUrls"] == []
    by_env = Esqs([], clean_env(ESQS_CONFIG_FILE=str(config), ESQS_ENV="production"), "e", tmp_path)
    assert by_env.json("queues", "list")["QueueUrls"] == []
    assert dev.json("queues", "list")["QueueUrls"][0].endswith(name)

    config.write_text("backend = [")
    broken = dev("queues", "list")
    assert broken.exit_code == 2 and "malformed" in broken.stderr
    wrong_env = Esqs(["--env", "moon"], clean_env(), "engine", tmp_path)("queues", "list")
    assert wrong_env.exit_code == 2
    bad_backend = Esqs(["--backend", "redis://x"], clean_env(), "e", tmp_path)("queues", "list")
    assert bad_backend.exit_code == 2 and "backend must be a URL with scheme" in bad_backend.stderr
    bad_region = Esqs(["--backend", "aws://", "--region", "mars"], clean_env(), "e", tmp_path)
    assert bad_region("queues", "list").exit_code == 2


def test_debug_shows_the_full_trace(engine: Esqs, name: str) -> None:
    quiet = engine("send", name + "-missing", "x")
    assert quiet.exit_code == 1 and "Traceback" not in quiet.stderr
    loud = engine("--debug", "send", name + "-missing", "x")
    assert loud.exit_code == 1 and "Traceback" in loud.stderr


def test_ctrl_c_stops_a_load_test_and_says_what_was_done(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(ESQS), "--json", "loadtest", "-n", "5000000", "--handler-delay", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(ESQS_BACKEND="memory://"),
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("Backend: memory://")
        time.sleep(1.0)  # let it publish for a while: the report must say what was done
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Interrupted: load test stopped: published" in err
    assert "Traceback" not in err
    assert out == ""
