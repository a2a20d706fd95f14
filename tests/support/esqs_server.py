"""``esqs serve`` in a real subprocess for tests, on top of :mod:`enterprise_sqs.testing` (the
same helper users get), with this suite's test credentials."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

from enterprise_sqs.testing import EsqsServer, start_esqs_server

ACCESS_KEY_ID = "AKIDESQSSERVETEST"
SECRET_ACCESS_KEY = "esqs-serve-test-secret"

RunningServer = EsqsServer


def start_server(
    data_dir: Path | None,
    *,
    auth: bool = False,
    extra_args: tuple[str, ...] = (),
    log_level: str = "warning",
    timeout: float = 30.0,
) -> EsqsServer:
    """Start ``esqs serve`` and return once it listens (``auth``: with the test keys). The
    caller stops it."""
    return start_esqs_server(
        data_dir,
        access_key_id=ACCESS_KEY_ID if auth else None,
        secret_access_key=SECRET_ACCESS_KEY if auth else None,
        log_level=log_level,
        extra_args=extra_args,
        timeout=timeout,
    )


def stop_server(server: EsqsServer, *, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Signal the server and wait for it to exit; returns its exit code."""
    return server.stop(sig=sig, timeout=timeout)


@contextlib.contextmanager
def esqs_server(
    data_dir: Path | None, *, auth: bool = False, **kwargs: object
) -> Iterator[EsqsServer]:
    server = start_server(data_dir, auth=auth, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_server(server)
