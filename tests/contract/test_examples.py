"""Golden examples: valid for their model, nothing the model does not declare."""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts import snapshot
from contracts.registry import EVENT_TYPES
from contracts.strict import closed_schema

EXAMPLES_DIR = Path(snapshot.__file__).parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*/*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _producer_errors(ce_type: str, payload: Any) -> list[str]:
    """Validation errors against the latest snapshot, closed to undeclared fields."""
    _, schema = snapshot.revisions(ce_type)[-1]
    validator = Draft202012Validator(
        closed_schema(schema), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]


def _example_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("ce_type", sorted(EVENT_TYPES))
def test_every_model_has_two_examples(ce_type: str) -> None:
    assert len(list((EXAMPLES_DIR / ce_type).glob("*.json"))) >= 2


def test_every_example_folder_names_a_model() -> None:
    assert {p.parent.name for p in EXAMPLES} - EVENT_TYPES.keys() == set()


@pytest.mark.parametrize("path", EXAMPLES, ids=_example_id)
def test_example_validates_with_its_model(path: Path) -> None:
    model = EVENT_TYPES[path.parent.name]
    event = model.model_validate_json(path.read_bytes())
    # What the model would publish is what the example says.
    republished = json.loads(event.model_dump_json(exclude_none=True))
    assert _producer_errors(path.parent.name, republished) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=_example_id)
def test_example_has_only_declared_fields(path: Path) -> None:
    assert _producer_errors(path.parent.name, _load(path)) == []


def test_closed_schema_catches_an_undeclared_nested_field() -> None:
    path = EXAMPLES_DIR / "corebanking.card-transaction.posted" / "supermarket.json"
    payload = _load(path)
    payload["merchant"]["terminal_id"] = "T-0001"
    assert any("terminal_id" in error for error in _producer_errors(path.parent.name, payload))


def _with_unknown_fields(value: Any) -> Any:
    """The payload with an extra field in every object, as a newer producer might send."""
    if isinstance(value, dict):
        return {**{k: _with_unknown_fields(v) for k, v in value.items()}, "added_later": 1}
    if isinstance(value, list):
        return [_with_unknown_fields(v) for v in value]
    return value


@pytest.mark.parametrize("path", EXAMPLES, ids=_example_id)
def test_consumers_ignore_unknown_fields(path: Path) -> None:
    model = EVENT_TYPES[path.parent.name]
    payload = _load(path)
    expected = model.model_validate(payload)
    assert model.model_validate(_with_unknown_fields(payload)) == expected


@pytest.mark.parametrize(
    ("ce_type", "field", "bad"),
    [
        ("corebanking.card-transaction.posted", "settlement_amount", "0.00"),
        ("corebanking.card-transaction.posted", "settlement_amount", "-12.00"),
        ("corebanking.card-transaction.posted", "settlement_amount", "12.345"),
        ("corebanking.card-transaction.posted", "settlement_amount", "NaN"),
        ("corebanking.card-transaction.posted", "card_token", "6222021234567890123"),
        ("corebanking.card-transaction.posted", "posted_at", "2025-06-12T19:42:18"),
        ("corebanking.customer.onboarded", "mobile", "13812345678"),
        ("corebanking.customer.onboarded", "customer_id", "C123"),
        ("corebanking.customer.onboarded", "wechat_openid", "not-an-openid"),
        ("corebanking.asset-snapshot.taken", "month", "2025-13"),
        ("corebanking.asset-snapshot.taken", "average_daily_assets", "-1.00"),
        ("points.earned", "points", -1),
        ("points.debited", "points", 0),
    ],
)
def test_impossible_values_are_rejected(ce_type: str, field: str, bad: Any) -> None:
    path = sorted((EXAMPLES_DIR / ce_type).glob("*.json"))[0]
    payload = {**_load(path), field: bad}
    with pytest.raises(ValueError):
        EVENT_TYPES[ce_type].model_validate(payload)
