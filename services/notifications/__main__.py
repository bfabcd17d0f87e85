"""`python -m services.notifications`: run the notifications service (HTTP on HTTP_PORT,
default 8004). In development its providers are the sandbox (`python -m tools.sandbox`)."""

from runtime.service import main as serve

from .app import build


def main() -> None:
    serve(build, "notifications")


if __name__ == "__main__":
    main()
