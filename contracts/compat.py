"""Is a new JSON Schema of an event a compatible evolution of the old one?

Inside a major version every payload valid under the old schema must stay valid under the
new one (consumers on the new model read old records; replays read years-old ones), and the
new model may only add optional fields. Written for the schemas pydantic generates: `$ref`
into `$defs`, `anyOf` for unions and Optional, objects, arrays, enums and constraints.

A pattern or format can only be compared textually, so any change to one is reported:
a false alarm is cheaper than a silently broken consumer.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_JSON_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
# A bound that rejects more when it grows, and one that rejects more when it shrinks.
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf", "uniqueItems")


def incompatibilities(old_schema: Schema, new_schema: Schema) -> list[str]:
    """Every way `new_schema` could reject a payload `old_schema` accepts; empty if none."""
    return _Comparison(old_schema, new_schema).compare(old_schema, new_schema, "$", set())


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root

    def compare(self, old: Schema, new: Schema, path: str, seen: set) -> list[str]:
        refs = (old.get("$ref"), new.get("$ref"))
        if refs != (None, None):
            if refs in seen:  # a recursive model: this pair is already being compared
                return []
            seen = seen | {refs}
        old_branches = _branches(old, self.old_root)
        new_branches = _branches(new, self.new_root)
        problems: list[str] = []
        for old_branch in old_branches:
            for json_type in sorted(_types(old_branch)):
                candidates = [b for b in new_branches if _covers(_types(b), json_type)]
                if not candidates:
                    problems.append(f"{path}: type narrowed, {json_type} no longer accepted")
                    continue
                # A value is valid if any branch accepts it: report the closest branch.
                outcomes = [self._compare_branch(old_branch, b, path, seen) for b in candidates]
                problems.extend(min(outcomes, key=len))
        return list(dict.fromkeys(problems))

    def _compare_branch(self, old: Schema, new: Schema, path: str, seen: set) -> list[str]:
        problems = _enum_problems(old, new, path) + _constraint_problems(old, new, path)
        if "properties" in old or "properties" in new or _types(new) == {"object"}:
            problems += self._object_problems(old, new, path, seen)
        if isinstance(new.get("items"), dict):
            old_items = old.get("items") if isinstance(old.get("items"), dict) else {}
            problems += self.compare(old_items, new["items"], f"{path}[]", seen)
        old_prefix = old.get("prefixItems", [])
        for index, item in enumerate(new.get("prefixItems", [])):
            old_item = old_prefix[index] if index < len(old_prefix) else {}
            problems += self.compare(old_item, item, f"{path}[{index}]", seen)
        return problems

    def _object_problems(self, old: Schema, new: Schema, path: str, seen: set) -> list[str]:
        old_props: dict = old.get("properties", {})
        new_props: dict = new.get("properties", {})
        old_required = set(old.get("required", ()))
        problems = []
        for name in old_props.keys() - new_props.keys():
            problems.append(f"{path}.{name}: property removed (or renamed)")
        for name in sorted(set(new.get("required", ())) - old_required):
            if name in old_props:
                problems.append(f"{path}.{name}: property newly required")
            else:
                problems.append(f"{path}.{name}: new required property")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if new_extra is False and old_extra is not False:
            problems.append(f"{path}: additional properties no longer accepted")
        elif isinstance(new_extra, dict):  # a dict[str, X] field: its values must still fit
            old_values = old_extra if isinstance(old_extra, dict) else {}
            problems += self.compare(old_values, new_extra, f"{path}.*", seen)
        for name in sorted(old_props.keys() & new_props.keys()):
            problems += self.compare(old_props[name], new_props[name], f"{path}.{name}", seen)
        return problems


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        # Keywords beside $ref (a description, a default) decorate the target.
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _branches(schema: Schema, root: Schema) -> list[Schema]:
    """The alternatives a schema accepts, each resolved and without anyOf/oneOf."""
    schema = _resolve(schema, root)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives is None and len(schema.get("allOf", ())) == 1:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        return _branches({**_resolve(schema["allOf"][0], root), **merged}, root)
    if alternatives is None:
        return [schema]
    outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
    return [b for alt in alternatives for b in _branches({**outer, **alt}, root)]


def _types(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = _allowed_values(schema)
    if values is not None:
        return {_json_type(v) for v in values}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return set(_JSON_TYPES)  # no type keyword: anything goes


def _covers(types: set[str], json_type: str) -> bool:
    return json_type in types or (json_type == "integer" and "number" in types)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _allowed_values(schema: Schema) -> list | None:
    if "const" in schema:
        return [schema["const"]]
    return schema.get("enum")


def _enum_problems(old: Schema, new: Schema, path: str) -> list[str]:
    new_values = _allowed_values(new)
    if new_values is None:
        return []
    old_values = _allowed_values(old)
    if old_values is None:
        return [f"{path}: enum narrowed, now only {new_values}"]
    lost = [v for v in old_values if v not in new_values]
    return [f"{path}: enum narrowed, {lost} no longer accepted"] if lost else []


def _constraint_problems(old: Schema, new: Schema, path: str) -> list[str]:
    problems = []
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{path}: {keyword} tightened to {new[keyword]}")
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{path}: {keyword} tightened to {new[keyword]}")
    problems += _range_problems(old, new, path, "minimum", "exclusiveMinimum", 1)
    problems += _range_problems(old, new, path, "maximum", "exclusiveMaximum", -1)
    for keyword in _EXACT:
        if keyword in new and new[keyword] != old.get(keyword) and new[keyword] is not False:
            problems.append(f"{path}: {keyword} changed to {new[keyword]!r}")
    return problems


def _range_problems(
    old: Schema, new: Schema, path: str, inclusive: str, exclusive: str, sign: int
) -> list[str]:
    """Numeric bounds, where `minimum` and `exclusiveMinimum` together make one bound."""
    new_bound = _numeric_bound(new, inclusive, exclusive, sign)
    if new_bound is None:
        return []
    old_bound = _numeric_bound(old, inclusive, exclusive, sign)
    if old_bound is None or new_bound > old_bound:
        value = new.get(exclusive, new.get(inclusive))
        return [f"{path}: {exclusive if new_bound[1] else inclusive} tightened to {value}"]
    return []


def _numeric_bound(schema: Schema, inclusive: str, exclusive: str, sign: int) -> tuple | None:
    """The bound as (strictness, exclusive): greater means it rejects more values."""
    bounds = []
    if inclusive in schema:
        bounds.append((sign * schema[inclusive], False))
    if exclusive in schema:
        bounds.append((sign * schema[exclusive], True))
    return max(bounds) if bounds else None
