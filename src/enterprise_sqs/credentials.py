"""AWS credentials given explicitly, kept out of logs, ``repr`` and tracebacks.

Leave credentials unset to use the default AWS credential chain (environment variables, shared
profile, container or instance role) — the right choice in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from enterprise_sqs.errors import ConfigurationError

__all__ = ["Credentials"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """Static or temporary (with ``session_token``) AWS credentials.

    ``repr`` shows only the last four characters of the access key id and never the secret or
    the token.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.access_key_id.strip():
            raise ConfigurationError("Credentials.access_key_id must be a non-empty string")
        if not self.secret_access_key:
            raise ConfigurationError(
                "Credentials.secret_access_key must be a non-empty string "
                "(leave credentials unset to use the default AWS credential chain)"
            )
        if self.session_token is not None and not self.session_token:
            raise ConfigurationError("Credentials.session_token must be None or a non-empty string")

    def __repr__(self) -> str:
        token = ", session_token=<set>" if self.session_token else ""
        return (
            f"Credentials(access_key_id='…{self.access_key_id[-4:]}', "
            f"secret_access_key=<hidden>{token})"
        )
