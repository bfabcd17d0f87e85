"""`python -m services.accounts`: run the accounts service (HTTP on HTTP_PORT, default 8001)."""

from runtime.service import main as serve

from .app import build


def main() -> None:
    serve(build, "accounts")


if __name__ == "__main__":
    main()
