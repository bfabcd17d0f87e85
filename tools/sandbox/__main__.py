"""`python -m tools.sandbox [--port 8094] [--receipts-to URL]`: the sandbox providers, where
the notifications service's development settings send (scripts/run starts it)."""

import argparse

import uvicorn

from .app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--receipts-to", default=None,
                        help="report deliveries to this callbacks URL, e.g. "
                             "http://127.0.0.1:8004/callbacks")
    args = parser.parse_args()
    uvicorn.run(create_app(receipts_to=args.receipts_to), host=args.host, port=args.port,
                access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
