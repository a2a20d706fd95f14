"""Every benchmark still runs and still compares: each script, at a tiny size, in a subprocess.

The numbers are not checked (these machines are noisy, and a few hundred messages measure
nothing); what is checked is that the scripts docs/performance.md quotes keep working, print
their comparison, and pass their own correctness checks (the observability benchmark asserts
that the metrics counted every message, for instance).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "engine_throughput": (
        ["benchmarks/engine_throughput.py", "--messages", "300", "--moto-messages", "20"],
        [r"ratios \(engine", r"send\s+throughput x[\d.]+"],
    ),
    "publisher_client_cost": (
        ["benchmarks/publisher_client_cost.py", "--messages", "300", "--loop-messages", "30"],
        [r"boto3 send_message loop .* 1\.0x", r"enterprise-sqs publisher .* [\d.]+x"],
    ),
    "consumer_throughput": (
        ["benchmarks/consumer_throughput.py", "--messages", "300"],
        [r"pipeline\s+300 msgs .* msg/s", r"drain\s+300 msgs"],
    ),
    "server_throughput": (
        ["-m", "benchmarks.server_throughput", "--messages", "200", "--moto-messages", "80"],
        [r"send msgs/s .* [\d.]+x", r"receive\+delete msgs/s"],
    ),
    "encryption_cost": (
        ["benchmarks/encryption_cost.py", "--messages", "100", "--repeats", "1"],
        [r"aes-gcm", r"gzip\+aes-gcm\+hmac"],
    ),
    "observability_overhead": (
        ["benchmarks/observability_overhead.py", "--messages", "300", "--rounds", "1"],
        [
            r"memory://\s+300 messages",
            r"esqs serve \(memory\) over HTTP\s+150 messages",
            r"(?m)^off\s.*ratio 1\.000",
            r"(?m)^metrics\+trace 10%\s.*ratio [\d.]+\s+cost",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_runs_and_compares(name: str) -> None:
    args, expected = CASES[name]
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in expected:
        assert re.search(pattern, done.stdout), f"{pattern!r} not in:\n{done.stdout}"
