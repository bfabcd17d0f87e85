"""`python -m adapters.fineract`: run the Fineract adapter (HTTP on HTTP_PORT, default 8005:
/metrics and health only)."""

from runtime.service import main as serve

from .app import build


def main() -> None:
    serve(build, "fineract")


if __name__ == "__main__":
    main()
