"""The committed AsyncAPI documents are what the code generates, and say what each service
consumes and publishes."""

import json
import os

import pytest

from contracts.registry import models_on
from tools.asyncapi import OUT, SERVICES, document


@pytest.mark.parametrize("name", SERVICES)
def test_committed_document_is_current(name):
    committed = OUT / f"{name}.json"
    assert committed.exists(), "run python -m tools.asyncapi"
    assert committed.read_text() == document(name), "stale: run python -m tools.asyncapi"


@pytest.mark.parametrize("name", SERVICES)
def test_every_published_event_type_is_documented(name):
    spec = json.loads((OUT / f"{name}.json").read_text())
    published = {c["address"] for key, c in spec["channels"].items()
                 if spec["operations"][key]["action"] == "send"}
    assert published, "a service publishes at least one topic"
    schemas = spec["components"]["schemas"]
    for topic in published:
        for model in models_on(topic).values():
            assert model.__name__ in schemas, f"{model.__name__} on {topic}"


def test_generating_leaves_the_environment_as_it_was():
    before = dict(os.environ)
    document("points")
    assert dict(os.environ) == before
