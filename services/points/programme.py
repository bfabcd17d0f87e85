"""Reads the programme's configuration file (the one I/O the earning rules need)."""

import tomllib
from pathlib import Path

from .domain.rules import EarningRules, parse_rules

DEFAULT_FILE = Path(__file__).parent / "programme.toml"


def load_rules(path: Path = DEFAULT_FILE) -> EarningRules:
    with path.open("rb") as file:
        return parse_rules(tomllib.load(file))
