"""The simulator's payment channels: a share of domestic purchases paid through a
third-party payment institution, never cash or the like; the rest by card."""

import json
from collections import Counter
from datetime import datetime

from contracts.envelope import Envelope
from simulator.batch import generate_batch
from simulator.merchants import CATEGORIES
from simulator.spending import SHANGHAI, SpendingProfile

POSTED = "corebanking.card-transaction.posted"
NOT_REFUNDABLE = {mcc for c in CATEGORIES if not c.refundable for mcc, _ in c.brands}


def _posted(profile: SpendingProfile | None = None) -> list[dict]:
    batch = generate_batch(6_000, 500, seed=11, start=datetime(2026, 3, 1, tzinfo=SHANGHAI),
                           profile=profile)
    return [json.loads(r.value) for r in batch.transactions
            if Envelope.from_headers(r.headers).type == POSTED]


def test_a_share_of_purchases_goes_through_third_party_payment() -> None:
    posted = _posted()
    channels = Counter(p["channel"] for p in posted)
    assert set(channels) == {"card", "alipay", "wechat_pay"}
    third_party = (channels["alipay"] + channels["wechat_pay"]) / len(posted)
    assert 0.2 < third_party < 0.35, third_party  # 0.3 of the refundable, domestic ones
    assert channels["alipay"] > channels["wechat_pay"]
    for p in posted:
        if p["merchant"]["mcc"] in NOT_REFUNDABLE or p["merchant"]["country"] != "CN":
            assert p["channel"] == "card", p


def test_the_share_is_configurable() -> None:
    posted = _posted(SpendingProfile(third_party_rate=0.0))
    assert {p["channel"] for p in posted} == {"card"}
