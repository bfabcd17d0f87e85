"""The producer's view of a schema: no field the contract does not declare.

Consumers ignore unknown fields, so the models accept them; a producer must not rely on
that. Tests validate what a producer emits against `closed_schema(...)` of the model.
"""

from typing import Any

# Keywords whose value maps names to schemas (a field may be called "properties").
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


def closed_schema(schema: Any) -> Any:
    """A copy of a JSON Schema where every object with declared properties allows no others."""
    if isinstance(schema, list):
        return [closed_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {
        key: (
            {name: closed_schema(sub) for name, sub in value.items()}
            if key in _SCHEMA_MAPS and isinstance(value, dict)
            else closed_schema(value)
        )
        for key, value in schema.items()
    }
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed
