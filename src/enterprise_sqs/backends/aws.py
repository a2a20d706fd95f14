"""The AWS backend: Amazon SQS, or any SQS-compatible endpoint, through aiobotocore.

This module owns the client's lifecycle (created lazily on the first call, closed by
:meth:`AWSBackend.aclose`) and the call boundary where botocore's exceptions become ours. The
mapping between our models and SQS's JSON shapes lives in
:mod:`enterprise_sqs.backends.aws_translate`.

The four hot operations (SendMessageBatch, ReceiveMessage, DeleteMessageBatch,
ChangeMessageVisibilityBatch) skip aiobotocore's per-request machinery and go through
:mod:`enterprise_sqs.backends.aws_wire`, which reuses this client's credentials, region and
endpoint; their errors pass through the same :func:`translate_error`. Everything else (queue
administration, single-message calls) is an aiobotocore call.

botocore's own retries are switched off (one attempt per call): the resilience layer above the
backend retries with its own budget and circuit breaker, and two retry layers would multiply.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import ssl
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioCredentials
from aiobotocore.session import AioSession
from botocore.httpsession import get_cert_path

from enterprise_sqs.backends.aws_redact import client_keys
from enterprise_sqs.backends.aws_translate import (
    failure_from_wire,
    move_task_from_wire,
    received_from_wire,
    send_entry_to_wire,
    send_success_from_wire,
    translate_error,
)
from enterprise_sqs.backends.aws_wire import WireSQS
from enterprise_sqs.credentials import AssumeRole, Credentials
from enterprise_sqs.errors import (
    ChecksumMismatch,
    ClientClosedError,
    ConfigurationError,
    InvalidParameterValue,
    error_for_code,
)
from enterprise_sqs.models import (
    BatchFailure,
    BatchResult,
    ChangeVisibilityEntry,
    DeleteEntry,
    MoveTask,
    QueuePage,
    ReceivedMessage,
    SendEntry,
    SendSuccess,
)

__all__ = ["AWSBackend"]

logger = logging.getLogger(__name__)

# The longest long poll SQS allows; a read timeout at or below it turns idle polls into errors.
_MAX_WAIT_TIME_SECONDS = 20
# aiohttp warns (ResourceWarning) that a raw bytes body over 1 MiB may block the event loop, and
# a full 1 MiB batch plus its JSON framing is over that: hand such bodies over as a stream.
_STREAM_BODIES_OVER = 1024 * 1024


def _stream_large_body(request: Any, **_: Any) -> None:
    body = request.body
    if isinstance(body, bytes | bytearray) and len(body) > _STREAM_BODIES_OVER:
        request.body = io.BytesIO(body)


def _positive_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _public_endpoint(endpoint_url: str) -> str:
    """The endpoint as it may appear in logs: scheme, host and port; never user:password@."""
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "endpoint_url must be an http:// or https:// URL with a host, "
            f"got one with scheme {parts.scheme!r}"
        )
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


class AWSBackend:
    """Amazon SQS (or an SQS-compatible ``endpoint_url``) as a
    :class:`~enterprise_sqs.backends.base.Backend`.

    Credentials come from ``credentials`` (static keys, optionally with a session token), else
    ``profile``, else the default AWS chain (environment, shared profile, container or instance
    role). The region comes from ``region``, else ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the
    profile. Nothing is read or connected until the first call.

    Args:
        read_timeout: seconds to wait for an answer; keep it above 20, the longest long poll.
        connect_timeout: seconds to wait for a connection.
        max_pool_connections: connections kept open to the endpoint.

    Raises:
        ConfigurationError: invalid arguments (at construction); no region or no usable
            credentials (at the first call).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        credentials: Credentials | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_pool_connections: int = 50,
        assume_role: AssumeRole | None = None,
    ) -> None:
        if assume_role is not None and not isinstance(assume_role, AssumeRole):
            raise ConfigurationError(
                f"assume_role must be an enterprise_sqs.AssumeRole or None, got {assume_role!r}"
            )
        if region is not None and (not isinstance(region, str) or not region.strip()):
            raise ConfigurationError(f"region must be a non-empty string or None, got {region!r}")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise ConfigurationError(
                "credentials must be an enterprise_sqs.Credentials or None, "
                f"got {type(credentials).__name__}"
            )
        if profile is not None and (not isinstance(profile, str) or not profile.strip()):
            raise ConfigurationError(f"profile must be a non-empty string or None, got {profile!r}")
        if credentials is not None and profile is not None:
            raise ConfigurationError("give either credentials or profile, not both")
        if endpoint_url is not None and not isinstance(endpoint_url, str):
            raise ConfigurationError("endpoint_url must be a string or None")
        if (
            isinstance(max_pool_connections, bool)
            or not isinstance(max_pool_connections, int)
            or max_pool_connections < 1
        ):
            raise ConfigurationError(
                f"max_pool_connections must be a positive integer, got {max_pool_connections!r}"
            )
        self._region = region
        self._credentials = credentials
        self._profile = profile
        self._assume_role = assume_role
        self._role: Any = None  # RoleCredentials once opened with assume_role
        self._endpoint_url = endpoint_url
        self._public_endpoint = _public_endpoint(endpoint_url) if endpoint_url else None
        self._connect_timeout = _positive_number("connect_timeout", connect_timeout)
        self._read_timeout = _positive_number("read_timeout", read_timeout)
        self._max_pool_connections = max_pool_connections
        if self._read_timeout <= _MAX_WAIT_TIME_SECONDS:
            logger.warning(
                "read_timeout of %s s is not above the 20 s long poll: long polls may time out",
                self._read_timeout,
            )
        self._client: Any = None
        self._wire: WireSQS | None = None
        self._resolved_region: str | None = region
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    # -- identity -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``aws:REGION`` or ``endpoint:URL``: no credentials, no profile secrets."""
        if self._public_endpoint is not None:
            return f"endpoint:{self._public_endpoint}"
        return f"aws:{self._resolved_region or 'default-region'}"

    def __repr__(self) -> str:
        if self._credentials is not None:
            source = "explicit"
        elif self._profile is not None:
            source = f"profile {self._profile!r}"
        else:
            source = "default chain"
        if self._assume_role is not None:
            source += f" as {self._assume_role.role_arn}"
        state = "closed" if self._closed else ("open" if self._client is not None else "unopened")
        return f"<AWSBackend {self.name} credentials={source} {state}>"

    # -- lifecycle ------------------------------------------------------------------------------

    async def _get_client(self) -> Any:
        if self._closed:
            raise ClientClosedError(f"{self.name} backend is closed")
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._closed:
                raise ClientClosedError(f"{self.name} backend is closed")
            if self._client is None:
                try:
                    await self._open()
                except Exception as exc:
                    translated = translate_error(exc)
                    if translated is None:
                        raise
                    raise translated from exc
        return self._client

    async def _open(self) -> None:
        session = AioSession(profile=self._profile)
        region = (
            self._region or os.environ.get("AWS_REGION") or session.get_config_variable("region")
        )
        if not region:
            raise ConfigurationError(
                "no AWS region is configured: pass region=... (or aws://REGION), set AWS_REGION "
                "or AWS_DEFAULT_REGION, or set a region in your AWS profile"
            )
        config = AioConfig(
            region_name=region,
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            max_pool_connections=self._max_pool_connections,
        )
        stack = contextlib.AsyncExitStack()
        # (tokens from the default chain or a role are redacted too)
        keys = client_keys(self._credentials, stack)
        if self._assume_role is not None:
            from enterprise_sqs.backends.aws_role import RoleCredentials

            role = RoleCredentials(
                self._assume_role, region=region, base_keys=keys, profile=self._profile
            )
            stack.callback(role.close)
            try:
                await role.install(session)  # the session now signs as the role
            except BaseException:
                await stack.aclose()
                raise
            self._role = role
            keys = {}
        try:
            client = await stack.enter_async_context(
                session.create_client(
                    "sqs",
                    region_name=region,
                    endpoint_url=self._endpoint_url,
                    config=config,
                    **keys,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        client.meta.events.register("before-send.sqs", _stream_large_body)
        try:
            wire = await self._open_wire(session, client, region)
        except BaseException:
            await stack.aclose()
            raise
        stack.push_async_callback(wire.aclose)
        self._wire = wire
        self._exit_stack = stack
        self._resolved_region = region
        self._client = client
        logger.debug("created SQS client for %s", self.name, extra={"backend": self.name})

    async def _open_wire(self, session: AioSession, client: Any, region: str) -> WireSQS:
        """The hand-written path for the hot operations, resolved from the open client."""
        if self._credentials is not None and self._role is None:
            credentials: Any = AioCredentials(
                self._credentials.access_key_id,
                self._credentials.secret_access_key,
                self._credentials.session_token,
            )
        else:
            # The session caches what its provider chain resolved: the very object the client
            # signs with (refreshable for roles), or None (then every call says so).
            credentials = await session.get_credentials()
        ssl_context: ssl.SSLContext | None = None
        endpoint: str = client.meta.endpoint_url
        if endpoint.startswith("https:"):
            # The CA bundle botocore verifies against (AWS_CA_BUNDLE / ca_bundle, else its
            # default); loading it reads a file, so do that off the event loop.
            cafile = get_cert_path(session.get_config_variable("ca_bundle") or True)
            ssl_context = await asyncio.to_thread(ssl.create_default_context, cafile=cafile)
        return WireSQS(
            endpoint_url=endpoint,
            region=client.meta.region_name or region,
            signing_name=client.meta.service_model.signing_name,
            credentials=credentials,
            service_model=client.meta.service_model,
            user_agent=f"{client.meta.config.user_agent} lib/enterprise-sqs",
            ssl_context=ssl_context,
            proxies=client.meta.config.proxies,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            max_pool_connections=self._max_pool_connections,
        )

    async def aclose(self) -> None:
        """Close the client and its connections. Safe to call twice."""
        self._closed = True
        async with self._lock:
            stack, self._exit_stack, self._client = self._exit_stack, None, None
            self._wire = None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> AWSBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        client = await self._get_client()
        try:
            response: dict[str, Any] = await getattr(client, operation)(**params)
        except Exception as exc:
            translated = translate_error(exc)
            if translated is None:
                raise
            raise translated from exc
        return response

    async def _hot(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """A hot operation through the hand-written path; errors translated as in :meth:`_call`."""
        if self._wire is None:
            await self._get_client()
        wire = self._wire
        if wire is None:  # closed while opening
            raise ClientClosedError(f"{self.name} backend is closed")
        try:
            return await wire.call(operation, params)
        except Exception as exc:
            translated = translate_error(exc)
            if translated is None:
                raise
            raise translated from exc

    # -- queues ---------------------------------------------------------------------------------

    async def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        params: dict[str, Any] = {"QueueName": name}
        if attributes:
            params["Attributes"] = dict(attributes)
        if tags:
            params["tags"] = dict(tags)
        response = await self._call("create_queue", **params)
        return str(response["QueueUrl"])

    async def get_queue_url(self, name: str, *, owner_account_id: str | None = None) -> str:
        params: dict[str, Any] = {"QueueName": name}
        if owner_account_id is not None:
            params["QueueOwnerAWSAccountId"] = owner_account_id
        response = await self._call("get_queue_url", **params)
        return str(response["QueueUrl"])

    async def delete_queue(self, queue_url: str) -> None:
        await self._call("delete_queue", QueueUrl=queue_url)

    async def list_queues(
        self,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        params: dict[str, Any] = {}
        if prefix is not None:
            params["QueueNamePrefix"] = prefix
        if max_results is not None:
            params["MaxResults"] = max_results
        if next_token is not None:
            params["NextToken"] = next_token
        response = await self._call("list_queues", **params)
        return QueuePage(
            queue_urls=[str(u) for u in response.get("QueueUrls", [])],
            next_token=response.get("NextToken"),
        )

    async def get_queue_attributes(
        self, queue_url: str, names: Sequence[str] = ("All",)
    ) -> dict[str, str]:
        response = await self._call(
            "get_queue_attributes", QueueUrl=queue_url, AttributeNames=list(names)
        )
        return {str(k): str(v) for k, v in response.get("Attributes", {}).items()}

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self._call("set_queue_attributes", QueueUrl=queue_url, Attributes=dict(attributes))

    async def purge_queue(self, queue_url: str) -> None:
        await self._call("purge_queue", QueueUrl=queue_url)

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        await self._call("tag_queue", QueueUrl=queue_url, Tags=dict(tags))

    async def untag_queue(self, queue_url: str, tag_keys: Sequence[str]) -> None:
        await self._call("untag_queue", QueueUrl=queue_url, TagKeys=list(tag_keys))

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        response = await self._call("list_queue_tags", QueueUrl=queue_url)
        return {str(k): str(v) for k, v in response.get("Tags", {}).items()}

    async def list_dead_letter_source_queues(
        self,
        queue_url: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> QueuePage:
        params: dict[str, Any] = {"QueueUrl": queue_url}
        if max_results is not None:
            params["MaxResults"] = max_results
        if next_token is not None:
            params["NextToken"] = next_token
        response = await self._call("list_dead_letter_source_queues", **params)
        return QueuePage(
            queue_urls=[str(u) for u in response.get("queueUrls", [])],
            next_token=response.get("NextToken"),
        )

    # -- messages -------------------------------------------------------------------------------

    async def send_batch(
        self, queue_url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SendSuccess]:
        response = await self._hot(
            "SendMessageBatch",
            {
                "QueueUrl": queue_url,
                "Entries": [send_entry_to_wire(e, batch=True, json_ready=True) for e in entries],
            },
        )
        by_id = {e.id: e for e in entries}
        successful: list[SendSuccess] = []
        failed = [failure_from_wire(f) for f in response.get("Failed", [])]
        for wire in response.get("Successful", []):
            entry = by_id.get(str(wire.get("Id")))
            if entry is None:
                # An id we never sent: we cannot verify it, so the caller must not trust it.
                failed.append(
                    BatchFailure(
                        id=str(wire.get("Id")),
                        code=ChecksumMismatch.code,
                        message="the service answered for an entry id that was not sent",
                        sender_fault=False,
                    )
                )
                continue
            outcome = send_success_from_wire(entry, wire)
            if isinstance(outcome, BatchFailure):
                failed.append(outcome)
            else:
                successful.append(outcome)
        return BatchResult(successful, failed)

    async def send_message(self, queue_url: str, entry: SendEntry) -> SendSuccess:
        response = await self._call(
            "send_message", QueueUrl=queue_url, **send_entry_to_wire(entry, batch=False)
        )
        outcome = send_success_from_wire(entry, response)
        if isinstance(outcome, BatchFailure):
            raise error_for_code(outcome.code, outcome.message)
        return outcome

    async def receive(
        self,
        queue_url: str,
        *,
        max_messages: int = 1,
        wait_time_seconds: int | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        receive_request_attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        params: dict[str, Any] = {"QueueUrl": queue_url, "MaxNumberOfMessages": max_messages}
        if wait_time_seconds is not None:
            params["WaitTimeSeconds"] = wait_time_seconds
        if visibility_timeout is not None:
            params["VisibilityTimeout"] = visibility_timeout
        if attribute_names:
            params["MessageSystemAttributeNames"] = list(attribute_names)
        if message_attribute_names:
            params["MessageAttributeNames"] = list(message_attribute_names)
        if receive_request_attempt_id is not None:
            params["ReceiveRequestAttemptId"] = receive_request_attempt_id
        _check_ints(
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_time_seconds,
            VisibilityTimeout=visibility_timeout,
        )
        response = await self._hot("ReceiveMessage", params)
        messages: list[ReceivedMessage] = []
        for wire in response.get("Messages", []):
            message = received_from_wire(wire)
            if message is not None:
                messages.append(message)
        return messages

    async def delete_batch(
        self, queue_url: str, entries: Sequence[DeleteEntry]
    ) -> BatchResult[str]:
        response = await self._hot(
            "DeleteMessageBatch",
            {
                "QueueUrl": queue_url,
                "Entries": [{"Id": e.id, "ReceiptHandle": e.receipt_handle} for e in entries],
            },
        )
        return _id_result(response)

    async def change_visibility_batch(
        self, queue_url: str, entries: Sequence[ChangeVisibilityEntry]
    ) -> BatchResult[str]:
        _check_ints(
            **{
                f"Entries[{i}].VisibilityTimeout": e.visibility_timeout
                for i, e in enumerate(entries)
            }
        )
        response = await self._hot(
            "ChangeMessageVisibilityBatch",
            {
                "QueueUrl": queue_url,
                "Entries": [
                    {
                        "Id": e.id,
                        "ReceiptHandle": e.receipt_handle,
                        "VisibilityTimeout": e.visibility_timeout,
                    }
                    for e in entries
                ],
            },
        )
        return _id_result(response)

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        await self._call("delete_message", QueueUrl=queue_url, ReceiptHandle=receipt_handle)

    async def change_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        await self._call(
            "change_message_visibility",
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=visibility_timeout,
        )

    # -- message move tasks ---------------------------------------------------------------------

    async def start_message_move_task(
        self,
        source_arn: str,
        *,
        destination_arn: str | None = None,
        max_messages_per_second: int | None = None,
    ) -> str:
        params: dict[str, Any] = {"SourceArn": source_arn}
        if destination_arn is not None:
            params["DestinationArn"] = destination_arn
        if max_messages_per_second is not None:
            params["MaxNumberOfMessagesPerSecond"] = max_messages_per_second
        response = await self._call("start_message_move_task", **params)
        return str(response["TaskHandle"])

    async def list_message_move_tasks(
        self, source_arn: str, *, max_results: int | None = None
    ) -> list[MoveTask]:
        params: dict[str, Any] = {"SourceArn": source_arn}
        if max_results is not None:
            params["MaxResults"] = max_results
        response = await self._call("list_message_move_tasks", **params)
        return [move_task_from_wire(t) for t in response.get("Results", [])]

    async def cancel_message_move_task(self, task_handle: str) -> int:
        response = await self._call("cancel_message_move_task", TaskHandle=task_handle)
        return int(response.get("ApproximateNumberOfMessagesMoved", 0))


def _check_ints(**values: object) -> None:
    """What botocore's parameter validation checked for the integers of the hot operations: the
    hand-written path must not send a string where SQS expects a number."""
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidParameterValue(
                f"Invalid type for parameter {name}, value: {value!r}, type: "
                f"{type(value).__name__}, valid types: int"
            )


def _id_result(response: Mapping[str, Any]) -> BatchResult[str]:
    return BatchResult(
        [str(s["Id"]) for s in response.get("Successful", [])],
        [failure_from_wire(f) for f in response.get("Failed", [])],
    )
