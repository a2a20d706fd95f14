"""The SIGKILL test's publisher: ``python -m tests.scaling.spool_worker MODE URL PATH N``.

``publish``: publish N messages (the server is down, so they are spooled), print ``SPOOLED N``,
then keep running (forwarding keeps failing) until killed. ``drain``: forward what the spool
holds, print ``DRAINED``, exit.
"""

from __future__ import annotations

import asyncio
import sys

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import CircuitBreakerConfig, EnterpriseSQSConfig, RetryConfig
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.publishing.spool import Spool, SpoolingPublisher
from enterprise_sqs.resilience import set_testing

QUEUE = "killed.fifo"


async def main(mode: str, url: str, spool_path: str, count: int) -> None:
    set_testing(True)
    sqs = EnterpriseSQS(
        EnterpriseSQSConfig(
            backend=url,
            region="us-east-1",
            credentials=Credentials(access_key_id="testing", secret_access_key="testing"),
            circuit_breaker=CircuitBreakerConfig(failure_threshold=2, timeout=0.2),
            retry=RetryConfig(max_retries=1),
        )
    )
    spooler = SpoolingPublisher(
        sqs.create_publisher(QUEUE, message_group_id="g"),
        Spool(spool_path),
        retry_interval=0.05,
        max_retry_interval=0.2,
    )
    if mode == "publish":
        first = await spooler.publish({"n": 0})
        assert first.spooled, first
        chunk = 500
        for start in range(1, count, chunk):
            results = await asyncio.gather(
                *(spooler.publish({"n": n}) for n in range(start, min(start + chunk, count)))
            )
            assert all(r.spooled for r in results)
        print(f"SPOOLED {spooler.pending}", flush=True)
        await asyncio.Event().wait()  # until SIGKILL
    else:
        await asyncio.wait_for(spooler.drain(), 60)
        print(f"DRAINED {spooler.stats().forwarded}", flush=True)
        await spooler.aclose()
        await sqs.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
