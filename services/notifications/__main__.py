"""`python -m services.notifications`: run the notifications service (HTTP on HTTP_PORT,
default 8004; the sandbox providers under /sandbox unless SANDBOX_ENABLED=false)."""

from .app import build


def main() -> None:
    build().run()


if __name__ == "__main__":
    main()
