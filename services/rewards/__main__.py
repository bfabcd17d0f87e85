"""`python -m services.rewards`: run the rewards service (HTTP on HTTP_PORT, default 8003)."""

from runtime.service import main as serve

from .app import build


def main() -> None:
    serve(build, "rewards")


if __name__ == "__main__":
    main()
