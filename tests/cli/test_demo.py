"""``esqs demo``, the README's first command, run as a user runs it: ``make demo`` runs
``esqs demo``, in a fresh directory with no ESQS_* or AWS_* settings."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.cli.conftest import ESQS, clean_env

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_runs_esqs_demo() -> None:
    # Under `make test` this runs inside make: drop the parent's flags so the plan is plain.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.strip().splitlines()[-1] == ".venv/bin/esqs demo"


def test_demo_tours_the_engine_from_a_fresh_environment(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ESQS), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(HOME=str(tmp_path)),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "library logs must not interleave with the tour"
    out = done.stdout
    assert (
        out.splitlines()[0]
        == "Backend: memory:// (the embedded engine, in memory: nothing is kept)"
    )
    expected = [
        "1. Queues",
        "created demo-orders (standard; dead letters go to demo-orders-dlq after 3 receives)",
        "2. Publishing",
        "published 10 orders concurrently: 10 accepted",
        "publishing alice-payment-1 again returned duplicate=True",
        "3. Consuming",
        "each group in order: alice 1, 2, 3; bob 1, 2",
        "parallel consumer (concurrency 5) handled orders 1-10",
        "4. Failures",
        "order 11 failed (ConnectionError: the payment service timed out) and was retried",
        "then handled on attempt 2",
        "order 12 raised ValidationError: never retried, moved to demo-orders-dlq at once",
        "completed: moved 1 message(s) back to demo-orders; order 12 handled by the fixed handler",
        "5. Circuit breaker",
        "the breaker is OPEN",
        "refused at once with CircuitOpenError (0 requests sent)",
        "(success=True) and it closes: CLOSED → OPEN → HALF_OPEN → CLOSED",
        "order 201, published after the recovery, waits in demo-orders for a consumer",
        "6. Health and metrics",
        "health: healthy",
        "demo-orders: 1 visible, 0 in flight, 0 delayed",
        "demo-orders-dlq: 0 visible, 0 in flight, 0 delayed",
    ]
    position = 0
    for text in expected:
        found = out.find(text, position)
        assert found >= 0, f"{text!r} missing (or out of order) in:\n{out}"
        position = found
    assert re.search(r"up to [2-5] at once", out)
    assert not list(tmp_path.iterdir()), "the in-memory demo leaves no files behind"


def test_demo_on_a_file_backend_given_by_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    done = subprocess.run(
        [str(ESQS), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(ESQS_BACKEND=url),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"Backend: {url}"
    assert (tmp_path / "demo.db").exists()


def test_unknown_backend_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ESQS), "--backend", "redis://x", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "backend must be a URL with scheme" in done.stderr and "'redis://x'" in done.stderr
    assert "Traceback" not in done.stderr
