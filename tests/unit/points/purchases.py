"""Building purchases for the rule tables."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.points.domain.earning import Purchase

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A Tuesday, mid-month: no weekend, no month or year boundary nearby.
TUESDAY = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)


def purchase(mcc: str = "5411", spend: str = "100.00", at: datetime = TUESDAY) -> Purchase:
    return Purchase(transaction_id="T1", member_id="C0000000001", mcc=mcc,
                    spend_cny=Decimal(spend), posted_at=at)
