"""Fixtures for the server's tests: one real ``esqs serve`` subprocess (SigV4 required) per
session, and SDK clients configured for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config

from tests.support.esqs_server import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    RunningServer,
    esqs_server,
)

QUERY_MODEL_DIR = Path(__file__).parent / "data" / "sqs-query"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with esqs_server(tmp_path_factory.mktemp("esqs-server-tests"), auth=True) as running:
        yield running


def sdk_client(url: str, protocol: str = "json", **kwargs: Any) -> Any:
    """A botocore SQS client; ``protocol="query"`` loads the last query-protocol model."""
    session = botocore.session.get_session()
    if protocol == "query":
        session.get_component("data_loader").search_paths.insert(0, str(QUERY_MODEL_DIR))
    return boto3.Session(botocore_session=session).client(
        "sqs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=kwargs.pop("access_key_id", ACCESS_KEY_ID),
        aws_secret_access_key=kwargs.pop("secret_access_key", SECRET_ACCESS_KEY),
        config=Config(retries={"total_max_attempts": 1}),
        **kwargs,
    )
