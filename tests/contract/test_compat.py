"""The compatibility checker on small model pairs, one kind of change at a time."""

from decimal import Decimal
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from contracts.compat import incompatibilities


def _problems(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    return incompatibilities(
        old.model_json_schema(mode="validation"), new.model_json_schema(mode="validation")
    )


class Base(BaseModel):
    member_id: str
    points: int
    channel: Literal["sms", "wechat"]
    note: str | None = None


def test_identical_schemas_are_compatible() -> None:
    assert _problems(Base, Base) == []


def test_adding_an_optional_field_is_compatible() -> None:
    class New(Base):
        campaign_id: str | None = None
        tags: list[str] = Field(default_factory=list)

    assert _problems(Base, New) == []


def test_widening_is_compatible() -> None:
    class New(BaseModel):
        member_id: str | None  # now also null: accepts more
        points: float  # integer widened to number
        channel: Literal["sms", "wechat", "email"]
        note: str | int | None = None

    assert _problems(Base, New) == []


def test_removed_field() -> None:
    class New(BaseModel):
        member_id: str
        channel: Literal["sms", "wechat"]
        note: str | None = None

    assert _problems(Base, New) == ["$.points: property removed (or renamed)"]


def test_renamed_field() -> None:
    class New(BaseModel):
        member_id: str
        points_earned: int
        channel: Literal["sms", "wechat"]
        note: str | None = None

    problems = _problems(Base, New)
    assert "$.points: property removed (or renamed)" in problems
    assert "$.points_earned: new required property" in problems


def test_new_required_field() -> None:
    class New(Base):
        campaign_id: str

    assert _problems(Base, New) == ["$.campaign_id: new required property"]


def test_field_newly_required() -> None:
    class New(Base):
        note: str | None

    assert _problems(Base, New) == ["$.note: property newly required"]


def test_optional_made_non_nullable() -> None:
    class New(Base):
        note: str = ""

    assert _problems(Base, New) == ["$.note: type narrowed, null no longer accepted"]


def test_narrowed_type() -> None:
    class Old(BaseModel):
        amount: float

    class New(BaseModel):
        amount: int

    assert _problems(Old, New) == ["$.amount: type narrowed, number no longer accepted"]


def test_changed_type() -> None:
    class New(Base):
        points: str

    assert _problems(Base, New) == ["$.points: type narrowed, integer no longer accepted"]


def test_narrowed_enum() -> None:
    class New(Base):
        channel: Literal["sms"]

    problems = _problems(Base, New)
    assert len(problems) == 1 and "enum narrowed" in problems[0] and "wechat" in problems[0]


def test_enum_introduced_on_free_string() -> None:
    class New(Base):
        member_id: Literal["C0000000001"]

    assert any(p.startswith("$.member_id: enum narrowed") for p in _problems(Base, New))


@pytest.mark.parametrize(
    ("old_field", "new_field", "expected"),
    [
        (Field(), Field(max_length=10), "maxLength tightened"),
        (Field(max_length=10), Field(max_length=8), "maxLength tightened"),
        (Field(), Field(min_length=1), "minLength tightened"),
        (Field(), Field(pattern=r"^C[0-9]{10}$"), "pattern changed"),
        (Field(pattern=r"^C"), Field(pattern=r"^C[0-9]{10}$"), "pattern changed"),
    ],
)
def test_tightened_string_constraint(old_field, new_field, expected) -> None:
    class Old(BaseModel):
        member_id: str = old_field

    class New(BaseModel):
        member_id: str = new_field

    problems = _problems(Old, New)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    ("old_field", "new_field", "compatible"),
    [
        (Field(), Field(ge=0), False),
        (Field(ge=0), Field(gt=0), False),
        (Field(gt=0), Field(ge=0), True),
        (Field(ge=0), Field(ge=-5), True),
        (Field(le=100), Field(le=50), False),
        (Field(le=100), Field(lt=100), False),
        (Field(lt=100), Field(le=1000), True),
    ],
)
def test_numeric_bounds(old_field, new_field, compatible) -> None:
    class Old(BaseModel):
        points: int = old_field

    class New(BaseModel):
        points: int = new_field

    assert (_problems(Old, New) == []) is compatible


def test_loosened_constraint_is_compatible() -> None:
    class Old(BaseModel):
        name: str = Field(min_length=2, max_length=8)

    class New(BaseModel):
        name: str = Field(min_length=1, max_length=32)

    assert _problems(Old, New) == []


def test_array_constraints_and_items() -> None:
    class Old(BaseModel):
        rule_ids: list[str]

    class Tighter(BaseModel):
        rule_ids: list[str] = Field(max_length=3)

    class OtherItems(BaseModel):
        rule_ids: list[int]

    assert any("maxItems" in p for p in _problems(Old, Tighter))
    assert _problems(Old, OtherItems) == ["$.rule_ids[]: type narrowed, string no longer accepted"]


class Merchant(BaseModel):
    mcc: str
    city: str


class MerchantV2(BaseModel):
    mcc: str = Field(pattern=r"^[0-9]{4}$")
    country: str


class Txn(BaseModel):
    merchant: Merchant
    previous: list[Merchant] = Field(default_factory=list)
    amount: Decimal


def test_nested_changes_through_refs_and_arrays() -> None:
    class TxnV2(BaseModel):
        merchant: MerchantV2
        previous: list[MerchantV2] = Field(default_factory=list)
        amount: Decimal

    problems = set(_problems(Txn, TxnV2))
    assert {
        "$.merchant.city: property removed (or renamed)",
        "$.merchant.country: new required property",
        "$.previous[].city: property removed (or renamed)",
        "$.previous[].country: new required property",
    } <= problems
    assert any(p.startswith("$.merchant.mcc: pattern changed") for p in problems)


def test_nested_optional_field_added_is_compatible() -> None:
    class MerchantPlus(Merchant):
        terminal_id: str | None = None

    class TxnV2(BaseModel):
        merchant: MerchantPlus | None = None
        previous: list[MerchantPlus] = Field(default_factory=list)
        amount: Decimal

    assert _problems(Txn, TxnV2) == []


def test_nested_model_made_optional_then_required_again() -> None:
    class Loose(BaseModel):
        merchant: Merchant | None = None
        amount: Decimal

    assert set(_problems(Loose, Txn)) == {
        "$.merchant: type narrowed, null no longer accepted",
        "$.merchant: property newly required",
    }


def test_additional_properties_forbidden() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {**old, "additionalProperties": False}
    assert incompatibilities(old, new) == ["$: additional properties no longer accepted"]


def test_recursive_schema_terminates() -> None:
    class Node(BaseModel):
        name: str
        children: list["Node"] = Field(default_factory=list)

    class NodeV2(BaseModel):
        name: str = Field(max_length=5)
        children: list["NodeV2"] = Field(default_factory=list)

    assert _problems(Node, Node) == []
    assert any("maxLength" in p for p in _problems(Node, NodeV2))
