"""Lazily opened aiobotocore clients for the codecs' AWS services (KMS, S3).

One small owner of "open a client once, on first use, with these credentials; close it later",
so that the key provider and the payload store do not each repeat it. Credentials follow the
same rules as the SQS backend: explicit :class:`~enterprise_sqs.credentials.Credentials`, else a
profile, else the default AWS chain; explicit secrets are registered with the log redaction
filter for as long as the client is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from enterprise_sqs.backends.aws_redact import client_keys
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import ClientClosedError, ConfigurationError

__all__ = ["LazyAWSClient"]


class LazyAWSClient:
    """An aiobotocore client for ``service``, opened at the first :meth:`get`."""

    def __init__(
        self,
        service: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        credentials: Credentials | None = None,
        profile: str | None = None,
    ) -> None:
        if credentials is not None and not isinstance(credentials, Credentials):
            raise ConfigurationError(
                f"credentials must be an enterprise_sqs.Credentials or None, "
                f"got {type(credentials).__name__}"
            )
        if credentials is not None and profile is not None:
            raise ConfigurationError("give either credentials or profile, not both")
        for label, value in (("region", region), ("endpoint_url", endpoint_url)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(f"{label} must be a non-empty string or None")
        self.service = service
        self._region = region
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._profile = profile
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        where = self._endpoint_url or self._region or "default-region"
        source = "explicit" if self._credentials is not None else "default chain"
        return f"<{self.service} client {where} credentials={source}>"

    async def get(self) -> Any:
        if self._closed:
            raise ClientClosedError(f"the {self.service} client is closed")
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                await self._open()
        return self._client

    async def _open(self) -> None:
        session = AioSession(profile=self._profile)
        region = (
            self._region
            or os.environ.get("AWS_REGION")
            or session.get_config_variable("region")
            or "us-east-1"
        )
        stack = contextlib.AsyncExitStack()
        keys = client_keys(self._credentials, stack)
        config = AioConfig(region_name=region, retries={"mode": "standard", "max_attempts": 3})
        try:
            self._client = await stack.enter_async_context(
                session.create_client(
                    self.service,
                    region_name=region,
                    endpoint_url=self._endpoint_url,
                    config=config,
                    **keys,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def aclose(self) -> None:
        self._closed = True
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()
