"""Codecs: how Python objects become SQS message bodies and attributes, and back."""

from enterprise_sqs.codecs.serialization import JSONSerializer, Serializer

__all__ = ["JSONSerializer", "Serializer"]
