"""Turning a message body into what a handler receives, and deciding which errors are final.

- ``message_type=None``: the serializer's ``loads`` (JSON by default);
- ``str``: the body as it is; ``bytes``: the body encoded as UTF-8;
- a pydantic model class: ``Model.model_validate_json(body)``;
- a dataclass: JSON, then ``Cls(**fields)``;
- any other class: JSON, then ``Cls(value)``.

A body that cannot be decoded or validated raises :class:`~enterprise_sqs.errors.ValidationError`:
sending it again cannot help, so it is never retried. pydantic is never imported here; its
``ValidationError`` is recognised when pydantic is already loaded.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from enterprise_sqs.codecs.serialization import JSONSerializer, Serializer
from enterprise_sqs.errors import CodecError, MessageSerializationError, ValidationError

__all__ = ["Decoder", "is_non_retryable", "make_decoder"]

Decoder = Callable[[str], Any]


def _pydantic_validation_error() -> type[BaseException] | None:
    # pydantic.ValidationError is pydantic_core.ValidationError; present only if pydantic is.
    core = sys.modules.get("pydantic_core")
    error = getattr(core, "ValidationError", None) if core is not None else None
    return error if isinstance(error, type) else None


def is_non_retryable(exc: BaseException, extra: tuple[type[BaseException], ...] = ()) -> bool:
    """Whether a handler's exception means "this message will never succeed"."""
    if isinstance(exc, ValidationError | MessageSerializationError | CodecError):
        return True
    if extra and isinstance(exc, extra):
        return True
    pydantic_error = _pydantic_validation_error()
    return pydantic_error is not None and isinstance(exc, pydantic_error)


def _as_object(value: Any) -> object:
    # is_dataclass narrows its argument's type; keep message_type itself a plain class.
    return value


def make_decoder(message_type: Any, serializer: Serializer | None) -> Decoder:
    """The decoding function for a consumer's ``message_type`` and ``serializer``."""
    loads = (serializer or JSONSerializer()).loads

    def parse(body: str) -> Any:
        try:
            return loads(body)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"the message body is not valid for its codec: {exc}") from exc

    if message_type is None:
        return parse
    if message_type is str:
        return lambda body: body
    if message_type is bytes:
        return lambda body: body.encode("utf-8")
    validate_json = getattr(message_type, "model_validate_json", None)
    if callable(validate_json):
        pydantic_error = _pydantic_validation_error()

        def decode_model(body: str) -> Any:
            try:
                return validate_json(body)
            except Exception as exc:
                if pydantic_error is not None and isinstance(exc, pydantic_error):
                    raise ValidationError(
                        f"the message is not a valid {message_type.__name__}: {exc}"
                    ) from exc
                raise

        return decode_model
    if dataclasses.is_dataclass(_as_object(message_type)):

        def decode_dataclass(body: str) -> Any:
            value = parse(body)
            if not isinstance(value, dict):
                raise ValidationError(
                    f"a {message_type.__name__} needs a JSON object, got {type(value).__name__}"
                )
            try:
                return message_type(**value)
            except TypeError as exc:
                raise ValidationError(
                    f"the message is not a valid {message_type.__name__}: {exc}"
                ) from exc

        return decode_dataclass

    def decode_other(body: str) -> Any:
        value = parse(body)
        if isinstance(value, message_type):
            return value
        try:
            return message_type(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"the message is not a valid {message_type.__name__}: {exc}"
            ) from exc

    return decode_other
