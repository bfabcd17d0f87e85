"""`python -m services.analytics`: run the analytics service (HTTP on HTTP_PORT, default
8006); with a command, `report` or `rebuild` (commands.py, `--help`)."""

import sys

from runtime.service import main as serve

from .app import build


def main() -> None:
    if len(sys.argv) > 1:
        from .commands import main as command

        command(sys.argv[1:])
    else:
        serve(build, "analytics")


if __name__ == "__main__":
    main()
