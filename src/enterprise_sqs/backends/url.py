"""Open a backend from a URL, the one switch between the embedded engine and Amazon SQS.

==============================  ==========================================================
``memory://``                   the embedded engine, in memory (tests; gone when closed)
``sqlite:///path/to/file.db``   the embedded engine on a durable SQLite file (relative:
                                ``sqlite:///data.db``; absolute: ``sqlite:////var/lib/q.db``)
``aws://`` / ``aws://REGION``   Amazon SQS with the default credential chain
``http(s)://host:port``         any SQS-compatible endpoint (moto server, ElasticMQ,
                                LocalStack, ``esqs serve``) through the AWS backend
==============================  ==========================================================
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from enterprise_sqs.backends.base import Backend
from enterprise_sqs.errors import InvalidBackendURL

__all__ = ["DEFAULT_BACKEND_URL", "open_backend"]

logger = logging.getLogger(__name__)

DEFAULT_BACKEND_URL = "memory://"


def open_backend(url: str, **options: Any) -> Backend:
    """Open the backend a URL names. ``options`` go to the backend's constructor (for the engine:
    ``clock``, ``region``, ``account_id``, ``base_url``; for AWS: ``region``, ``credentials``,
    ``profile``, ``endpoint_url``).

    Raises:
        InvalidBackendURL: an unknown scheme or a malformed location.
    """
    if not isinstance(url, str) or not url:
        raise InvalidBackendURL(f"backend URL must be a non-empty string, got {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        from enterprise_sqs.engine.backend import EngineBackend

        backend: Backend = EngineBackend(None, **options)
    elif scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/") or path == "/":
            raise InvalidBackendURL(
                f"invalid SQLite backend URL {url!r}: write sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        from enterprise_sqs.engine.backend import EngineBackend

        backend = EngineBackend(path[1:], **options)
    elif scheme == "aws":
        from enterprise_sqs.backends.aws import AWSBackend

        if parts.netloc:
            options.setdefault("region", parts.netloc)
        backend = AWSBackend(**options)
    elif scheme in ("http", "https"):
        if not parts.hostname:
            raise InvalidBackendURL(f"invalid endpoint URL {url!r}: it has no host")
        from enterprise_sqs.backends.aws import AWSBackend

        options.setdefault("endpoint_url", f"{scheme}://{parts.netloc}")
        backend = AWSBackend(**options)
    else:
        raise InvalidBackendURL(
            f"unknown backend URL scheme {parts.scheme!r} in {url!r}: use memory://, "
            "sqlite:///path.db, aws://REGION or an http(s):// SQS endpoint"
        )
    logger.info("opened backend %s", backend.name, extra={"backend": backend.name})
    return backend
