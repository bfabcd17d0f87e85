"""`python -m ops`: the same as `loyalty-ops`."""

from .cli import app

app(prog_name="loyalty-ops")
