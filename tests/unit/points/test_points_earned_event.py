"""points.earned as the hot path builds it must be exactly what the validated contract would
accept and publish, for any purchase the rules can see."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import encode
from contracts.points.v1 import PointsEarned
from contracts.tiers import TIERS
from services.points.domain.earning import Purchase, earn
from services.points.handlers.card_transactions import points_earned

MCCS = ["5411", "5812", "7011", "4511", "6011", "6051", "5999", "8220", "9311", "5541"]
#: pydantic warns when it serialises a value of the wrong type: here that is a failure.
pytestmark = pytest.mark.filterwarnings("error")


@settings(max_examples=300, deadline=None)
@given(mcc=st.sampled_from(MCCS), tier=st.sampled_from(TIERS),
       cents=st.integers(min_value=1, max_value=10_000_000),
       used=st.integers(min_value=0, max_value=30_000),
       seconds=st.integers(min_value=0, max_value=3 * 365 * 86400),
       closed=st.booleans())
def test_the_hot_path_event_equals_the_validated_one(rules, mcc, tier, cents, used, seconds,
                                                         closed):
    purchase = Purchase(transaction_id="T42", member_id="C0000000042", mcc=mcc,
                        spend_cny=Decimal(cents) / 100,
                        posted_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds))
    event = points_earned(purchase, earn(purchase, tier, used, rules, member_closed=closed))
    published = encode(event, source="urn:loyalty:points", id="e1").value
    validated = PointsEarned.model_validate_json(published)
    assert validated == PointsEarned.model_validate(event.model_dump())
    assert encode(validated, source="urn:loyalty:points", id="e1").value == published
