"""The configuration of ``esqs serve``: where it listens, where data lives, who may call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from enterprise_sqs.errors import ConfigurationError

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "ServerConfig"]

# A 1 MiB batch grows up to 3x on the wire (JSON \\u escapes of non-ASCII text, %XX in forms).
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Keyword-only, validated; ``repr`` never shows secrets.

    ``data_dir=None`` keeps queues in memory. ``base_url`` is the URL clients reach the server at
    (queue URLs start with it); by default ``http://HOST:PORT``. ``access_keys`` maps access key
    ids to secret keys; empty means development mode (any signature accepted).
    """

    host: str = "127.0.0.1"
    port: int = 9324
    data_dir: Path | None = None
    region: str = "us-east-1"
    account_id: str = "000000000000"
    base_url: str | None = None
    access_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    shutdown_timeout: float = 30.0

    def __post_init__(self) -> None:
        if (
            not isinstance(self.port, int)
            or isinstance(self.port, bool)
            or not 0 <= self.port <= 65535
        ):
            raise ConfigurationError(f"port must be an integer 0-65535, got {self.port!r}")
        if not _ACCOUNT.match(self.account_id):
            raise ConfigurationError(f"account id must be 12 digits, got {self.account_id!r}")
        if not _REGION.match(self.region):
            raise ConfigurationError(f"region must look like us-east-1, got {self.region!r}")
        if self.base_url is not None and not re.match(r"^https?://[^/?#]+/?$", self.base_url):
            raise ConfigurationError(
                f"base URL must be http(s)://host[:port] without a path, got {self.base_url!r}"
            )
        if self.max_request_bytes < 64 * 1024:
            raise ConfigurationError("max_request_bytes must be at least 65536")
        if self.shutdown_timeout < 0:
            raise ConfigurationError("shutdown_timeout must not be negative")
        for key, secret in self.access_keys.items():
            if not key or not secret:
                raise ConfigurationError("access key ids and secret keys must be non-empty")

    @property
    def auth_enabled(self) -> bool:
        return bool(self.access_keys)

    def url_for(self, port: int) -> str:
        """The base URL for a server bound to ``port``."""
        if self.base_url is not None:
            return self.base_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 - compared, not bound
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def database(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "queues.db"
