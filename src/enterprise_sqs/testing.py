"""Helpers for testing code that uses Enterprise SQS: waiting on a consumer without sleeping, and
``esqs serve`` in a subprocess for integration tests. pytest fixtures built on them are in
:mod:`enterprise_sqs.pytest_plugin`.

Wait for outcomes instead of sleeping (the seed's integration test sleeps a second and hopes)::

    consumer = sqs.create_consumer("orders")
    recorder = ConsumerRecorder(consumer)
    await consumer.start(handle_order)
    await publisher.publish({"order": 1})
    await recorder.wait_for(processed=1)          # returns as soon as it happened
    assert recorder.count("dead_lettered") == 0

Run the SQS wire protocol for clients in other processes or languages (boto3, the AWS CLI,
Node's SDK)::

    with start_esqs_server() as server:
        boto3.client("sqs", endpoint_url=server.url, region_name="us-east-1", ...)
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from enterprise_sqs.consuming.events import EVENT_KINDS, ConsumerEvent
from enterprise_sqs.errors import ConfigurationError

__all__ = ["ConsumerRecorder", "EsqsServer", "start_esqs_server"]


class _Subscribable(Protocol):
    def subscribe(self, observer: Callable[[ConsumerEvent], object]) -> Callable[[], None]: ...


class ConsumerRecorder:
    """Records a consumer's events (a :class:`~enterprise_sqs.consuming.Consumer` or a
    ``MultiQueueConsumer``) so a test can wait for outcomes and look at them.

    Raises:
        ConfigurationError: ``consumer`` has no ``subscribe`` method.
    """

    def __init__(self, consumer: _Subscribable) -> None:
        if not callable(getattr(consumer, "subscribe", None)):
            raise ConfigurationError(f"consumer must have a subscribe() method, got {consumer!r}")
        self.events: list[ConsumerEvent] = []
        self._counts: Counter[str] = Counter()
        self._changed: asyncio.Event | None = None
        self._unsubscribe = consumer.subscribe(self._observe)

    def _observe(self, event: ConsumerEvent) -> None:
        self.events.append(event)
        self._counts[event.kind] += 1
        if self._changed is not None:
            self._changed.set()

    def count(self, kind: str) -> int:
        """How many events of this kind so far: messages for a message's outcome
        (``processed``, ``retried``, ...), polls for ``empty_poll`` and ``poll_failed``."""
        _check_kinds([kind])
        return self._counts[kind]

    def of(self, kind: str) -> list[ConsumerEvent]:
        """The events of one kind, in order."""
        _check_kinds([kind])
        return [event for event in self.events if event.kind == kind]

    async def wait_for(
        self,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109  # a test's bound; asyncio.timeout inside
        **at_least: int,
    ) -> None:
        """Return once every count reached its value (``processed=3, dead_lettered=1``).

        Raises:
            ConfigurationError: an unknown kind, a negative count or a bad ``timeout``.
            TimeoutError: ``timeout`` seconds passed first; the message says what was seen.
        """
        _check_kinds(at_least)
        for kind, wanted in at_least.items():
            if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 0:
                raise ConfigurationError(f"{kind} must be a count ≥ 0, got {wanted!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout must be seconds > 0, got {timeout!r}")

        def reached() -> bool:
            return all(self._counts[kind] >= n for kind, n in at_least.items())

        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            async with asyncio.timeout(timeout):
                while not reached():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            goal = ", ".join(f"{k}={n}" for k, n in at_least.items())
            seen = ", ".join(f"{k}={n}" for k, n in sorted(self._counts.items())) or "nothing"
            raise TimeoutError(
                f"waited {timeout} s for {goal}; the consumer reported {seen}"
            ) from None

    def close(self) -> None:
        """Stop recording."""
        self._unsubscribe()


def _check_kinds(kinds: Sequence[str] | dict[str, int]) -> None:
    unknown = sorted(set(kinds) - EVENT_KINDS)
    if unknown:
        raise ConfigurationError(
            f"unknown consumer event kinds {unknown}; choose from {sorted(EVENT_KINDS)}"
        )


_LISTENING = re.compile(r"listening on (http://\S+?),")


@dataclass
class EsqsServer:
    """A running ``esqs serve`` subprocess. ``url`` is its endpoint; ``output`` its log lines so
    far. Use it as a context manager, or call :meth:`stop`."""

    url: str
    process: subprocess.Popen[str]
    data_dir: Path | None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    output: list[str] = field(default_factory=list, repr=False)
    _reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the server (a graceful SIGTERM by default) and wait for it; returns its exit
        code. Safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def __enter__(self) -> EsqsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_esqs_server(
    data_dir: str | Path | None = None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    log_level: str = "warning",
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> EsqsServer:
    """Start ``esqs serve`` on a free loopback port and return once it listens.

    Args:
        data_dir: keep queues in SQLite files there (default: in memory).
        access_key_id, secret_access_key: require SigV4 requests signed with these (both or
            neither; default: any credentials are accepted).
        log_level: the server's log level.
        extra_args: more ``esqs serve`` options.
        timeout: seconds to wait for it to listen.

    Raises:
        ConfigurationError: only one of the keys was given.
        RuntimeError: the server did not start (its last output lines are in the message).
    """
    if (access_key_id is None) != (secret_access_key is None):
        raise ConfigurationError("give both access_key_id and secret_access_key, or neither")
    args = [sys.executable, "-m", "enterprise_sqs.server", "--host", "127.0.0.1", "--port", "0"]
    args += ["--log-level", log_level, *extra_args]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESQS_SERVE_")}
    if access_key_id is not None and secret_access_key is not None:
        env["ESQS_SERVE_ACCESS_KEY_ID"] = access_key_id
        env["ESQS_SERVE_SECRET_ACCESS_KEY"] = secret_access_key
    process = subprocess.Popen(  # noqa: S603  # our own server module, run by this interpreter
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    output: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def pump() -> None:
        # The server says where it listens on its first line (it picked the port itself, so
        # there is no race for one); its output is kept for the test's failure messages.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not url:
                url.append(match.group(1))
                found.set()
        found.set()

    reader = threading.Thread(target=pump, name="esqs-serve-output", daemon=True)
    reader.start()
    if not found.wait(timeout) or not url:
        process.kill()
        process.wait()
        reader.join(5)
        if process.stdout is not None:
            process.stdout.close()
        raise RuntimeError("esqs serve did not start:\n" + "\n".join(output[-30:]))
    return EsqsServer(
        url=url[0],
        process=process,
        data_dir=Path(data_dir) if data_dir is not None else None,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        output=output,
        _reader=reader,
    )
