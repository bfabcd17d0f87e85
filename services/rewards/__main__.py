"""`python -m services.rewards`: run the rewards service (HTTP on HTTP_PORT, default 8003)."""

from .app import build


def main() -> None:
    build().run()


if __name__ == "__main__":
    main()
