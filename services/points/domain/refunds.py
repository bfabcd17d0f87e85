"""How many points a refund takes back.

Proportional and cumulative: after refunds totalling R of a purchase of spend S that earned
E points, floor(E * min(R, S) / S) points are reversed in all. Each refund reverses the
difference from what earlier refunds reversed, so however a refund is split the total is
the same, and it never exceeds E (a refund above the spend counts as the whole spend).
"""

from __future__ import annotations

import math
from decimal import Decimal


def points_to_reverse(earned: int, spend: Decimal, refunded_before: Decimal,
                      reversed_before: int, amount: Decimal) -> int:
    if spend <= 0 or earned <= 0:
        return 0
    refunded = min(refunded_before + amount, spend)
    due = math.floor(earned * refunded / spend)
    return max(0, due - reversed_before)
