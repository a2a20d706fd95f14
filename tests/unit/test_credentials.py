from __future__ import annotations

import pytest

from enterprise_sqs import ConfigurationError, Credentials

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"


def test_repr_and_str_never_show_the_secret_or_the_token() -> None:
    creds = Credentials(
        access_key_id="AKIAEXAMPLE1234", secret_access_key=SECRET, session_token=TOKEN
    )
    for text in (repr(creds), str(creds), f"{creds!r}", repr([creds])):
        assert SECRET not in text
        assert TOKEN not in text
        assert "AKIAEXAMPLE1234" not in text
        assert "1234" in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"access_key_id": "", "secret_access_key": "x"}, "access_key_id"),
        ({"access_key_id": "AKIA", "secret_access_key": ""}, "secret_access_key"),
        ({"access_key_id": "AKIA", "secret_access_key": "x", "session_token": ""}, "session_token"),
    ],
)
def test_empty_values_are_refused_naming_the_field(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        Credentials(**kwargs)  # type: ignore[arg-type]  # the point is bad input
