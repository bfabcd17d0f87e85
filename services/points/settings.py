"""The points service's settings: the shared ones plus its own port and programme file."""

from pathlib import Path

from pydantic import Field

from runtime.settings import Settings

from .programme import DEFAULT_FILE


class PointsSettings(Settings):
    http_port: int = Field(default=8002, ge=1, le=65535)
    #: The earning rules (PROGRAMME_FILE); validated when the service starts.
    programme_file: Path = DEFAULT_FILE
