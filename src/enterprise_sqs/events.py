"""Observers of what publishers and consumers do: a small synchronous event bus.

Events are frozen dataclasses with a ``kind``. Observers run synchronously in the emitter's event
loop; an observer that raises is logged and otherwise ignored — it can never change a message's
fate. ``wants(kind)`` lets emitters skip building events nobody listens to, so observation costs
nothing when unused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Generic, Protocol, TypeVar

from enterprise_sqs.errors import ConfigurationError

__all__ = ["Event", "EventBus"]

logger = logging.getLogger(__name__)


class Event(Protocol):
    @property
    def kind(self) -> str: ...


E = TypeVar("E", bound=Event)


class EventBus(Generic[E]):
    """Observers by event kind. ``subscribe`` returns a function that unsubscribes."""

    def __init__(self, kinds: Collection[str], *, source: str) -> None:
        self._kinds = frozenset(kinds)
        self._source = source
        self._observers: dict[str, list[Callable[[E], object]]] = {}

    @property
    def kinds(self) -> frozenset[str]:
        return self._kinds

    def subscribe(
        self, observer: Callable[[E], object], kinds: Collection[str] | None = None
    ) -> Callable[[], None]:
        """Call ``observer(event)`` for every event of ``kinds`` (default: all).

        Raises:
            ConfigurationError: ``observer`` is not callable or a kind is unknown.
        """
        if not callable(observer):
            raise ConfigurationError(f"an observer must be callable, got {observer!r}")
        chosen = self._kinds if kinds is None else frozenset(kinds)
        unknown = chosen - self._kinds
        if unknown:
            raise ConfigurationError(
                f"unknown {self._source} event kinds {sorted(unknown)}; "
                f"choose from {sorted(self._kinds)}"
            )
        for kind in chosen:
            self._observers.setdefault(kind, []).append(observer)

        def unsubscribe() -> None:
            for kind in chosen:
                listeners = self._observers.get(kind, [])
                if observer in listeners:
                    listeners.remove(observer)

        return unsubscribe

    def wants(self, kind: str) -> bool:
        return bool(self._observers.get(kind))

    def emit(self, event: E) -> None:
        for observer in tuple(self._observers.get(event.kind, ())):
            try:
                observer(event)
            except Exception:
                logger.exception(
                    "an event observer failed",
                    extra={"source": self._source, "event": event.kind, "observer": repr(observer)},
                )
