"""``esqs demo``, the README's first command, run as a user runs it: a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ESQS = Path(sys.executable).with_name("esqs")


def test_demo_runs_on_the_embedded_engine_and_tells_what_happened(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESQS_", "AWS_"))}
    done = subprocess.run(
        [str(ESQS), "demo"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.splitlines()[0] == "Backend: memory://"
    assert "Sent a batch of 10 orders (0 failed)" in out
    assert "Received and deleted 10 orders: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in out
    assert (
        "FIFO receive order (strict within each group): alice-payment-1, alice-payment-2, "
        "alice-payment-3, bob-payment-1, bob-payment-2"
    ) in out
    assert "SQS moved it to the DLQ (1 there" in out
    assert "completed: moved 1 message(s) back" in out
    assert "Queue now: 0 visible, 0 in flight." in out


def test_demo_on_a_file_backend_given_by_environment(tmp_path: Path) -> None:
    env = {**os.environ, "ESQS_BACKEND": f"sqlite:///{tmp_path / 'demo.db'}"}
    done = subprocess.run([str(ESQS), "demo"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Backend: sqlite:///{tmp_path / 'demo.db'}")
    assert (tmp_path / "demo.db").exists()


def test_unknown_backend_is_refused_with_a_clear_message() -> None:
    done = subprocess.run(
        [str(ESQS), "--backend", "redis://x", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "unknown backend URL scheme 'redis'" in done.stderr
    assert "Traceback" not in done.stderr
