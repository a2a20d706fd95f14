from __future__ import annotations

import pytest

from enterprise_sqs.clock import Clock, ManualClock, SystemClock


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=100.0)
    assert clock.time() == 100.0
    assert clock.monotonic() == 0.0
    clock.advance(2.5)
    assert clock.time() == 102.5
    assert clock.monotonic() == 2.5


def test_manual_clock_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)


def test_listeners_hear_every_advance_until_removed() -> None:
    clock = ManualClock()
    heard: list[float] = []
    remove = clock.on_advance(lambda: heard.append(clock.time()))
    clock.advance(1)
    remove()
    clock.advance(1)
    assert heard == [clock.time() - 1]


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(ManualClock(), Clock)
    assert SystemClock().monotonic() <= SystemClock().monotonic()
