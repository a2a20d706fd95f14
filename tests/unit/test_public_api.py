"""The public surface is exactly ``__all__``, sorted, and every name in it exists."""

from __future__ import annotations

import enterprise_sqs


def test_all_is_sorted_and_complete() -> None:
    names = enterprise_sqs.__all__

    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert list(names) == sorted(names, key=kind)
    for name in names:
        assert hasattr(enterprise_sqs, name), name
