"""The blocking facade: the same API for synchronous code (a Django view, a script, a thread pool).

An event loop runs in one daemon thread owned by :class:`BlockingEnterpriseSQS`; every call is
handed to it with :func:`asyncio.run_coroutine_threadsafe` and waited for. Many threads may
publish at once: their messages meet in the loop and share batches.

::

    with BlockingEnterpriseSQS(backend="sqlite:///queues.db") as sqs:
        publisher = sqs.create_publisher("orders")
        result = publisher.publish({"order": 1})
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import EnterpriseSQSConfig
from enterprise_sqs.errors import ClientClosedError
from enterprise_sqs.publishing.publisher import Publisher, PublishResult
from enterprise_sqs.resilience.breaker import CircuitBreakerStatus

__all__ = ["BlockingEnterpriseSQS", "BlockingPublisher"]

T = TypeVar("T")


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="enterprise-sqs-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a blocking call cannot be made from the facade's own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


class BlockingPublisher:
    """A :class:`Publisher` for synchronous code. Thread-safe."""

    def __init__(self, publisher: Publisher, loop: _LoopThread) -> None:
        self._publisher = publisher
        self._loop = loop

    def publish(self, obj: Any, **options: Any) -> PublishResult:
        """Publish one message; blocks until SQS answers. Same options as ``Publisher.publish``."""
        return self._loop.call(self._publisher.publish(obj, **options))

    def publish_many(self, objs: Iterable[Any], **options: Any) -> list[PublishResult]:
        return self._loop.call(self._publisher.publish_many(list(objs), **options))

    def flush(self) -> None:
        self._loop.call(self._publisher.flush())

    def close(self) -> None:
        self._loop.call(self._publisher.aclose())


class BlockingEnterpriseSQS:
    """:class:`EnterpriseSQS` without ``await``. Close it (or use ``with``) to stop its thread."""

    def __init__(self, config: EnterpriseSQSConfig | None = None, **options: Any) -> None:
        self._loop = _LoopThread()
        try:
            self._sqs = self._loop.call(_construct(config, options))
        except BaseException:
            self._loop.stop()
            raise
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Blocking{self._sqs!r}"

    @property
    def async_client(self) -> EnterpriseSQS:
        """The asynchronous client underneath (use it only from its own loop)."""
        return self._sqs

    def create_publisher(self, queue: str, **options: Any) -> BlockingPublisher:
        if self._closed:
            raise ClientClosedError("this BlockingEnterpriseSQS is closed")
        publisher = self._loop.call(_in_loop(self._sqs.create_publisher, queue, **options))
        return BlockingPublisher(publisher, self._loop)

    def get_circuit_breaker_status(self) -> CircuitBreakerStatus:
        return self._sqs.get_sqs_client().get_circuit_breaker_status()

    def close(self) -> None:
        """Flush publishers, close the backend and stop the loop thread. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._loop.call(self._sqs.aclose())
        finally:
            self._loop.stop()

    def __enter__(self) -> BlockingEnterpriseSQS:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _construct(config: EnterpriseSQSConfig | None, options: dict[str, Any]) -> EnterpriseSQS:
    return EnterpriseSQS(config, **options)


async def _in_loop(function: Any, *args: Any, **kwargs: Any) -> Any:
    # Publishers create asyncio primitives; building them inside the loop binds them to it.
    return function(*args, **kwargs)
