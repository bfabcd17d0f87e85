"""Topic names: one topic per producer stream and major version, keyed by member id."""

CUSTOMERS_V1 = "corebanking.customers.v1"
ASSET_SNAPSHOTS_V1 = "corebanking.asset-snapshots.v1"
CARD_TRANSACTIONS_V1 = "corebanking.card-transactions.v1"

POINTS_V1 = "loyalty.points.v1"
MEMBERS_V1 = "loyalty.members.v1"
#: Contact data (PII): read by notifications only.
MEMBER_CONTACTS_V1 = "loyalty.member-contacts.v1"
REWARDS_V1 = "loyalty.rewards.v1"
NOTIFICATIONS_V1 = "loyalty.notifications.v1"


def dead_letter_topic(topic: str, group: str) -> str:
    """Where a consumer group parks records of `topic` that can never succeed."""
    return f"{topic}.dlq.{group}"
