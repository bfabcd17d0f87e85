"""Staff changes to campaigns, decided (domain/campaigns.py): nothing a change does alters
what a purchase already posted earned."""

from datetime import datetime, timedelta

import pytest

from services.points.domain import campaigns
from services.points.domain.campaigns import Refused
from services.points.domain.rules import Campaign, parse_rules
from tests.unit.points.purchases import SHANGHAI

NOW = datetime(2026, 11, 1, 12, tzinfo=SHANGHAI)
HOUR = timedelta(hours=1)
RUNNING = {"id": "running", "starts_at": NOW - 24 * HOUR, "ends_at": NOW + 24 * HOUR,
           "multiplier": "2"}
SCHEDULED = {"id": "scheduled", "starts_at": NOW + 24 * HOUR, "ends_at": NOW + 48 * HOUR,
             "multiplier": "2"}
OVER = {"id": "over", "starts_at": NOW - 48 * HOUR, "ends_at": NOW - 24 * HOUR,
        "multiplier": "2"}
OFF = {**RUNNING, "id": "off", "enabled": False}


@pytest.fixture
def rules(programme):
    programme["campaigns"] = [RUNNING, SCHEDULED, OVER, OFF]
    return parse_rules(programme)


@pytest.mark.parametrize("data, status, code", [
    ({"id": "new", "ends_at": NOW + HOUR, "multiplier": "2"}, None, None),  # starts now
    ({**SCHEDULED, "id": "later"}, None, None),
    ({**SCHEDULED, "id": "backdated", "starts_at": NOW - HOUR}, 422, "invalid_campaign"),
    ({**OFF, "id": "backdated-off"}, None, None),  # switched off: it never applies
    ({**SCHEDULED, "id": "running"}, 409, "campaign_exists"),
    ({**SCHEDULED, "id": "fine", "multiplier": "1.00001"}, 422, "invalid_campaign"),
    ({**SCHEDULED, "id": "wide", "multiplier": "11"}, 422, "invalid_campaign"),  # > 10
    ({**SCHEDULED, "id": "fine-too", "multiplier": "1.001"}, 422, "invalid_campaign"),
    ({**SCHEDULED, "id": "dining-x2"}, 422, "invalid_campaign"),  # a category's id
])
def test_add(rules, data, status, code):
    if status is None:
        change = campaigns.add(rules, data, NOW)
        assert change.action == "added" and change.before is None
        assert change.after.starts_at == data.get("starts_at", NOW)
        assert change.after in change.rules.campaigns
        return
    with pytest.raises(Refused) as refused:
        campaigns.add(rules, data, NOW)
    assert (refused.value.status, refused.value.code) == (status, code)


@pytest.mark.parametrize("campaign_id, updates, status, code", [
    ("running", {"ends_at": NOW + 72 * HOUR}, None, None),
    ("running", {"ends_at": NOW}, None, None),
    ("running", {"ends_at": NOW - HOUR}, 422, "invalid_campaign"),
    ("running", {"multiplier": "3"}, 409, "campaign_started"),
    ("running", {"mccs": ["5812"]}, 409, "campaign_started"),
    ("running", {"enabled": False}, 409, "campaign_started"),
    ("running", {"starts_at": NOW + HOUR}, 409, "campaign_started"),
    ("running", {"id": "renamed"}, 422, "invalid_campaign"),
    ("over", {"ends_at": NOW + HOUR}, 409, "campaign_over"),
    ("scheduled", {"multiplier": "3", "weekdays": [6, 7], "channels": ["card"]}, None, None),
    ("scheduled", {"starts_at": NOW - HOUR}, 422, "invalid_campaign"),
    ("scheduled", {"ends_at": NOW + HOUR}, 422, "invalid_campaign"),  # before its start
    ("off", {"enabled": True}, 422, "invalid_campaign"),  # would apply to the past
    ("off", {"enabled": True, "starts_at": NOW + HOUR}, None, None),
    ("nope", {"multiplier": "3"}, 404, "unknown_campaign"),
])
def test_change(rules, campaign_id, updates, status, code):
    if status is None:
        change = campaigns.change(rules, campaign_id, updates, NOW)
        assert change.before.id == change.after.id == campaign_id
        assert change.after == Campaign.model_validate({**change.before.model_dump(),
                                                       **updates})
        return
    with pytest.raises(Refused) as refused:
        campaigns.change(rules, campaign_id, updates, NOW)
    assert (refused.value.status, refused.value.code) == (status, code)


@pytest.mark.parametrize("campaign_id, ends_at, enabled, status", [
    ("running", NOW, True, "ended"),            # ends now: what it earned stays
    ("scheduled", NOW + 48 * HOUR, False, "off"),  # never ran: switched off
])
def test_end(rules, campaign_id, ends_at, enabled, status):
    change = campaigns.end(rules, campaign_id, NOW)
    assert (change.after.ends_at, change.after.enabled) == (ends_at, enabled)
    assert campaigns.status(change.after, NOW) == status
    assert change.after.starts_at == change.before.starts_at


@pytest.mark.parametrize("campaign_id", ["over", "off"])
def test_what_is_not_running_cannot_end(rules, campaign_id):
    with pytest.raises(Refused) as refused:
        campaigns.end(rules, campaign_id, NOW)
    assert (refused.value.status, refused.value.code) == (409, "campaign_over")


def test_only_campaigns_in_force_together_must_fit_the_event(programme):
    """Campaigns ended long ago stay stored: they must not block new ones."""
    def month(n: int, multiplier: str = "2") -> dict:
        return {"id": f"month-{n}", "starts_at": NOW + n * 30 * 24 * HOUR,
                "ends_at": NOW + (n + 1) * 30 * 24 * HOUR, "multiplier": multiplier}
    programme["campaigns"] = [month(n) for n in range(12)]
    parse_rules(programme)  # 2^12 in all, never more than x2 at once
    programme["campaigns"] = [{**month(0), "id": f"same-{n}"} for n in range(7)]
    parse_rules(programme)  # travel x3, private banking x2.0, 2^7: 768
    programme["campaigns"].append({**month(0), "id": "same-7"})
    with pytest.raises(ValueError, match=">= 1000"):
        parse_rules(programme)  # 1536
