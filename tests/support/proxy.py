"""A real TCP proxy on loopback, to break the network between a client and a server on command.

Modes (:meth:`TcpProxy.set_mode`):

- ``forward``: pass bytes both ways (the default);
- ``refuse``: stop listening, so connecting fails with ECONNREFUSED;
- ``reset``: accept, then abort with a TCP RST before a byte is answered;
- ``stall``: accept and read, never answer, hold the connection until the mode changes.

Leaving ``forward`` also cuts every open connection (with RST), so a client's pooled keep-alive
connections cannot carry on past the outage. Counters (``accepted``, ``forwarded``, ``reset``,
``stalled``) let tests see how many connections a client really made; :meth:`wait_stalled` waits
for a connection to be held.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType
from typing import Literal

Mode = Literal["forward", "refuse", "reset", "stall"]
_MODES = ("forward", "refuse", "reset", "stall")


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: what a crashed peer or a dropped route looks like."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    """``async with TcpProxy(host, port) as proxy:`` then point the client at ``proxy.url``."""

    def __init__(self, target_host: str, target_port: int, *, mode: Mode = "forward") -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        self.target = (target_host, target_port)
        self.mode: Mode = mode
        self.port = 0
        self.accepted = 0
        self.forwarded = 0
        self.reset = 0
        self.stalled = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stall_seen = asyncio.Event()
        self._mode_changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> TcpProxy:
        await self._listen()
        if self.mode == "refuse":
            await self._stop_listening()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._stop_listening()
        self._cut_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def set_mode(self, mode: Mode) -> None:
        """Switch mode; leaving ``forward`` cuts every open connection."""
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        previous, self.mode = self.mode, mode
        if mode != "forward" or previous != "forward":
            self._cut_all()
        if mode == "refuse" and previous != "refuse":
            await self._stop_listening()
        elif mode != "refuse" and previous == "refuse":
            await self._listen()
        self._mode_changed.set()
        self._mode_changed = asyncio.Event()
        self._stall_seen = asyncio.Event()

    async def wait_stalled(self) -> None:
        """Wait until a connection is being held by ``stall`` mode."""
        await self._stall_seen.wait()

    # -- internals --------------------------------------------------------------------------------

    async def _listen(self) -> None:
        # Re-listen on the same port after ``refuse`` so the client's endpoint stays valid.
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _cut_all(self) -> None:
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.mode == "reset" or self.mode == "refuse":
                self.reset += 1
                _abort(writer)
            elif self.mode == "stall":
                await self._stall(reader, writer)
            else:
                await self._forward(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _stall(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stalled += 1
        self._writers.add(writer)
        self._stall_seen.set()
        changed = self._mode_changed
        drain = asyncio.ensure_future(self._discard(reader))
        try:
            await changed.wait()
        finally:
            drain.cancel()
            self._writers.discard(writer)
            _abort(writer)

    @staticmethod
    async def _discard(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while await reader.read(65536):
                pass

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(writer)
            return
        self.forwarded += 1
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # Half-close so HTTP peers see a clean end of stream; then let the other pipe finish.
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()
