"""The registry: one model per ce_type, each on the topic it claims."""

from contracts import topics
from contracts.base import Event
from contracts.registry import EVENT_TYPES, models_on


def test_keys_are_the_models_ce_types() -> None:
    for ce_type, model in EVENT_TYPES.items():
        assert issubclass(model, Event) and model.ce_type == ce_type


def test_models_on_partitions_the_registry_by_topic() -> None:
    by_topic = [
        models_on(t)
        for t in (
            topics.CUSTOMERS_V1,
            topics.ASSET_SNAPSHOTS_V1,
            topics.CARD_TRANSACTIONS_V1,
            topics.POINTS_V1,
            topics.MEMBERS_V1,
            topics.MEMBER_CONTACTS_V1,
            topics.REWARDS_V1,
            topics.NOTIFICATIONS_V1,
            topics.ANALYTICS_V1,
        )
    ]
    assert [len(m) for m in by_topic] == [3, 1, 2, 12, 4, 2, 12, 4, 1]
    merged = {k: v for models in by_topic for k, v in models.items()}
    assert merged == EVENT_TYPES
    assert models_on("no.such.topic") == {}


def test_subject_field_is_a_declared_field() -> None:
    for model in EVENT_TYPES.values():
        assert model.subject_field in model.model_fields
