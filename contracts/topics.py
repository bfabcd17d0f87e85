"""Topic names: one topic per producer stream and major version, keyed by member id."""

CUSTOMERS_V1 = "corebanking.customers.v1"
ASSET_SNAPSHOTS_V1 = "corebanking.asset-snapshots.v1"
CARD_TRANSACTIONS_V1 = "corebanking.card-transactions.v1"

POINTS_V1 = "loyalty.points.v1"
MEMBERS_V1 = "loyalty.members.v1"
#: Contact data (PII): read by notifications only. Compacted; an erasure ends in a tombstone.
MEMBER_CONTACTS_V1 = "loyalty.member-contacts.v1"
REWARDS_V1 = "loyalty.rewards.v1"
NOTIFICATIONS_V1 = "loyalty.notifications.v1"
#: Calls suggested to relationship managers (analytics).
ANALYTICS_V1 = "loyalty.analytics.v1"


#: The topics whose records hold personal data (names, phone numbers, openids, birth dates;
#: docs/personal-data.md). The others name members only by id.
PERSONAL_DATA = frozenset({CUSTOMERS_V1, MEMBER_CONTACTS_V1})
_DLQ = ".dlq."


def dead_letter_topic(topic: str, group: str) -> str:
    """Where a consumer group parks records of `topic` that can never succeed."""
    return f"{topic}{_DLQ}{group}"


def dead_letter_parent(topic: str) -> str | None:
    """The topic whose dead letters `topic` holds; None if it holds none."""
    parent, found, _ = topic.partition(_DLQ)
    return parent if found else None
