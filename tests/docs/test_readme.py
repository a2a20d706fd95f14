"""The README's example runs as written (in a fresh directory, as a user would paste it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8").split(section, 1)[1].split("\n## ", 1)[0]
    return [part.split("```", 1)[0] for part in text.split("```python")[1:]]


def test_the_five_line_example_publishes_and_consumes(tmp_path: Path) -> None:
    (code,) = _python_blocks("## In five lines")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("True ")
    assert second == "processing {'type': 'order-created', 'order': 1}"
    assert (tmp_path / "queues.db").exists()
