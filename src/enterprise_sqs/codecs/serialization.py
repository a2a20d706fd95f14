"""Message bodies: JSON by default, ``str`` and ``bytes`` passed through, any serializer pluggable.

JSON handles what applications actually publish: dicts and lists, dataclasses, pydantic models
(``model_dump(mode="json")``), ``Decimal``, ``datetime``/``date`` (ISO 8601), ``UUID``, sets (as
lists) and enums (their value). ``bytes`` must be UTF-8 text, since an SQS body is text; binary
data belongs in a Binary message attribute or base64.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from typing import Any, Protocol, runtime_checkable

from enterprise_sqs.errors import MessageSerializationError

__all__ = ["JSONSerializer", "Serializer", "encode_body"]


@runtime_checkable
class Serializer(Protocol):
    """Turns an object into a message body and a body back into an object."""

    def dumps(self, obj: Any) -> str: ...

    def loads(self, body: str) -> Any: ...


def _default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):  # pydantic v2 models, without importing pydantic
        return model_dump(mode="json")
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else str(obj)
    if isinstance(obj, datetime.datetime | datetime.date | datetime.time):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    if isinstance(obj, enum.Enum):
        return obj.value
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class JSONSerializer:
    """Compact JSON, UTF-8 kept as is (``ensure_ascii=False``: smaller bodies, same meaning)."""

    def dumps(self, obj: Any) -> str:
        return json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False)

    def loads(self, body: str) -> Any:
        return json.loads(body)

    def __repr__(self) -> str:
        return "JSONSerializer()"


def encode_body(obj: Any, serializer: Serializer) -> str:
    """The message body for ``obj``: ``str`` as is, UTF-8 ``bytes`` decoded, else serialized.

    Raises:
        MessageSerializationError: the object cannot be serialized, or bytes are not UTF-8.
    """
    if isinstance(obj, str):
        return obj
    if isinstance(obj, bytes | bytearray | memoryview):
        try:
            return bytes(obj).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MessageSerializationError(
                f"a bytes body must be UTF-8 text ({exc.reason} at byte {exc.start}); "
                "put binary data in a Binary message attribute or base64-encode it"
            ) from exc
    try:
        return serializer.dumps(obj)
    except (TypeError, ValueError) as exc:
        raise MessageSerializationError(
            f"cannot serialize a {type(obj).__name__} with {serializer!r}: {exc}"
        ) from exc
