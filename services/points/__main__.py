"""`python -m services.points`: run the points service (HTTP on HTTP_PORT, default 8002)."""

from .app import build


def main() -> None:
    build().run()


if __name__ == "__main__":
    main()
