"""Assumed-role credentials for the AWS backend: STS ``AssumeRole``, refreshed before expiry.

The temporary credentials are aiobotocore refreshable credentials: every request (botocore's and
our hand-built hot path alike) asks them for a frozen copy, and they call STS again once less
than botocore's advisory window (15 minutes) is left, so a long-running consumer never signs with
expired keys. STS is called with a session of its own holding the base credentials (explicit,
profile or default chain), so the role's credentials never feed back into their own refresh.
Each new access key id and session token is registered with the log redaction filter.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from typing import Any

from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider

from enterprise_sqs.backends.aws_redact import forget_secrets, remember_secrets
from enterprise_sqs.credentials import AssumeRole

__all__ = ["RoleCredentials"]

logger = logging.getLogger(__name__)


class _Provider(CredentialProvider):  # type: ignore[misc]  # botocore ships no type hints
    METHOD = "enterprise-sqs-assume-role"
    CANONICAL_NAME = "EnterpriseSQSAssumeRole"

    def __init__(self, credentials: AioRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioRefreshableCredentials:
        return self._credentials


class RoleCredentials:
    """Temporary credentials of ``role``, fetched with ``base_keys`` (or ``profile``, or the
    default chain). :meth:`install` makes a session sign with them."""

    def __init__(
        self,
        role: AssumeRole,
        *,
        region: str,
        base_keys: dict[str, str],
        profile: str | None,
    ) -> None:
        self._role = role
        self._region = region
        self._base_keys = base_keys
        self._profile = profile
        self._sessions_remembered: collections.deque[tuple[str, str]] = collections.deque()
        self.fetches = 0
        self.credentials: AioRefreshableCredentials | None = None

    def __repr__(self) -> str:
        return f"RoleCredentials({self._role!r}, fetches={self.fetches})"

    async def _fetch(self) -> dict[str, str]:
        role = self._role
        args: dict[str, Any] = {
            "RoleArn": role.role_arn,
            "RoleSessionName": role.role_session_name,
            "DurationSeconds": role.duration_seconds,
        }
        if role.external_id is not None:
            args["ExternalId"] = role.external_id
        session = AioSession(profile=self._profile)
        async with session.create_client(
            "sts", region_name=self._region, endpoint_url=role.sts_endpoint_url, **self._base_keys
        ) as sts:
            reply = await sts.assume_role(**args)
        issued = reply["Credentials"]
        pair = (issued["AccessKeyId"], issued["SessionToken"])
        remember_secrets(*pair)
        self._sessions_remembered.append(pair)
        while len(self._sessions_remembered) > 2:  # the current and the previous set
            forget_secrets(*self._sessions_remembered.popleft())
        self.fetches += 1
        logger.info(
            "assumed role %s (credentials valid until %s)",
            role.role_arn,
            issued["Expiration"].isoformat(),
        )
        return {
            "access_key": issued["AccessKeyId"],
            "secret_key": issued["SecretAccessKey"],
            "token": issued["SessionToken"],
            "expiry_time": issued["Expiration"].isoformat(),
        }

    async def install(self, session: AioSession) -> AioRefreshableCredentials:
        """Assume the role now and make ``session`` sign with its (refreshing) credentials."""
        metadata = await self._fetch()
        credentials = AioRefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=self._fetch, method=_Provider.METHOD
        )
        resolver = session.get_component("credential_provider")
        resolver.providers.insert(0, _Provider(credentials))
        self.credentials = credentials
        return credentials

    def close(self) -> None:
        while self._sessions_remembered:
            with contextlib.suppress(Exception):
                forget_secrets(*self._sessions_remembered.popleft())
