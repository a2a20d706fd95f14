"""``esqs demo``: the tour a newcomer takes first, on the embedded engine, in a few seconds.

1. queues: a standard queue with a dead-letter queue, and a FIFO queue;
2. publishing with the Publisher: auto-batching, FIFO groups, a duplicate recognised;
3. consuming: a sequential consumer keeps each FIFO group in order, a parallel one handles
   several orders at once;
4. failures: a flaky order fails once and is retried with backoff, a poison order is
   dead-lettered, then redriven with a message move task and handled by the fixed handler;
5. the circuit breaker: a FaultyBackend makes SQS fail, the breaker opens and refuses calls
   without sending them, then recovers with one probe once the fault is gone;
6. health and metrics.

Every wait is on an event with a short deadline, never a fixed sleep, so the demo takes a few
seconds and tells the same story every time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from enterprise_sqs.backends.url import open_backend
from enterprise_sqs.cli.runtime import console, settings
from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.config import CircuitBreakerConfig, RetryConfig
from enterprise_sqs.consuming.context import MessageContext
from enterprise_sqs.consuming.events import ConsumerEvent
from enterprise_sqs.errors import ServiceUnavailable, ValidationError
from enterprise_sqs.queues import queue_name as _name
from enterprise_sqs.resilience.breaker import CircuitTransition
from enterprise_sqs.resilience.faults import FaultyBackend

__all__ = ["DEMO_BACKEND", "demo", "run_demo"]

DEMO_BACKEND = "memory://"
_WAIT = 15.0  # seconds any step may take before the demo gives up on it


class _Tour:
    def __init__(self, out: Console) -> None:
        self.out = out
        self.step = 0

    def section(self, title: str) -> None:
        self.step += 1
        self.out.print(f"\n[bold cyan]{self.step}. {title}[/]")

    def say(self, text: str) -> None:
        self.out.print(f"   {text}")


async def _until(condition: Callable[[], bool], what: str, changed: asyncio.Event) -> None:
    """Wait until ``condition()`` holds, waking each time ``changed`` is set."""
    deadline = time.monotonic() + _WAIT
    while not condition():
        changed.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            raise click.ClickException(f"the demo waited {_WAIT:g} s for {what}")
        try:
            await asyncio.wait_for(changed.wait(), left)
        except TimeoutError:
            continue


async def run_demo(backend_url: str, out: Console | None = None) -> None:
    out = out or console()
    tour = _Tour(out)
    faulty = FaultyBackend(open_backend(backend_url))
    sqs = EnterpriseSQS(
        settings()
        .config(default_backend=DEMO_BACKEND)
        .replace(
            backend=backend_url,
            circuit_breaker=CircuitBreakerConfig(failure_threshold=3, timeout=1.0),
            retry=RetryConfig(max_retries=1, initial_delay=0.02, max_backoff=0.05),
        ),
        backend=faulty,
    )
    try:
        await _tour(tour, sqs, faulty, backend_url)
    finally:
        await sqs.aclose()


async def _tour(tour: _Tour, sqs: EnterpriseSQS, faulty: FaultyBackend, backend_url: str) -> None:
    client = sqs.get_sqs_client()
    suffix = "" if backend_url.startswith("memory:") else f"-{int(time.time())}"

    # -- 1. queues --------------------------------------------------------------------------------
    tour.section("Queues")
    dlq = await client.create_queue(f"demo-orders-dlq{suffix}")
    dlq_arn = (await client.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    orders = await client.create_queue(
        f"demo-orders{suffix}",
        {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
    )
    orders_arn = (await client.get_queue_attributes(orders, ["QueueArn"]))["QueueArn"]
    payments = await client.create_queue(f"demo-payments{suffix}.fifo", {"FifoQueue": "true"})
    tour.say(
        f"created {_name(orders)} (standard; dead letters go to {_name(dlq)} after 3 receives)"
    )
    tour.say(f"created {_name(payments)} (FIFO: order kept within each message group)")

    # -- 2. publishing ----------------------------------------------------------------------------
    tour.section("Publishing")
    publisher = sqs.create_publisher(orders, attributes={"tenant": "acme"})
    calls_before = faulty.calls["send_batch"]
    results = await publisher.publish_many([{"order": i, "kind": "normal"} for i in range(1, 11)])
    batches = faulty.calls["send_batch"] - calls_before
    accepted = sum(r.success for r in results)
    tour.say(
        f"published {len(results)} orders concurrently: {accepted} accepted, "
        f"sent in {batches} SendMessageBatch call(s) by the auto-batcher"
    )
    fifo_publisher = sqs.create_publisher(payments, enable_deduplication=True)
    sent = [("alice", 1), ("bob", 1), ("alice", 2), ("alice", 3), ("bob", 2)]
    for who, n in sent:
        (await fifo_publisher.publish(f"{who}-payment-{n}", group_id=who)).raise_for_error()
    repeat = await fifo_publisher.publish("alice-payment-1", group_id="alice")
    tour.say(
        f"published {len(sent)} payments in groups alice and bob; publishing alice-payment-1 "
        f"again returned duplicate={repeat.duplicate} (nothing sent twice)"
    )

    # -- 3. consuming -----------------------------------------------------------------------------
    tour.section("Consuming")
    changed = asyncio.Event()
    handled_payments: list[str] = []

    async def pay(body: str, context: MessageContext) -> None:
        handled_payments.append(body)
        changed.set()

    sequential = sqs.create_consumer(
        payments, processing_mode="sequential", wait_time_seconds=1, message_type=str
    )
    await sequential.start(pay)
    await _until(lambda: len(handled_payments) == len(sent), "the payments", changed)
    await sequential.stop(abort_receive=True)
    by_group = {
        who: [b.rsplit("-", 1)[1] for b in handled_payments if b.startswith(who)]
        for who in ("alice", "bob")
    }
    tour.say(
        "sequential consumer on the FIFO queue, one at a time, each group in order: "
        + "; ".join(f"{who} {', '.join(ns)}" for who, ns in by_group.items())
    )

    handled_orders: list[int] = []
    state = {"active": 0, "most": 0, "fixed": False}
    events: list[ConsumerEvent] = []

    async def handle(order: dict[str, Any], context: MessageContext) -> None:
        state["active"] += 1
        state["most"] = max(state["most"], state["active"])
        try:
            await asyncio.sleep(0.05)  # pretend to call a payment service
            if order["kind"] == "flaky" and context.receive_count == 1:
                raise ConnectionError("the payment service timed out")
            if order["kind"] == "poison" and not state["fixed"]:
                raise ValidationError("order 12 has no customer")
            handled_orders.append(order["order"])
        finally:
            state["active"] -= 1
            changed.set()

    def observe(event: ConsumerEvent) -> None:
        events.append(event)
        changed.set()

    parallel = sqs.create_consumer(
        orders,
        processing_mode="parallel",
        concurrency=5,
        wait_time_seconds=1,
        retry_base_delay=1.0,
        retry_max_delay=2.0,
    )
    parallel.subscribe(observe, kinds={"retried", "dead_lettered"})
    await parallel.start(handle)
    await _until(lambda: len(handled_orders) == 10, "the orders", changed)
    tour.say(
        f"parallel consumer (concurrency 5) handled orders {_ranges(sorted(handled_orders))}, "
        f"up to {state['most']} at once"
    )

    # -- 4. failures: retry with backoff, dead letters, redrive ---------------------------------
    tour.section("Failures: retry with backoff, dead-letter queue, redrive")
    await publisher.publish_many([{"order": 11, "kind": "flaky"}, {"order": 12, "kind": "poison"}])
    await _until(
        lambda: 11 in handled_orders and any(e.kind == "dead_lettered" for e in events),
        "the flaky and the poison order",
        changed,
    )
    retried = next(e for e in events if e.kind == "retried")
    tour.say(
        "order 11 failed (ConnectionError: the payment service timed out) and was retried with "
        f"backoff (full jitter, at most 1 s on a first retry: {retried.delay} s this time), "
        "then handled on attempt 2"
    )
    tour.say(f"order 12 raised ValidationError: never retried, moved to {_name(dlq)} at once")
    depth = await _depth(sqs, dlq)
    tour.say(f"{_name(dlq)} now holds {depth} message(s); the bug is fixed, so redrive it:")
    state["fixed"] = True
    task = await client.start_message_move_task(dlq_arn, destination_arn=orders_arn)
    moved = 0
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        (status,) = await client.list_message_move_tasks(dlq_arn, max_results=1)
        moved = status.approximate_number_of_messages_moved
        if status.status != "RUNNING":
            break
        await asyncio.sleep(0.05)
    await _until(lambda: 12 in handled_orders, "the redriven order", changed)
    tour.say(
        f"message move task {task[:8]}… {status.status.lower()}: moved {moved} message(s) back "
        "to demo-orders; order 12 handled by the fixed handler"
    )
    await parallel.stop(abort_receive=True)

    # -- 5. the circuit breaker -------------------------------------------------------------------
    tour.section("Circuit breaker")
    transitions: list[CircuitTransition] = []
    client.breaker().add_listener(transitions.append)
    rule = faulty.fail(ServiceUnavailable("injected outage"), operations={"send_batch"})
    outage = sqs.create_publisher(orders, linger=0)
    failures = 0
    while client.get_circuit_breaker_status().state == "CLOSED" and failures < 10:
        result = await outage.publish({"order": 100 + failures, "kind": "normal"})
        failures += not result.success
    tour.say(
        f"FaultyBackend makes every send fail (ServiceUnavailable): after {failures} failed "
        f"publish(es) the breaker is {client.get_circuit_breaker_status().state}"
    )
    sends_before = faulty.calls["send_batch"]
    refused = await outage.publish({"order": 200, "kind": "normal"})
    tour.say(
        f"the next publish is refused at once with {type(refused.error).__name__} "
        f"({faulty.calls['send_batch'] - sends_before} requests sent): an outage costs nothing"
    )
    faulty.clear()
    del rule
    status_now = client.get_circuit_breaker_status()
    await asyncio.sleep(status_now.retry_after or 0)
    recovered = await outage.publish({"order": 201, "kind": "normal"})
    states = " → ".join([str(transitions[0].from_state), *(str(t.to_state) for t in transitions)])
    tour.say(
        "fault cleared; after the breaker's 1 s timeout one probe passes"
        f" (success={recovered.success}) and it closes: {states}"
    )
    tour.say("order 201, published after the recovery, waits in demo-orders for a consumer")

    # -- 6. health and metrics --------------------------------------------------------------------
    tour.section("Health and metrics")
    from enterprise_sqs.cli.stats import collect_stats

    health = await sqs.get_health_status()
    checks = ", ".join(f"{name} {r.status}" for name, r in sorted(health.details.items()))
    tour.say(
        f"health: {health.status} ({checks}; breaker {client.get_circuit_breaker_status().state})"
    )
    metrics = sqs.get_metrics()
    system = metrics.system
    tour.say(
        f"metrics: {system.total_messages} messages, success rate {system.success_rate:.1f} %, "
        f"average handler time {system.average_processing_time * 1000:.1f} ms"
    )
    table = Table(title="Per queue (sqs.get_metrics())", title_justify="left")
    columns = ("queue", "sent", "received", "processed", "retried", "dead-lettered", "failed")
    for column in columns:
        table.add_column(column, justify="left" if column == "queue" else "right")
    for queue_name, q in sorted(metrics.queues.items()):
        table.add_row(
            queue_name,
            *(
                str(v)
                for v in (q.sent, q.received, q.processed, q.retried, q.dead_lettered, q.failed)
            ),
        )
    tour.out.print(table)
    c = client.stats.snapshot()
    tour.say(
        f"client: {c.calls} calls, {c.retries} retries, {c.rejections} refused by the breaker, "
        f"breaker opened {c.opened} time(s) and closed {c.closed} time(s)"
    )
    for row in await collect_stats(sqs, ()):
        tour.say(
            f"{row.queue}: {row.visible} visible, {row.in_flight} in flight, {row.delayed} delayed"
        )
    tour.out.print(
        "\nNext: esqs --help, esqs queues list, esqs send QUEUE BODY, esqs loadtest -n 10000"
    )


def _ranges(numbers: list[int]) -> str:
    if numbers and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers))


async def _depth(sqs: EnterpriseSQS, url: str) -> int:
    values = await sqs.get_sqs_client().get_queue_attributes(
        url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return int(values["ApproximateNumberOfMessages"]) + int(
        values["ApproximateNumberOfMessagesNotVisible"]
    )


@click.command()
def demo() -> None:
    """A few seconds' tour on the embedded engine: queues, publishing, sequential and parallel
    consumers, retry with backoff, dead letters and redrive, the circuit breaker, health and
    metrics. Runs in memory unless --backend names another place."""
    options = settings()
    config = options.config(default_backend=DEMO_BACKEND)
    where = config.backend.split("?", 1)[0]
    note = " (the embedded engine, in memory: nothing is kept)" if where == DEMO_BACKEND else ""
    click.echo(f"Backend: {where}{note}")
    asyncio.run(run_demo(config.backend))
