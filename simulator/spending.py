"""Card spend: purchases over a weighted MCC mix, the channel each was paid through (the
card itself, or a third-party payment institution it is bound to), refunds, and the
delivery faults of a real feed (refunds that overtake their purchase, duplicate
deliveries). Pure: all draws come from the `rng` given.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import accumulate

from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded, Merchant
from contracts.envelope import EncodedEvent

from .encoding import to_record
from .merchants import CATEGORIES, DESTINATION_WEIGHTS, DESTINATIONS, TRAVEL_CITIES, Category
from .population import HOME_CITIES, Customer

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_TICKET_CNY = 500_000.0
_CATEGORY_CUM = tuple(accumulate(c.weight for c in CATEGORIES))
_DESTINATION_CUM = tuple(accumulate(DESTINATION_WEIGHTS))
_CATEGORY_BY_MCC = {mcc: c for c in CATEGORIES for mcc, _ in c.brands}
_CITIES = HOME_CITIES + TRAVEL_CITIES


@dataclass(frozen=True, slots=True)
class SpendingProfile:
    refund_rate: float = 0.03  # of refundable purchases
    partial_refund_share: float = 1 / 3  # of refunds
    early_refund_rate: float = 0.005  # of refunds: delivered before their purchase
    duplicate_rate: float = 0.01  # of card records: delivered twice, same ce_id
    abroad_rate: float = 0.03  # of purchases
    # Of domestic purchases at refundable merchants (not cash, transfers, taxes...): paid
    # through a third-party payment institution the card is bound to, by their shares.
    third_party_rate: float = 0.3
    third_party_shares: tuple[tuple[str, float], ...] = (("alipay", 0.55), ("wechat_pay", 0.45))
    home_city_rate: float = 0.85  # of domestic in-store purchases
    refund_delay_s: tuple[float, float] = (300.0, 6 * 3600.0)


class CardSpending:
    """Draws purchases and refunds; keeps the merchant directory stable for one seed."""

    def __init__(self, rng: random.Random, profile: SpendingProfile | None = None) -> None:
        self.rng = rng
        self.profile = profile or SpendingProfile()
        self._domestic = {
            (ci, bi, city): _merchant(rng, c, mcc, brand, city, "CN")
            for ci, c in enumerate(CATEGORIES)
            for bi, (mcc, brand) in enumerate(c.brands)
            for city in ((c.online,) if c.online else _CITIES)
        }
        self._abroad = [
            [_merchant(rng, None, mcc, name, d.city, d.country) for mcc, name in d.merchants]
            for d in DESTINATIONS
        ]

    def purchase(
        self, customer: Customer, at: datetime, transaction_id: str
    ) -> tuple[CardTransactionPosted, Category]:
        rng = self.rng
        channel = "card"
        if rng.random() < self.profile.abroad_rate:
            di = _pick(rng, _DESTINATION_CUM)
            destination = DESTINATIONS[di]
            mi = rng.randrange(len(destination.merchants))
            merchant = self._abroad[di][mi]
            category = _CATEGORY_BY_MCC[merchant.mcc]
            cny = _ticket(rng, category, customer)
            local = float(cny) / destination.cny_per_unit
            quantum = 10**-destination.minor_digits
            amount = Decimal(f"{max(local, quantum):.{destination.minor_digits}f}")
            currency = destination.currency
        else:
            ci = _pick(rng, _CATEGORY_CUM)
            category = CATEGORIES[ci]
            bi = rng.randrange(len(category.brands))
            city = category.online or (
                customer.home_city
                if rng.random() < self.profile.home_city_rate
                else rng.choice(_CITIES)
            )
            merchant = self._domestic[ci, bi, city]
            amount = cny = _ticket(rng, category, customer)
            currency = "CNY"
            if category.refundable and rng.random() < self.profile.third_party_rate:
                names, shares = zip(*self.profile.third_party_shares, strict=True)
                channel = rng.choices(names, shares)[0]
        event = CardTransactionPosted.model_construct(
            transaction_id=transaction_id,
            customer_id=customer.customer_id,
            card_token=rng.choice(customer.card_tokens),
            merchant=merchant,
            transaction_amount=amount,
            transaction_currency=currency,
            settlement_amount=cny,
            settlement_currency="CNY",
            posted_at=at,
            channel=channel,
        )
        return event, category

    def refund(
        self, purchase: CardTransactionPosted, at: datetime, refund_id: str
    ) -> CardTransactionRefunded:
        """A full refund, or with `partial_refund_share` a part (never all) of the original."""
        amount = purchase.settlement_amount
        if amount > Decimal("0.01") and self.rng.random() < self.profile.partial_refund_share:
            part = amount * Decimal(f"{self.rng.uniform(0.1, 0.9):.3f}")
            amount = max(part.quantize(Decimal("0.01")), Decimal("0.01"))
        return CardTransactionRefunded.model_construct(
            refund_id=refund_id,
            original_transaction_id=purchase.transaction_id,
            customer_id=purchase.customer_id,
            card_token=purchase.card_token,
            mcc=purchase.merchant.mcc,
            refund_amount=amount,
            settlement_currency="CNY",
            refunded_at=at,
        )


class CardFeed:
    """The card-transaction topic as core banking delivers it, ordered by delivery time.

    Purchases are delivered when posted; refunds some minutes or hours later. A few refunds
    overtake their purchase (the purchase is posted late), and a few records are delivered
    twice with the same ce_id, as after a producer retry.
    """

    def __init__(self, rng: random.Random, spending: CardSpending) -> None:
        self.rng = rng
        self.spending = spending
        self.profile = spending.profile
        self._queue: list[tuple[float, int, EncodedEvent]] = []
        self._order = itertools.count()
        self.counts = {"purchases": 0, "refunds": 0, "early_refunds": 0, "duplicates": 0}

    def add_purchase(self, customer: Customer, at: float) -> None:
        """Draw one purchase posted at epoch second `at`, with its refund if any."""
        rng = self.rng
        posted_at = datetime.fromtimestamp(at, SHANGHAI)
        purchase, category = self.spending.purchase(
            customer, posted_at, f"T{rng.getrandbits(64):020d}"
        )
        self.counts["purchases"] += 1
        deliver_purchase_at = at
        if category.refundable and rng.random() < self.profile.refund_rate:
            refund_at = at + rng.uniform(*self.profile.refund_delay_s)
            refund = self.spending.refund(
                purchase,
                datetime.fromtimestamp(refund_at, SHANGHAI),
                f"R{rng.getrandbits(64):020d}",
            )
            self.counts["refunds"] += 1
            if rng.random() < self.profile.early_refund_rate:
                self.counts["early_refunds"] += 1
                deliver_purchase_at = refund_at + rng.uniform(1.0, 120.0)
            self._deliver(to_record(rng, refund, refund.refunded_at), refund_at)
        self._deliver(to_record(rng, purchase, posted_at), deliver_purchase_at)

    def _deliver(self, record: EncodedEvent, at: float) -> None:
        heapq.heappush(self._queue, (at, next(self._order), record))
        if self.rng.random() < self.profile.duplicate_rate:
            self.counts["duplicates"] += 1
            again = at + self.rng.uniform(0.05, 30.0)
            heapq.heappush(self._queue, (again, next(self._order), record))

    def due(self, until: float) -> list[EncodedEvent]:
        """Records whose delivery time is at or before epoch second `until`, in order."""
        out = []
        while self._queue and self._queue[0][0] <= until:
            out.append(heapq.heappop(self._queue)[2])
        return out

    def drain(self) -> list[EncodedEvent]:
        return self.due(math.inf)

    def pending(self) -> int:
        return len(self._queue)


def _pick(rng: random.Random, cum_weights: tuple[float, ...]) -> int:
    # Index by cumulative weights: what random.choices does, without building a list.
    return bisect(cum_weights, rng.random() * cum_weights[-1])


def _ticket(rng: random.Random, category: Category, customer: Customer) -> Decimal:
    cny = rng.lognormvariate(math.log(category.median_cny), category.sigma) * customer.spend_scale
    cny = min(cny, MAX_TICKET_CNY)
    if category.round_to:
        return Decimal(max(category.round_to, round(cny / category.round_to) * category.round_to))
    return Decimal(f"{max(cny, 1.0):.2f}")


def _merchant(
    rng: random.Random, category: Category | None, mcc: str, brand: str, city: str, country: str
) -> Merchant:
    name = category.naming.format(brand=brand, city=city) if category else brand
    return Merchant.model_construct(
        # UnionPay-style 15-digit merchant number.
        merchant_id=f"M{rng.randrange(10**15):015d}",
        name=name,
        mcc=mcc,
        city=city,
        country=country,
    )
