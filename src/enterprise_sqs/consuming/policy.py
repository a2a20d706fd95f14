"""Access control on consumers: ``policy(message, context) -> bool``, sync or async.

::

    async def has_access(message, context):
        return await directory.can_read(message["userId"], context.group_id)

    consumer = sqs.create_consumer("orders.fifo", policy=has_access, on_denied="dead_letter")

The policy runs after the body is decoded (it sees what the handler would) and before anything
else: it is the outermost middleware, and batch handlers only get the messages it allowed. Only
``True`` allows; anything else denies. A denied message is never handled and never silently
dropped: it goes to the dead-letter queue (``on_denied="dead_letter"``, the default; deleted with
a warning if the queue has none) or is deleted (``on_denied="delete"``), and it is always counted
(``stats.denied``), announced (event ``denied``) and logged. A policy that raises is a handler
failure like any other: the message is retried.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from enterprise_sqs.errors import MessageAccessDenied

if TYPE_CHECKING:
    from enterprise_sqs.consuming.context import MessageContext

__all__ = ["OnDenied", "Policy", "check_policy", "policy_middleware"]

Policy = Callable[[Any, "MessageContext"], "bool | Awaitable[bool]"]
OnDenied = Literal["dead_letter", "delete"]


async def check_policy(policy: Policy, message: Any, context: MessageContext) -> None:
    """Raise :class:`MessageAccessDenied` unless ``policy(message, context)`` is ``True``."""
    allowed: Any = policy(message, context)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    if allowed is not True:
        raise MessageAccessDenied(
            f"the consumer's policy denied message {context.message_id} "
            f"(queue {context.queue.name}, group {context.group_id})"
        )


def policy_middleware(
    policy: Policy,
) -> Callable[[MessageContext, Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    """The policy as the consumer's first middleware."""

    async def enforce_policy(
        context: MessageContext, call_next: Callable[[], Awaitable[Any]]
    ) -> Any:
        await check_policy(policy, context.message, context)
        return await call_next()

    return enforce_policy
