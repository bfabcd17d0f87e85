"""`python -m tools.chaos.sandbox --port P --receipts-to URL`: the provider sandbox of
tools/sandbox keeping every message it accepted, with GET /chaos/sends: how often each
message id (WeChat's client_msg_id, the SMS out-id) was accepted. A message sent twice to a
provider shows there."""

from __future__ import annotations

import argparse
from collections import Counter

import uvicorn

from tools.sandbox.app import create_app


def app(receipts_to: str | None):
    sandbox = create_app(keep_messages=10**9, receipts_to=receipts_to)

    @sandbox.get("/chaos/sends")
    async def sends() -> dict[str, int]:
        return dict(Counter(str(m["message_id"]) for m in sandbox.state.sandbox.sent))

    return sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--receipts-to", default=None)
    args = parser.parse_args()
    uvicorn.run(app(args.receipts_to), host="127.0.0.1", port=args.port, access_log=False,
                log_level="warning")


if __name__ == "__main__":
    main()
