"""Every event model by its CloudEvents type, for decoders, snapshots and documentation."""

from .accounts import v1 as accounts_v1
from .analytics import v1 as analytics_v1
from .base import Event
from .corebanking import v1 as corebanking_v1
from .notifications import v1 as notifications_v1
from .points import v1 as points_v1
from .rewards import v1 as rewards_v1

_MODELS: tuple[type[Event], ...] = (
    corebanking_v1.CustomerOnboarded,
    corebanking_v1.CustomerUpdated,
    corebanking_v1.CustomerClosed,
    corebanking_v1.AssetSnapshotTaken,
    corebanking_v1.CardTransactionPosted,
    corebanking_v1.CardTransactionRefunded,
    points_v1.PointsEarned,
    points_v1.PointsReversed,
    points_v1.PointsRerated,
    points_v1.PointsDebited,
    points_v1.PointsDebitRejected,
    points_v1.PointsRefunded,
    points_v1.PointsExpired,
    points_v1.PointsExpiringSoon,
    points_v1.PointsForfeited,
    points_v1.PointsForfeitureReturned,
    points_v1.PointsGoodwillAwarded,
    points_v1.PointsSpendingProfiled,
    accounts_v1.MemberEnrolled,
    accounts_v1.MemberUpdated,
    accounts_v1.MemberClosed,
    accounts_v1.MemberTierChanged,
    accounts_v1.MemberContactChanged,
    accounts_v1.MemberContactErased,
    rewards_v1.RedemptionRequested,
    rewards_v1.RedemptionConfirmed,
    rewards_v1.RedemptionRejected,
    rewards_v1.RedemptionCancelled,
    rewards_v1.RedemptionRefundRequested,
    rewards_v1.CatalogueEntryChanged,
    rewards_v1.SalonChanged,
    rewards_v1.SalonInvited,
    rewards_v1.SalonRsvpChanged,
    rewards_v1.SalonReminderDue,
    rewards_v1.SalonAttended,
    rewards_v1.OffersRecommended,
    notifications_v1.NotificationSent,
    notifications_v1.NotificationDelivered,
    notifications_v1.NotificationFailed,
    notifications_v1.NotificationOptOutReceived,
    analytics_v1.CallSuggested,
)

EVENT_TYPES: dict[str, type[Event]] = {model.ce_type: model for model in _MODELS}
# A ce_type names exactly one model: decoders dispatch on it.
assert len(EVENT_TYPES) == len(_MODELS), "duplicate ce_type in contracts"


def models_on(topic: str) -> dict[str, type[Event]]:
    """The models published on `topic`, by ce_type (what a consumer of it must decode)."""
    return {ce_type: m for ce_type, m in EVENT_TYPES.items() if m.topic == topic}
