"""The query protocol: form-encoded ``Action=...`` requests and XML answers.

Older SDKs, the AWS CLI before botocore 1.34.90 and hand-written HTTP clients speak it. A request
is flattened into dotted names (``SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.
StringValue``); :func:`parse_form` folds them back into a tree that
:meth:`ServiceModel.from_query <enterprise_sqs.server.shapes.ServiceModel.from_query>` types.
Answers are XML in SQS's namespace, rendered from the same JSON-shaped result the JSON protocol
sends, following the model's member order.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from enterprise_sqs.errors import SQSError
from enterprise_sqs.server.errors import MalformedRequest
from enterprise_sqs.server.shapes import QUERY_LIST_MEMBER, QUERY_MAP_ENTRY, ServiceModel

__all__ = ["NAMESPACE", "parse_form", "render_error", "render_result"]

NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"

# Parameters every query request may carry that are not the operation's input.
_ENVELOPE = frozenset(
    {
        "Action",
        "Version",
        "AWSAccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "Timestamp",
        "Expires",
        "SecurityToken",
    }
)


def parse_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Fold dotted parameter names into nested dicts; the envelope and ``X-Amz-*`` are dropped.

    Raises:
        MalformedRequest: a name given twice, or used both as a value and as a prefix.
    """
    tree: dict[str, Any] = {}
    for name, value in pairs:
        if name in _ENVELOPE or name.startswith("X-Amz-"):
            continue
        parts = name.split(".")
        if any(not p for p in parts):
            raise MalformedRequest(f"Parameter name {name!r} is not valid.")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise MalformedRequest(f"Parameter {name!r} conflicts with another parameter.")
            node = child
        last = parts[-1]
        if last in node:
            raise MalformedRequest(f"Parameter {name!r} is given more than once.")
        node[last] = value
    return tree


def render_result(
    model: ServiceModel, operation: str, output_shape: str | None, result: Any, request_id: str
) -> str:
    """The XML answer to a successful query request."""
    body: list[str] = [f'<{operation}Response xmlns="{NAMESPACE}">']
    if output_shape is not None:
        body.append(f"<{operation}Result>")
        _render_members(model, output_shape, result, body)
        body.append(f"</{operation}Result>")
    body.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    body.append(f"</{operation}Response>")
    return '<?xml version="1.0"?>' + "".join(body)


def render_error(exc: SQSError, request_id: str) -> str:
    """The XML ``ErrorResponse`` SQS sends for a failed query request."""
    kind = "Sender" if exc.sender_fault else "Receiver"
    return (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(exc.actual_code)}</Code><Message>{_text(exc.message)}</Message>"
        f"<Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )


def _render_members(model: ServiceModel, struct: str, value: Any, out: list[str]) -> None:
    for member in model.members(struct):
        if member.name in value and value[member.name] is not None:
            _render(model, member.shape, member.query_name, value[member.name], out)


def _render(model: ServiceModel, shape_name: str, tag: str, value: Any, out: list[str]) -> None:
    shape = model.shape(shape_name)
    kind = shape["type"]
    if kind == "structure":
        out.append(f"<{tag}>")
        _render_members(model, shape_name, value, out)
        out.append(f"</{tag}>")
    elif kind == "list":
        # Every list SQS answers with is flattened: one element per item, no wrapper.
        item = QUERY_LIST_MEMBER.get(shape_name, tag) if shape.get("flattened") else "member"
        if not shape.get("flattened"):
            out.append(f"<{tag}>")
        for v in value:
            _render(model, shape["member"]["shape"], item, v, out)
        if not shape.get("flattened"):
            out.append(f"</{tag}>")
    elif kind == "map":
        key_name, value_name = QUERY_MAP_ENTRY.get(shape_name, ("key", "value"))
        for k, v in value.items():
            out.append(f"<{tag}><{key_name}>{_text(k)}</{key_name}>")
            _render(model, shape["value"]["shape"], value_name, v, out)
            out.append(f"</{tag}>")
    elif kind == "boolean":
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    elif kind == "blob":
        out.append(f"<{tag}>{base64.b64encode(value).decode('ascii')}</{tag}>")
    else:
        out.append(f"<{tag}>{_text(str(value))}</{tag}>")


def _text(value: str) -> str:
    # Carriage returns would be normalised away by XML parsers; SQS sends them as references.
    return escape(value).replace("\r", "&#xD;")
