"""``esqs serve``: the embedded engine over the SQS wire protocol.

:mod:`.app` routes and renders, :mod:`.shapes` types parameters by botocore's service model,
:mod:`.query` speaks the form/XML protocol, :mod:`.operations` maps operations to the backend,
:mod:`.sigv4` verifies signatures, :mod:`.run` starts and stops the server. The server parses and
renders only: every SQS rule lives in the engine.
"""

from __future__ import annotations

from enterprise_sqs.server.app import create_app
from enterprise_sqs.server.config import ServerConfig
from enterprise_sqs.server.run import serve

__all__ = ["ServerConfig", "create_app", "serve"]
