"""Fineract's Avro, read from the schema files it ships (schemas/, Apache License 2.0).

The `.avsc` files name the type `bigdecimal`, which Fineract's build replaces with the
decimal logical type of `bigdecimal.avsc`; they refer to each other by full name. Values are
Avro single-object encoded (`C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of
the writer schema's parsing canonical form, the binary body): the fingerprint names the
schema the body was written with, and one we do not hold is refused.

The canonical form is Java's: a named type is written out where it first occurs and named
after that (fastavro's `expand` would write it out every time, another fingerprint).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).parent / "schemas"
MAGIC = b"\xc3\x01"
ENVELOPE = "org.apache.fineract.avro.MessageV1"
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class UndecodableError(ValueError):
    """Bytes that are not a single-object encoded value of a schema we hold."""


@dataclass(frozen=True, slots=True)
class Schema:
    name: str
    parsed: dict
    fingerprint: bytes  # as written in the single-object header (little-endian)


class Schemas:
    """Every schema of a Fineract schema directory, parsed together, by name and by
    fingerprint."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        decimal = json.loads((directory / "bigdecimal.avsc").read_text())
        raw = {}
        for path in sorted(directory.rglob("*.avsc")):
            if path.name == "bigdecimal.avsc":
                continue
            schema = _substitute(json.loads(path.read_text()), decimal)
            raw[_fullname(schema)] = schema
        named: dict[str, Any] = {}
        for name in _dependency_order(raw):
            parse_schema(raw[name], named)
        self.by_name: dict[str, Schema] = {}
        for name in raw:
            canonical = to_parsing_canonical_form(_first_occurrences(raw[name], raw, set()))
            self.by_name[name] = Schema(name, parse_schema(raw[name], dict(named)),
                                        bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")))
        self.by_fingerprint = {s.fingerprint: s for s in self.by_name.values()}

    def decode(self, data: bytes, expected: str | None = None) -> tuple[str, dict]:
        """The schema name and value of single-object encoded `data`; `expected` names the
        only schema accepted."""
        if len(data) < 10 or data[:2] != MAGIC:
            raise UndecodableError("not Avro single-object encoding (no C3 01 header)")
        schema = self.by_fingerprint.get(data[2:10])
        if schema is None:
            raise UndecodableError(f"unknown schema fingerprint {data[2:10].hex()}")
        if expected is not None and schema.name != expected:
            raise UndecodableError(f"written with {schema.name}, expected {expected}")
        body = io.BytesIO(data[10:])
        try:
            value = fastavro.schemaless_reader(body, schema.parsed, None)
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeError, ...
            raise UndecodableError(f"bad {schema.name} body: {type(exc).__name__}") from exc
        if body.read(1):
            raise UndecodableError(f"bytes left after the {schema.name} body")
        return schema.name, value

    def encode(self, name: str, value: dict) -> bytes:
        """`value` single-object encoded with schema `name`, as Fineract writes it."""
        schema = self.by_name[name]
        body = io.BytesIO()
        fastavro.schemaless_writer(body, schema.parsed, value)
        return MAGIC + schema.fingerprint + body.getvalue()


def _fullname(schema: dict) -> str:
    name = schema["name"]
    return name if "." in name else f"{schema['namespace']}.{name}"


def _substitute(node: Any, decimal: dict) -> Any:
    if node == "bigdecimal":
        return dict(decimal)
    if isinstance(node, list):
        return [_substitute(n, decimal) for n in node]
    if isinstance(node, dict):
        return {k: _substitute(v, decimal) for k, v in node.items()}
    return node


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        if node not in _PRIMITIVES:
            yield node
    elif isinstance(node, list):
        for n in node:
            yield from _references(n)
    elif isinstance(node, dict):
        for key in ("type", "items", "values", "fields"):
            if key in node:
                yield from _references(node[key])


def _dependency_order(raw: dict[str, dict]) -> list[str]:
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path:
            return
        for ref in _references(raw[name]["fields"]):
            if ref in raw:
                visit(ref, (*path, name))
        done.append(name)

    for name in raw:
        visit(name, ())
    return done


def _first_occurrences(node: Any, raw: dict[str, dict], seen: set[str]) -> Any:
    """`node` with each named type written out at its first occurrence (Java's form)."""
    if isinstance(node, str):
        if node in raw and node not in seen:
            return _first_occurrences(raw[node], raw, seen)
        return node
    if isinstance(node, list):
        return [_first_occurrences(n, raw, seen) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if node.get("type") in ("record", "enum", "fixed"):
        node["name"] = _fullname(node)
        node.pop("namespace", None)
        seen.add(node["name"])
    for key in ("type", "items", "values"):
        if key in node and not (key == "type" and node[key] in ("record", "enum", "fixed")):
            node[key] = _first_occurrences(node[key], raw, seen)
    if "fields" in node:
        node["fields"] = [_first_occurrences(f, raw, seen) for f in node["fields"]]
    return node
