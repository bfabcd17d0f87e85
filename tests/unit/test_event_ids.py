"""`event_id`, the one deterministic-id scheme, spells uuid5 out for speed: it must give
exactly the ids `uuid.uuid5` gives (ids already published must come out the same)."""

import uuid

import pytest

from runtime.unit_of_work import event_id


@pytest.mark.parametrize("source", ["urn:loyalty:points", "urn:loyalty:rewards", "x"])
@pytest.mark.parametrize("key", [("tx-1",), ("e3b0c442-98fc:points.earned", 0),
                                 ("C6154351371", "2026-11", 3), ("é漢字", None, 1.5)])
def test_the_ids_are_uuid5_of_the_key_in_the_source_namespace(source, key):
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, source)
    expected = uuid.uuid5(namespace, ":".join(map(str, key)))
    assert event_id(source, *key) == str(expected)
    assert uuid.UUID(event_id(source, *key)).version == 5
