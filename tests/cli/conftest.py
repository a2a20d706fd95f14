"""CLI tests drive ``esqs`` through its real entry point (click's runner on ``cli``, or the
installed ``esqs`` script in a subprocess), on the embedded engine and on a moto server."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from enterprise_sqs.cli import cli
from tests.support.moto import moto_server, reset_moto

ESQS = Path(sys.executable).with_name("esqs")
_counter = itertools.count()


@pytest.fixture(scope="session")
def cli_moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any ESQS_* or AWS_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESQS_", "AWS_"))}
    env.update(extra)
    return env


@dataclass
class Esqs:
    """Runs ``esqs`` commands against one backend."""

    global_args: list[str]
    env: dict[str, str]
    kind: str
    cwd: Path

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        runner = CliRunner(env=self.env)
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            return runner.invoke(
                cli, [*self.global_args, *args], input=input, catch_exceptions=False
            )
        finally:
            os.chdir(old)

    def json(self, *args: str, input: str | None = None) -> Any:
        result = self("--json", *args, input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result


@pytest.fixture(params=["engine", "moto"])
def esqs(request: pytest.FixtureRequest, tmp_path: Path) -> Esqs:
    if request.param == "engine":
        return Esqs(
            ["--backend", f"sqlite:///{tmp_path / 'queues.db'}"], clean_env(), "engine", tmp_path
        )
    url: str = request.getfixturevalue("cli_moto_url")
    reset_moto(url)
    env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return Esqs(["--backend", url, "--region", "us-east-1"], env, "moto", tmp_path)


@pytest.fixture
def moto(cli_moto_url: str, tmp_path: Path) -> Esqs:
    reset_moto(cli_moto_url)
    env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return Esqs(["--backend", cli_moto_url, "--region", "us-east-1"], env, "moto", tmp_path)


@pytest.fixture
def engine(tmp_path: Path) -> Esqs:
    return Esqs(
        ["--backend", f"sqlite:///{tmp_path / 'queues.db'}"], clean_env(), "engine", tmp_path
    )


@pytest.fixture
def name() -> str:
    return f"cli{os.getpid() % 10000}x{next(_counter)}"
