"""`python -m services.points`: run the points service (HTTP on HTTP_PORT, default 8002)."""

from runtime.service import main as serve

from .app import build


def main() -> None:
    serve(build, "points")


if __name__ == "__main__":
    main()
