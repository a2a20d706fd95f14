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


_WITHOUT_CRYPTOGRAPHY = """
import importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Missing())
import enterprise_sqs
assert "EnvelopeEncryption" in enterprise_sqs.__all__
try:
    enterprise_sqs.EnvelopeEncryption
except ImportError as exc:
    print("ImportError:", exc)
"""


def test_a_base_install_imports_and_names_the_extra_an_optional_feature_needs() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_CRYPTOGRAPHY], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'enterprise-sqs[crypto]'" in done.stdout


def test_optional_names_resolve_when_their_extra_is_installed() -> None:
    from enterprise_sqs.codecs.encryption import EnvelopeEncryption

    assert enterprise_sqs.EnvelopeEncryption is EnvelopeEncryption
