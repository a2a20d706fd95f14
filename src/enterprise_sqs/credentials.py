"""AWS credentials given explicitly, kept out of logs, ``repr`` and tracebacks.

Leave credentials unset to use the default AWS credential chain (environment variables, shared
profile, container or instance role) — the right choice in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from enterprise_sqs.errors import ConfigurationError

__all__ = ["AssumeRole", "Credentials"]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class AssumeRole:
    """Act as an IAM role: STS ``AssumeRole`` with the base credentials (explicit, profile or the
    default chain), refreshed before the temporary credentials expire.

    Args:
        role_arn: the role to assume (``arn:aws:iam::123456789012:role/orders-consumer``).
        role_session_name: names the session in CloudTrail.
        external_id: the external id the role's trust policy requires, if any (hidden in repr).
        duration_seconds: lifetime of each set of temporary credentials (900 to 43200).
        sts_endpoint_url: an STS endpoint other than the region's (moto, a VPC endpoint).
    """

    role_arn: str
    role_session_name: str = "enterprise-sqs"
    external_id: str | None = field(default=None, repr=False)
    duration_seconds: int = 3600
    sts_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.role_arn, str) or not self.role_arn.startswith("arn:"):
            raise ConfigurationError(
                f"assume_role.role_arn must be an IAM role ARN (arn:aws:iam::...:role/...), "
                f"got {self.role_arn!r}"
            )
        name = self.role_session_name
        if (
            not isinstance(name, str)
            or not 2 <= len(name) <= 64
            or not all(c.isalnum() or c in "=,.@_-" for c in name)
        ):
            raise ConfigurationError(
                "assume_role.role_session_name must be 2-64 characters of letters, digits and "
                f"=,.@_- ; got {name!r}"
            )
        if self.external_id is not None and (
            not isinstance(self.external_id, str) or not 2 <= len(self.external_id) <= 1224
        ):
            raise ConfigurationError("assume_role.external_id must be 2-1224 characters")
        seconds = self.duration_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 900 <= seconds <= 43200:
            raise ConfigurationError(
                f"assume_role.duration_seconds must be an int from 900 to 43200, got {seconds!r}"
            )
        if self.sts_endpoint_url is not None and (
            not isinstance(self.sts_endpoint_url, str)
            or not self.sts_endpoint_url.startswith(("http://", "https://"))
        ):
            raise ConfigurationError("assume_role.sts_endpoint_url must be an http(s):// URL")

    def __repr__(self) -> str:
        external = ", external_id=<set>" if self.external_id else ""
        return (
            f"AssumeRole(role_arn={self.role_arn!r}, "
            f"role_session_name={self.role_session_name!r}{external})"
        )
