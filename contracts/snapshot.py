"""Committed JSON Schema snapshots: `contracts/schemas/<ce_type>/<revision>.json`.

The revisions of a type are an append-only history. `python -m contracts.snapshot` checks
that every model matches its latest revision; `--write` appends a revision for each model
whose schema changed, and refuses (exit 1) a change that breaks the latest revision: such a
change needs a new major version (new module, new topic), not a new revision.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .base import Event
from .compat import incompatibilities
from .registry import EVENT_TYPES

SCHEMAS_DIR = Path(__file__).parent / "schemas"
REGENERATE = "python -m contracts.snapshot --write"


def current_schema(model: type[Event]) -> dict[str, Any]:
    # Through JSON so tuples become lists, as they are when read back from a file.
    return json.loads(json.dumps(model.model_json_schema(mode="validation")))


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def revisions(ce_type: str) -> list[tuple[int, dict[str, Any]]]:
    """The committed revisions of a type, oldest first."""
    folder = SCHEMAS_DIR / ce_type
    files = [p for p in folder.glob("*.json") if p.stem.isdigit()] if folder.is_dir() else []
    return [
        (int(p.stem), json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(files, key=lambda p: int(p.stem))
    ]


def _status(ce_type: str, model: type[Event]) -> tuple[str, list[str]]:
    """("current" | "missing" | "changed" | "breaking", incompatibilities)."""
    history = revisions(ce_type)
    if not history:
        return "missing", []
    latest = history[-1][1]
    schema = current_schema(model)
    if schema == latest:
        return "current", []
    problems = incompatibilities(latest, schema)
    return ("breaking" if problems else "changed"), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.snapshot", description=__doc__)
    parser.add_argument("--write", action="store_true", help="append changed schemas")
    args = parser.parse_args(argv)
    failed = False
    for ce_type, model in sorted(EVENT_TYPES.items()):
        status, problems = _status(ce_type, model)
        if status == "current":
            continue
        if status == "breaking":
            failed = True
            print(f"{ce_type}: REFUSED, incompatible with its latest revision:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            print("  Breaking needs a new major version (module and topic).", file=sys.stderr)
        elif args.write:
            history = revisions(ce_type)
            number = history[-1][0] + 1 if history else 1
            path = SCHEMAS_DIR / ce_type / f"{number}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(current_schema(model)), encoding="utf-8")
            print(f"{ce_type}: wrote revision {number}")
        else:
            failed = True
            print(f"{ce_type}: schema {status}; run `{REGENERATE}`", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
