"""The testing helpers say clearly what is wrong with what they are given."""

from __future__ import annotations

import subprocess
import sys

import pytest

from enterprise_sqs.client import EnterpriseSQS
from enterprise_sqs.errors import ConfigurationError
from enterprise_sqs.testing import ConsumerRecorder, start_esqs_server


async def test_recorder_validates_what_it_waits_for() -> None:
    async with EnterpriseSQS(backend="memory://") as sqs:
        recorder = ConsumerRecorder(sqs.create_consumer("q"))
        with pytest.raises(ConfigurationError, match=r"kinds \['procesed'\]"):
            await recorder.wait_for(procesed=1)
        with pytest.raises(ConfigurationError, match="processed must be a count"):
            await recorder.wait_for(processed=-1)
        with pytest.raises(ConfigurationError, match="timeout must be seconds > 0"):
            await recorder.wait_for(processed=1, timeout=0)
        with pytest.raises(ConfigurationError, match="unknown consumer event kinds"):
            recorder.count("done")
        await recorder.wait_for(processed=0)  # already true: returns at once
        recorder.close()


def test_recorder_needs_something_to_subscribe_to() -> None:
    with pytest.raises(ConfigurationError, match="must have a subscribe"):
        ConsumerRecorder(object())  # type: ignore[arg-type]  # the error under test


def test_server_keys_come_in_pairs() -> None:
    with pytest.raises(ConfigurationError, match="both access_key_id and secret_access_key"):
        start_esqs_server(access_key_id="only-one")


def test_a_server_that_cannot_start_says_why() -> None:
    with pytest.raises(RuntimeError, match="esqs serve did not start") as failure:
        start_esqs_server(extra_args=("--no-such-option",), timeout=30)
    assert "no-such-option" in str(failure.value)


def test_the_plugin_names_its_extra_when_pytest_asyncio_is_missing() -> None:
    blocked = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pytest_asyncio':\n"
        "            raise ImportError('not installed')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import enterprise_sqs.pytest_plugin\n"
    )
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert done.returncode != 0
    assert "pip install 'enterprise-sqs[testing]'" in done.stderr
