"""The blocking facade: the same publisher from plain threads, no event loop in sight."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from enterprise_sqs import open_backend
from enterprise_sqs.errors import ClientClosedError, QueueDoesNotExist
from enterprise_sqs.sync import BlockingEnterpriseSQS


def test_many_threads_publish_through_one_blocking_client(tmp_path: Path) -> None:
    db = tmp_path / "sync.db"
    results = []
    lock = threading.Lock()
    with BlockingEnterpriseSQS(backend=f"sqlite:///{db}") as sqs:
        publisher = sqs.create_publisher("jobs", create_queue=True)

        def work(thread: int) -> None:
            for i in range(50):
                result = publisher.publish({"thread": thread, "i": i})
                with lock:
                    results.append(result)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sqs.get_circuit_breaker_status().state.value == "CLOSED"

    assert len(results) == 400
    assert all(r.success for r in results)
    assert len({r.message_id for r in results}) == 400

    import asyncio

    async def count() -> list[str]:
        backend = open_backend(f"sqlite:///{db}")
        url = await backend.get_queue_url("jobs")
        bodies: list[str] = []
        while batch := await backend.receive(url, max_messages=10):
            bodies.extend(m.body for m in batch)
        await backend.aclose()
        return bodies

    bodies = asyncio.run(count())
    assert sorted((b["thread"], b["i"]) for b in map(json.loads, bodies)) == sorted(
        (t, i) for t in range(8) for i in range(50)
    )


def test_blocking_results_carry_typed_errors_and_closed_clients_refuse() -> None:
    sqs = BlockingEnterpriseSQS(backend="memory://")
    result = sqs.create_publisher("missing").publish({"x": 1})
    assert isinstance(result.error, QueueDoesNotExist)
    sqs.close()
    sqs.close()
    with pytest.raises(ClientClosedError):
        sqs.create_publisher("missing")
