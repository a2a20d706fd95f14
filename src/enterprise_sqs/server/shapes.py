"""SQS's service model, read from botocore, and the typing of request parameters.

The model (``botocore/data/sqs/2012-11-05/service-2.json``) names every operation and the shape of
its input and output. Both protocols decode a request into the same JSON-shaped ``dict`` and check
it here: wrong types are a :class:`MalformedRequest` (JSON) or ``InvalidParameterValue`` (query
strings that are not numbers), a missing required member is ``MissingParameter``. Only the shape is
checked; what values mean (ranges, attribute names, FIFO rules) is the engine's business.

The query protocol's names differ from the JSON member names (``Attribute.1.Name`` for
``Attributes``); botocore's current model no longer carries them, so :data:`QUERY_NAMES` and
friends keep them, and a test pins them against the last query-protocol model botocore shipped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from enterprise_sqs.errors import InvalidParameterValue, MissingParameter
from enterprise_sqs.server.errors import MalformedRequest

__all__ = [
    "QUERY_LIST_MEMBER",
    "QUERY_MAP_ENTRY",
    "QUERY_NAMES",
    "ServiceModel",
    "service_model",
]

# Query names of structure members, by (structure, member), and of shapes that carry their own.
QUERY_NAMES: dict[tuple[str, str], str] = {
    ("CreateQueueRequest", "Attributes"): "Attribute",
    ("CreateQueueRequest", "tags"): "Tag",
    ("GetQueueAttributesResult", "Attributes"): "Attribute",
    ("ListQueueTagsResult", "Tags"): "Tag",
    ("Message", "Attributes"): "Attribute",
    ("Message", "MessageAttributes"): "MessageAttribute",
    ("MessageAttributeValue", "StringListValues"): "StringListValue",
    ("MessageAttributeValue", "BinaryListValues"): "BinaryListValue",
    ("MessageSystemAttributeValue", "StringListValues"): "StringListValue",
    ("MessageSystemAttributeValue", "BinaryListValues"): "BinaryListValue",
    ("SendMessageBatchRequestEntry", "MessageAttributes"): "MessageAttribute",
    ("SendMessageBatchRequestEntry", "MessageSystemAttributes"): "MessageSystemAttribute",
    ("SendMessageRequest", "MessageAttributes"): "MessageAttribute",
    ("SendMessageRequest", "MessageSystemAttributes"): "MessageSystemAttribute",
    ("SetQueueAttributesRequest", "Attributes"): "Attribute",
}
QUERY_SHAPE_NAMES: dict[str, str] = {
    "QueueAttributeMap": "Attribute",
    "MessageSystemAttributeMap": "Attribute",
    "TagMap": "Tag",
}
# The element name of each (flattened) list.
QUERY_LIST_MEMBER: dict[str, str] = {
    "AWSAccountIdList": "AWSAccountId",
    "ActionNameList": "ActionName",
    "AttributeNameList": "AttributeName",
    "BatchResultErrorEntryList": "BatchResultErrorEntry",
    "BinaryList": "BinaryListValue",
    "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
    "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
    "ListMessageMoveTasksResultEntryList": "ListMessageMoveTasksResultEntry",
    "MessageAttributeNameList": "MessageAttributeName",
    "MessageList": "Message",
    "MessageSystemAttributeList": "MessageSystemAttributeName",
    "QueueUrlList": "QueueUrl",
    "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
    "StringList": "StringListValue",
    "TagKeyList": "TagKey",
}
# The key and value element names of each map entry.
QUERY_MAP_ENTRY: dict[str, tuple[str, str]] = {
    "MessageBodyAttributeMap": ("Name", "Value"),
    "MessageBodySystemAttributeMap": ("Name", "Value"),
    "MessageSystemAttributeMap": ("Name", "Value"),
    "QueueAttributeMap": ("Name", "Value"),
    "TagMap": ("Key", "Value"),
}

_INT_TYPES = frozenset({"integer", "long"})


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    shape: str
    query_name: str


class ServiceModel:
    """The parts of botocore's SQS model the server needs, indexed for fast lookups."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        self._shapes: dict[str, dict[str, Any]] = dict(model["shapes"])
        self.operations: dict[str, tuple[str | None, str | None]] = {
            name: (op.get("input", {}).get("shape"), op.get("output", {}).get("shape"))
            for name, op in model["operations"].items()
        }
        self._members: dict[str, list[Member]] = {}
        for name, shape in self._shapes.items():
            if shape["type"] == "structure":
                self._members[name] = [
                    Member(m, ref["shape"], self._query_name(name, m, ref["shape"]))
                    for m, ref in shape.get("members", {}).items()
                ]

    def _query_name(self, struct: str, member: str, shape: str) -> str:
        if (struct, member) in QUERY_NAMES:
            return QUERY_NAMES[(struct, member)]
        if shape in QUERY_LIST_MEMBER and self._shapes[shape].get("flattened"):
            return QUERY_LIST_MEMBER[shape]
        return QUERY_SHAPE_NAMES.get(shape, member)

    def shape(self, name: str) -> dict[str, Any]:
        return self._shapes[name]

    def members(self, struct: str) -> list[Member]:
        return self._members[struct]

    def required(self, struct: str) -> list[str]:
        return list(self._shapes[struct].get("required", ()))

    # -- JSON ------------------------------------------------------------------------------------

    def check_json(self, shape_name: str, value: Any, path: str) -> Any:
        """Check a decoded JSON value against a shape; blobs come back as bytes.

        Raises:
            MalformedRequest: a value of the wrong JSON type, or a blob that is not base64.
            MissingParameter: a required member is absent.
        """
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind == "string":
            if not isinstance(value, str):
                raise _wrong_type(path, "a string")
            return value
        if kind in _INT_TYPES:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _wrong_type(path, "an integer")
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _wrong_type(path, "a boolean")
            return value
        if kind == "blob":
            if not isinstance(value, str):
                raise _wrong_type(path, "a base64 string")
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedRequest(f"{path} is not valid base64.") from exc
        if kind == "list":
            if not isinstance(value, list):
                raise _wrong_type(path, "a list")
            member = shape["member"]["shape"]
            return [self.check_json(member, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind == "map":
            if not isinstance(value, dict):
                raise _wrong_type(path, "an object")
            key_shape, value_shape = shape["key"]["shape"], shape["value"]["shape"]
            return {
                self.check_json(key_shape, k, f"{path} key"): self.check_json(
                    value_shape, v, f"{path}.{k}"
                )
                for k, v in value.items()
            }
        if kind == "structure":
            if not isinstance(value, dict):
                raise _wrong_type(path, "an object")
            out: dict[str, Any] = {}
            for m in self._members[shape_name]:
                v = value.get(m.name)
                if v is not None:
                    out[m.name] = self.check_json(m.shape, v, _join(path, m.name))
            return self._fill_required(shape_name, out, path)
        raise MalformedRequest(f"{path} has an unsupported type.")  # pragma: no cover - model

    def _fill_required(self, struct: str, out: dict[str, Any], path: str) -> dict[str, Any]:
        for name in self.required(struct):
            if name in out:
                continue
            member = next(m for m in self._members[struct] if m.name == name)
            # An absent batch is an empty one: the engine answers EmptyBatchRequest, as SQS does.
            if self._shapes[member.shape]["type"] == "list":
                out[name] = []
            else:
                raise MissingParameter(
                    f"The request must contain the parameter {_join(path, name)}."
                )
        return out

    # -- query -----------------------------------------------------------------------------------

    def from_query(self, shape_name: str, node: Any, path: str) -> Any:
        """Convert a tree of query parameters (see :func:`query.parse_form`) to the JSON shape.

        Raises:
            InvalidParameterValue: a number or boolean that does not parse.
            MalformedRequest: a structure where a value belongs, or the reverse; bad base64.
            MissingParameter: a required member is absent.
        """
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind in ("list", "map"):
            items = _indexed(node, path)
            if kind == "list":
                member = shape["member"]["shape"]
                return [self.from_query(member, v, f"{path}.{i}") for i, v in items]
            key_name, value_name = QUERY_MAP_ENTRY.get(shape_name, ("key", "value"))
            out_map: dict[str, Any] = {}
            for i, entry in items:
                if not isinstance(entry, dict) or key_name not in entry:
                    raise MissingParameter(
                        f"The request must contain the parameter {path}.{i}.{key_name}."
                    )
                key = self.from_query(shape["key"]["shape"], entry[key_name], f"{path}.{i}")
                if value_name not in entry:
                    raise MissingParameter(
                        f"The request must contain the parameter {path}.{i}.{value_name}."
                    )
                out_map[key] = self.from_query(
                    shape["value"]["shape"], entry[value_name], f"{path}.{i}.{value_name}"
                )
            return out_map
        if kind == "structure":
            if not isinstance(node, dict):
                raise MalformedRequest(f"Parameter {path} must have members.")
            out: dict[str, Any] = {}
            for m in self._members[shape_name]:
                if m.query_name in node:
                    out[m.name] = self.from_query(
                        m.shape, node[m.query_name], _join(path, m.query_name)
                    )
            return self._fill_required(shape_name, out, path)
        if not isinstance(node, str):
            raise MalformedRequest(f"Parameter {path} must be a single value.")
        if kind == "string":
            return node
        if kind in _INT_TYPES:
            try:
                return int(node)
            except ValueError:
                raise InvalidParameterValue(
                    f"Value {node} for parameter {path} is invalid. Reason: Must be an integer."
                ) from None
        if kind == "boolean":
            if node.lower() in ("true", "false"):
                return node.lower() == "true"
            raise InvalidParameterValue(
                f"Value {node} for parameter {path} is invalid. Reason: Must be true or false."
            )
        if kind == "blob":
            try:
                return base64.b64decode(node, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedRequest(f"Parameter {path} is not valid base64.") from exc
        raise MalformedRequest(f"Parameter {path} has an unsupported type.")  # pragma: no cover


def _indexed(node: Any, path: str) -> list[tuple[int, Any]]:
    """The members of a flattened (``Name.1``) or wrapped (``Name.member.1``) query list."""
    if node == "":
        return []  # ``AttributeName=`` is how botocore sends an empty list
    if isinstance(node, dict) and set(node) == {"member"}:
        node = node["member"]
    if not isinstance(node, dict) or not all(k.isdigit() for k in node):
        raise MalformedRequest(f"Parameter {path} must be a list: {path}.1, {path}.2, ...")
    items = sorted((int(k), v) for k, v in node.items())
    return items


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _wrong_type(path: str, expected: str) -> MalformedRequest:
    return MalformedRequest(f"{path or 'The request body'} must be {expected}.")


@cache
def service_model() -> ServiceModel:
    """The SQS model of the installed botocore, loaded once."""
    from botocore.loaders import create_loader

    return ServiceModel(create_loader().load_service_model("sqs", "service-2", "2012-11-05"))
