"""CPU cost of the security codecs per 1 KiB message (target: encryption + decryption < 20 µs
with the local keyring).

Each codec encodes then decodes the same 1 KiB JSON body with two message attributes, in a loop
driven by one event loop (the codecs are coroutines, as the publisher and consumer call them):

- ``aes-gcm (cached data key)``: the default, a data key reused for a minute; the consumer's
  unwrapped-key cache hits, as it does in steady state;
- ``aes-gcm (key per message)``: ``data_key_reuse_seconds=0``: wrap and unwrap every time;
- ``hmac-sha256`` and ``ed25519`` signatures; ``gzip``; and all of compress+encrypt+sign.

Reported: microseconds per message for encode, decode and both (best of ``--repeats`` runs of
``--messages`` messages, process CPU time, so other processes on the machine do not count).

    python benchmarks/encryption_cost.py [--messages 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from enterprise_sqs.codecs.base import (  # noqa: E402
    Codec,
    CodecContext,
    Envelope,
    decode_all,
    encode_all,
)
from enterprise_sqs.codecs.compression import Compression  # noqa: E402
from enterprise_sqs.codecs.encryption import EnvelopeEncryption  # noqa: E402
from enterprise_sqs.codecs.keys import LocalKeyring  # noqa: E402
from enterprise_sqs.codecs.signing import MessageSigning  # noqa: E402
from enterprise_sqs.models import MessageAttributeValue  # noqa: E402

CONTEXT = CodecContext(
    queue_name="orders",
    queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/orders",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:orders",
)
BODY = json.dumps({"id": 1, "type": "order-created", "data": "x" * 980})[:1024]
ATTRIBUTES = {
    "tenant": MessageAttributeValue("String", string_value="acme"),
    "priority": MessageAttributeValue("Number", string_value="3"),
}


def pipelines() -> dict[str, Callable[[], list[Codec]]]:
    keyring = LocalKeyring({"2026-01": LocalKeyring.generate_key()})
    private = Ed25519PrivateKey.generate()
    return {
        "aes-gcm (cached data key)": lambda: [EnvelopeEncryption(keyring)],
        "aes-gcm (key per message)": lambda: [
            EnvelopeEncryption(keyring, data_key_reuse_seconds=0)
        ],
        "hmac-sha256": lambda: [MessageSigning.hmac({"p": b"k" * 32})],
        "ed25519": lambda: [MessageSigning.ed25519(private_key=private, key_id="p")],
        "gzip": lambda: [Compression(threshold=512)],
        "gzip+aes-gcm+hmac": lambda: [
            Compression(threshold=512),
            EnvelopeEncryption(keyring),
            MessageSigning.hmac({"p": b"k" * 32}),
        ],
    }


async def measure(codecs: list[Codec], messages: int) -> tuple[float, float]:
    """CPU µs per message to encode, and to decode (the consumer has its own key caches when
    the key is per message, so nothing is shared that would not be)."""
    envelope = Envelope(BODY, ATTRIBUTES)
    encoded = [await encode_all(codecs, envelope, CONTEXT) for _ in range(10)]  # warm up
    start = time.process_time()
    for _ in range(messages):
        encoded_one = await encode_all(codecs, envelope, CONTEXT)
    encode_us = (time.process_time() - start) / messages * 1e6
    encoded.append(encoded_one)
    start = time.process_time()
    for _ in range(messages):
        decoded = await decode_all(codecs, encoded_one, CONTEXT)
    decode_us = (time.process_time() - start) / messages * 1e6
    assert decoded.body == BODY
    assert dict(decoded.attributes) == ATTRIBUTES
    return encode_us, decode_us


async def main(args: argparse.Namespace) -> None:
    print(
        f"{len(BODY.encode())} B body, 2 attributes, {args.messages} messages, best of "
        f"{args.repeats}, CPU µs per message"
    )
    print(f"{'codec':28} {'encode':>8} {'decode':>8} {'both':>8}")
    for name, build in pipelines().items():
        best = min(
            [await measure(build(), args.messages) for _ in range(args.repeats)],
            key=lambda r: r[0] + r[1],
        )
        print(f"{name:28} {best[0]:8.1f} {best[1]:8.1f} {best[0] + best[1]:8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
