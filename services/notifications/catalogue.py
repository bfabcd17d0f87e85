"""Reads the message templates (`templates/*.toml`) at start-up; a bad file stops it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .domain.templates import Template, parse_template

TEMPLATES_DIR = Path(__file__).parent / "templates"


def load_templates(folder: Path = TEMPLATES_DIR) -> dict[str, Template]:
    templates = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as file:
            templates[path.stem] = parse_template(path.stem, tomllib.load(file))
    return templates
