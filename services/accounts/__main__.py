"""`python -m services.accounts`: run the accounts service (HTTP on HTTP_PORT, default 8001)."""

from .app import build


def main() -> None:
    build().run()


if __name__ == "__main__":
    main()
