"""A tiny SQS JSON endpoint that answers instantly, so a benchmark measures only client cost.

    python benchmarks/canned_sqs.py PORT

It understands just enough of the AWS JSON 1.0 protocol for publishing: GetQueueUrl,
GetQueueAttributes, CreateQueue, SendMessage and SendMessageBatch, answering with correct MD5s
(clients verify them) and made-up message ids. It stores nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys

from aiohttp import web

_ids = itertools.count()
QUEUE_URL = "http://127.0.0.1/000000000000/bench"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _sent(entry: dict[str, object]) -> dict[str, object]:
    return {
        "MessageId": f"00000000-0000-4000-8000-{next(_ids):012d}",
        "MD5OfMessageBody": _md5(str(entry["MessageBody"])),
    }


async def handle(request: web.Request) -> web.Response:
    operation = request.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
    payload = json.loads(await request.read() or b"{}")
    if operation in ("GetQueueUrl", "CreateQueue"):
        answer: dict[str, object] = {"QueueUrl": QUEUE_URL}
    elif operation == "GetQueueAttributes":
        answer = {
            "Attributes": {
                "FifoQueue": "false",
                "ContentBasedDeduplication": "false",
                "MaximumMessageSize": "1048576",
                "QueueArn": "arn:aws:sqs:us-east-1:000000000000:bench",
            }
        }
    elif operation == "SendMessage":
        answer = _sent(payload)
    elif operation == "SendMessageBatch":
        answer = {
            "Successful": [{"Id": e["Id"], **_sent(e)} for e in payload["Entries"]],
            "Failed": [],
        }
    else:
        return web.json_response(
            {"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": operation},
            status=400,
            headers={"x-amzn-query-error": "AWS.SimpleQueueService.UnsupportedOperation;Sender"},
        )
    return web.Response(body=json.dumps(answer).encode(), content_type="application/x-amz-json-1.0")


def main() -> None:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
