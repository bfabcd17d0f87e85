"""Committed schema snapshots: no drift, and a history of compatible revisions only."""

import json
from typing import ClassVar

import pytest
from pydantic import BaseModel, Field

from contracts import snapshot
from contracts.base import Event
from contracts.compat import incompatibilities
from contracts.registry import EVENT_TYPES

TYPES = sorted(EVENT_TYPES)


@pytest.mark.parametrize("ce_type", TYPES)
def test_schema_matches_latest_snapshot(ce_type: str) -> None:
    history = snapshot.revisions(ce_type)
    assert history, f"{ce_type} has no snapshot; run `{snapshot.REGENERATE}`"
    number, latest = history[-1]
    assert snapshot.current_schema(EVENT_TYPES[ce_type]) == latest, (
        f"{ce_type} drifted from revision {number}; run `{snapshot.REGENERATE}` "
        "(it refuses incompatible changes) and commit the new revision"
    )


@pytest.mark.parametrize("ce_type", TYPES)
def test_revisions_are_numbered_without_gaps(ce_type: str) -> None:
    numbers = [number for number, _ in snapshot.revisions(ce_type)]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("ce_type", TYPES)
def test_each_revision_is_compatible_with_the_previous(ce_type: str) -> None:
    history = snapshot.revisions(ce_type)
    for (old_n, old), (new_n, new) in zip(history, history[1:], strict=False):
        problems = incompatibilities(old, new)
        assert not problems, f"{ce_type} revision {new_n} breaks revision {old_n}: {problems}"


def test_every_snapshot_folder_belongs_to_a_model() -> None:
    folders = {p.name for p in snapshot.SCHEMAS_DIR.iterdir() if p.is_dir()}
    assert folders - EVENT_TYPES.keys() == set()


def test_snapshot_files_are_rendered_canonically() -> None:
    for ce_type in TYPES:
        for path in (snapshot.SCHEMAS_DIR / ce_type).glob("*.json"):
            text = path.read_text(encoding="utf-8")
            assert text == snapshot.render(json.loads(text)), f"{path} is not canonical"


# The CLI against a scratch folder and a one-model registry.


class _V1(Event):
    ce_type: ClassVar[str] = "test.thing.happened"
    topic: ClassVar[str] = "test.things.v1"
    thing_id: str


class _V2Compatible(_V1):
    note: str | None = None


class _V3Breaking(_V2Compatible):
    thing_id: str = Field(max_length=8)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "SCHEMAS_DIR", tmp_path)

    def use(model: type[BaseModel]) -> None:
        monkeypatch.setattr(snapshot, "EVENT_TYPES", {"test.thing.happened": model})

    return tmp_path / "test.thing.happened", use


def test_write_appends_only_when_changed_and_refuses_breaking(scratch, capsys) -> None:
    folder, use = scratch
    use(_V1)
    assert snapshot.main([]) == 1, "a missing snapshot must fail the check"
    assert snapshot.main(["--write"]) == 0
    assert snapshot.main(["--write"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["1.json"]

    use(_V2Compatible)
    assert snapshot.main([]) == 1, "a changed schema must fail the check"
    assert snapshot.main(["--write"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["1.json", "2.json"]
    assert snapshot.main([]) == 0

    use(_V3Breaking)
    capsys.readouterr()
    assert snapshot.main(["--write"]) == 1
    assert "REFUSED" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["1.json", "2.json"]
