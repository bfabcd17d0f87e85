"""Reads the tier programme's configuration file (the one I/O the tier rules need)."""

import tomllib
from pathlib import Path

from .domain.programme import TierProgramme, parse_programme

DEFAULT_FILE = Path(__file__).parent / "tiers.toml"


def load_programme(path: Path = DEFAULT_FILE) -> TierProgramme:
    with path.open("rb") as file:
        return parse_programme(tomllib.load(file))
