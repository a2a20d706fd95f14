"""Body compression: gzip (standard library) or zstd (``pip install enterprise-sqs[zstd]``).

Only bodies of at least ``threshold`` UTF-8 bytes are compressed, and only when that makes them
smaller; the result is base64 text (an SQS body is text) and the attribute ``esqs.cmp`` names the
algorithm. Consumers decompress whatever algorithm the attribute names (zstd needs the package),
never past ``max_size`` bytes, so a small "compression bomb" cannot exhaust memory.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import importlib
import zlib
from typing import Any, Literal

from enterprise_sqs.codecs.base import CodecContext, Envelope
from enterprise_sqs.errors import CodecError, ConfigurationError
from enterprise_sqs.models import MessageAttributeValue

__all__ = ["COMPRESSION_ATTRIBUTE", "Compression", "zstd_available"]

COMPRESSION_ATTRIBUTE = "esqs.cmp"
Algorithm = Literal["gzip", "zstd"]


def _zstd() -> Any:
    try:
        return importlib.import_module("zstandard")
    except ImportError:
        return None


def zstd_available() -> bool:
    return _zstd() is not None


class Compression:
    """The compression codec.

    Args:
        algorithm: ``"gzip"`` (default) or ``"zstd"`` (needs the ``zstandard`` package).
        threshold: bodies smaller than this many bytes are left alone (default 1 KiB).
        level: compression level (default: 6 for gzip, 3 for zstd).
        max_size: the largest body a consumer decompresses (default 64 MiB).
    """

    name = "compression"

    def __init__(
        self,
        algorithm: Algorithm = "gzip",
        *,
        threshold: int = 1024,
        level: int | None = None,
        max_size: int = 64 * 1024 * 1024,
    ) -> None:
        if algorithm not in ("gzip", "zstd"):
            raise ConfigurationError(f"algorithm must be 'gzip' or 'zstd', got {algorithm!r}")
        if algorithm == "zstd" and not zstd_available():
            raise ConfigurationError(
                "zstd compression needs the zstandard package: pip install 'enterprise-sqs[zstd]'"
            )
        for label, value in (("threshold", threshold), ("max_size", max_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{label} must be a non-negative int, got {value!r}")
        if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
            raise ConfigurationError(f"level must be an int, got {level!r}")
        self.algorithm: Algorithm = algorithm
        self._threshold = threshold
        self._level = level if level is not None else (6 if algorithm == "gzip" else 3)
        self._max_size = max_size

    def __repr__(self) -> str:
        return f"Compression({self.algorithm!r}, threshold={self._threshold})"

    def _compress(self, data: bytes) -> bytes:
        if self.algorithm == "gzip":
            return gzip.compress(data, compresslevel=self._level, mtime=0)
        compressor: Any = _zstd().ZstdCompressor(level=self._level)
        result: bytes = compressor.compress(data)
        return result

    async def encode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        data = envelope.body.encode("utf-8")
        if len(data) < self._threshold or COMPRESSION_ATTRIBUTE in envelope.attributes:
            return envelope
        packed = base64.b64encode(self._compress(data)).decode("ascii")
        if len(packed) >= len(data):
            return envelope  # incompressible: sending it as is is smaller
        attributes = dict(envelope.attributes)
        attributes[COMPRESSION_ATTRIBUTE] = MessageAttributeValue(
            "String", string_value=self.algorithm
        )
        return Envelope(body=packed, attributes=attributes)

    def _decompress(self, algorithm: str, data: bytes) -> bytes:
        limit = self._max_size
        if algorithm == "gzip":
            inflater = zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer
            out = inflater.decompress(data, limit + 1)
            if not inflater.eof and len(out) <= limit:
                raise CodecError("the gzip body is truncated")
        elif algorithm == "zstd":
            module = _zstd()
            if module is None:
                raise CodecError(
                    "the message is zstd-compressed and the zstandard package is not installed"
                )
            chunks: list[bytes] = []
            total = 0
            with module.ZstdDecompressor().stream_reader(data) as reader:
                while total <= limit:
                    chunk = reader.read(min(1 << 20, limit + 1 - total))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    total += len(chunk)
            out = b"".join(chunks)
        else:
            raise CodecError(f"unknown compression {algorithm!r} in {COMPRESSION_ATTRIBUTE!r}")
        if len(out) > limit:
            raise CodecError(f"the decompressed body is larger than max_size={limit} bytes")
        return bytes(out)

    async def decode(self, envelope: Envelope, context: CodecContext) -> Envelope:
        marker = envelope.attributes.get(COMPRESSION_ATTRIBUTE)
        if marker is None:
            return envelope
        try:
            data = self._decompress(
                marker.string_value or "", base64.b64decode(envelope.body, validate=True)
            )
            body = data.decode("utf-8")
        except CodecError:
            raise
        except (ValueError, binascii.Error, zlib.error, UnicodeDecodeError) as exc:
            raise CodecError(f"the compressed body does not decompress: {exc}") from exc
        except Exception as exc:  # zstandard.ZstdError, without importing the package here
            raise CodecError(f"the compressed body does not decompress: {exc}") from exc
        remaining = {k: v for k, v in envelope.attributes.items() if k != COMPRESSION_ATTRIBUTE}
        return Envelope(body=body, attributes=remaining)
