from __future__ import annotations

import pytest

from enterprise_sqs import open_backend
from enterprise_sqs.errors import InvalidBackendURL


@pytest.mark.parametrize(
    "url",
    ["", "redis://localhost", "sqlite://host/x.db", "sqlite:///", "http://", "nonsense"],
)
def test_bad_urls_are_refused_with_what_to_write_instead(url: str) -> None:
    with pytest.raises(InvalidBackendURL) as info:
        open_backend(url)
    assert url in str(info.value) or url == ""


async def test_memory_and_sqlite_urls_open_the_embedded_engine(tmp_path: object) -> None:
    memory = open_backend("memory://")
    assert memory.name == "memory://"
    await memory.aclose()
    path = f"{tmp_path}/q.db"
    on_file = open_backend(f"sqlite:///{path}")
    assert path in on_file.name
    await on_file.aclose()
