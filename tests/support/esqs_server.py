"""``esqs serve`` in a real subprocess, on a free loopback port, for tests that need the server.

The server picks its own port (``--port 0``) and says where it listens on its first line of
output, so there is no race for a port between choosing it and binding it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY_ID = "AKIDESQSSERVETEST"
SECRET_ACCESS_KEY = "esqs-serve-test-secret"
_LISTENING = re.compile(r"listening on (http://\S+?),")


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]
    data_dir: Path | None
    output: list[str]
    reader: threading.Thread

    def __repr__(self) -> str:
        return f"RunningServer({self.url!r}, pid={self.process.pid})"

    @property
    def pid(self) -> int:
        return self.process.pid


def start_server(
    data_dir: Path | None,
    *,
    auth: bool = False,
    extra_args: tuple[str, ...] = (),
    log_level: str = "warning",
    timeout: float = 30.0,
) -> RunningServer:
    """Start ``esqs serve`` and return once it listens. The caller stops it."""
    args = [
        sys.executable,
        "-m",
        "enterprise_sqs.server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--log-level",
        log_level,
        *extra_args,
    ]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESQS_SERVE_")}
    if auth:
        env["ESQS_SERVE_ACCESS_KEY_ID"] = ACCESS_KEY_ID
        env["ESQS_SERVE_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not url:
                url.append(match.group(1))
                found.set()
        found.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if not found.wait(timeout) or not url:
        proc.kill()
        proc.wait()
        reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
        raise RuntimeError("esqs serve did not start:\n" + "\n".join(output[-30:]))
    return RunningServer(url[0], proc, data_dir, output, reader)


def stop_server(server: RunningServer, *, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Signal the server and wait for it to exit; returns its exit code."""
    if server.process.poll() is None:
        server.process.send_signal(sig)
    try:
        code = server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        code = server.process.wait()
    server.reader.join(5)
    if server.process.stdout is not None:
        server.process.stdout.close()
    return code


@contextlib.contextmanager
def esqs_server(
    data_dir: Path | None, *, auth: bool = False, **kwargs: object
) -> Iterator[RunningServer]:
    server = start_server(data_dir, auth=auth, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_server(server)
