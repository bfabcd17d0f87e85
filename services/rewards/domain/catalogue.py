"""The catalogue of offers and lounges: its entries, the rules a staff change must keep,
what a change records (the entry, its audit and its event), and the view each instance
keeps in memory to redeem and browse from.

An entry belongs to a partner (an offer to its merchant's partner, a lounge to its
operator), is redeemable inside its validity window (a scheduled entry's window starts
later) while active, and once withdrawn stays withdrawn: it can be read, not changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from contracts.rewards.v1 import CatalogueEntryChanged
from contracts.tiers import TIERS

from .offers import Offer, period_key
from .redemptions import Lounge

Kind = Literal["offer", "lounge"]
Change = Literal["created", "changed", "withdrawn"]
Status = Literal["active", "withdrawn"]
PERIODS = ("day", "month", "year")


class CatalogueError(Exception):
    """A change refused: `code` is what staff programs against; `status` its HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def invalid(message: str) -> CatalogueError:
    return CatalogueError("invalid_entry", message, 422)


@dataclass(frozen=True, slots=True)
class OfferEntry:
    id: str
    partner_id: str
    merchant: str
    industry: str
    title: str
    points_price: int | None
    discount_percent: int | None
    valid_from: date
    valid_until: date                 # inclusive
    eligible_tiers: tuple[str, ...]   # in the programme's order, lowest first
    limit_per_period: int
    period: str
    cities: tuple[str, ...] = ()      # where its merchant has outlets; none: everywhere
    status: Status = "active"
    version: int = 0

    kind: Kind = field(default="offer", init=False, repr=False)

    def offer(self) -> Offer:
        """As a redemption decides on it."""
        return Offer(id=self.id, title=self.title, points_price=self.points_price,
                     discount_percent=self.discount_percent, valid_from=self.valid_from,
                     valid_until=self.valid_until, eligible_tiers=frozenset(self.eligible_tiers),
                     limit_per_period=self.limit_per_period, period=self.period)

    @property
    def name(self) -> str:
        return self.title

    def open_on(self, day: date) -> bool:
        return self.status == "active" and self.valid_from <= day <= self.valid_until

    def in_city(self, city: str) -> bool:
        return not self.cities or city in self.cities

    def check(self) -> OfferEntry:
        """The entry if it keeps the rules; else `invalid_entry`."""
        if (self.points_price is None) == (self.discount_percent is None):
            raise invalid("an offer has either a points price or a discount percent")
        if self.points_price is not None and self.points_price <= 0:
            raise invalid("points_price must be positive")
        if self.discount_percent is not None and not 1 <= self.discount_percent <= 99:
            raise invalid("discount_percent must be from 1 to 99")
        if not self.eligible_tiers or set(self.eligible_tiers) - set(TIERS):
            raise invalid(f"eligible_tiers must name some of {TIERS}")
        if self.period not in PERIODS:
            raise invalid(f"period must be one of {PERIODS}")
        if self.limit_per_period < 1:
            raise invalid("limit_per_period must be at least 1")
        _window(self.valid_from, self.valid_until)
        return dataclasses.replace(
            self, eligible_tiers=tuple(t for t in TIERS if t in self.eligible_tiers),
            cities=tuple(sorted(set(self.cities))))


@dataclass(frozen=True, slots=True)
class LoungeEntry:
    id: str
    airport_code: str
    city: str
    terminal: str
    name: str
    operator_id: str
    operator: str
    valid_from: date | None = None
    valid_until: date | None = None   # inclusive
    status: Status = "active"
    version: int = 0

    kind: Kind = field(default="lounge", init=False, repr=False)

    @property
    def partner_id(self) -> str:
        return self.operator_id

    @property
    def title(self) -> str:
        return self.name

    def open_on(self, day: date) -> bool:
        return (self.status == "active" and (self.valid_from is None or self.valid_from <= day)
                and (self.valid_until is None or day <= self.valid_until))

    def check(self) -> LoungeEntry:
        if len(self.airport_code) != 3 or not self.airport_code.isascii() \
                or not self.airport_code.isupper():
            raise invalid("airport_code is an IATA code, three capital letters")
        if self.valid_from is not None and self.valid_until is not None:
            _window(self.valid_from, self.valid_until)
        return self


Entry = OfferEntry | LoungeEntry
#: What staff may change of an entry (the rest identifies it, or is its state).
CHANGEABLE: dict[Kind, frozenset[str]] = {
    "offer": frozenset({"merchant", "industry", "title", "points_price", "discount_percent",
                        "valid_from", "valid_until", "eligible_tiers", "limit_per_period",
                        "period", "cities"}),
    "lounge": frozenset({"city", "terminal", "name", "operator", "valid_from",
                         "valid_until"}),
}
#: Of those, what may be set to nothing (a lounge's window open at that end).
NULLABLE: dict[Kind, frozenset[str]] = {
    "offer": frozenset({"points_price", "discount_percent"}),
    "lounge": frozenset({"valid_from", "valid_until"}),
}


@dataclass(frozen=True, slots=True)
class Recorded:
    """A change as it is saved: the entry after it, what it was before, and its event."""

    entry: Entry
    change: Change
    before: Entry | None
    event: CatalogueEntryChanged


def create(existing: Entry | None, entry: Entry, version: int, now: datetime) -> Recorded:
    if existing is not None:
        raise CatalogueError("entry_exists", f"{entry.kind} {entry.id} exists already", 409)
    made = dataclasses.replace(entry.check(), status="active", version=version)
    return _recorded(made, "created", None, now)


def change(existing: Entry | None, kind: Kind, entry_id: str, fields: Mapping[str, Any],
           version: int, now: datetime) -> Recorded:
    """Change the given fields (a window is scheduled by changing its dates)."""
    current = _changeable(existing, kind, entry_id)
    if unknown := set(fields) - CHANGEABLE[kind]:
        raise invalid(f"{sorted(unknown)} cannot be changed")
    if emptied := {k for k, v in fields.items() if v is None} - NULLABLE[kind]:
        raise invalid(f"{sorted(emptied)} cannot be empty")
    changed = dataclasses.replace(current, **fields, version=version).check()
    return _recorded(changed, "changed", current, now)


def withdraw(existing: Entry | None, kind: Kind, entry_id: str, version: int,
             now: datetime) -> Recorded:
    current = _changeable(existing, kind, entry_id)
    return _recorded(dataclasses.replace(current, status="withdrawn", version=version),
                     "withdrawn", current, now)


def _changeable(existing: Entry | None, kind: Kind, entry_id: str) -> Entry:
    if existing is None:
        raise CatalogueError("not_found", f"no {kind} {entry_id}", 404)
    if existing.status == "withdrawn":
        raise CatalogueError("entry_withdrawn", f"{kind} {entry_id} was withdrawn", 409)
    return existing


def _recorded(entry: Entry, change_: Change, before: Entry | None, now: datetime) -> Recorded:
    event = CatalogueEntryChanged(
        partner_id=entry.partner_id, kind=entry.kind, entry_id=entry.id, change=change_,
        version=entry.version, title=entry.title, status=entry.status,
        valid_from=entry.valid_from, valid_until=entry.valid_until, changed_at=now)
    return Recorded(entry, change_, before, event)


def _window(valid_from: date, valid_until: date) -> None:
    if valid_from > valid_until:
        raise invalid("valid_from must not be after valid_until")


def as_json(entry: Entry | None) -> dict[str, Any] | None:
    """The entry as the audit and the API show it."""
    if entry is None:
        return None
    out: dict[str, Any] = {}
    for f in dataclasses.fields(entry):
        value = getattr(entry, f.name)
        out[f.name] = (value.isoformat() if isinstance(value, date)
                       else list(value) if isinstance(value, tuple) else value)
    return out


# ---------------------------------------------------------------------- the view

@dataclass(frozen=True, slots=True)
class OfferFilter:
    city: str | None = None
    industry: str | None = None
    #: Offers open to this tier only (None: any).
    tier: str | None = None


class CatalogueView:
    """Every entry at `version`, as an instance holds it: withdrawn ones too (partners and
    staff read them), but only active ones redeem."""

    def __init__(self) -> None:
        #: Below any entry's (rows from before migration 0007 have 0): the first load
        #: takes them all.
        self.version = -1
        self.offers: dict[str, OfferEntry] = {}
        self.lounges: dict[str, LoungeEntry] = {}
        #: The active offers as redemptions decide on them.
        self._redeemable: dict[str, Offer] = {}

    def apply(self, entries: Iterable[Entry], version: int) -> None:
        """Entries changed up to `version` (an older copy never replaces a newer one)."""
        for e in entries:
            held = self.offers if isinstance(e, OfferEntry) else self.lounges
            if e.id in held and held[e.id].version > e.version:
                continue
            held[e.id] = e
            if isinstance(e, OfferEntry):
                if e.status == "active":
                    self._redeemable[e.id] = e.offer()
                else:
                    self._redeemable.pop(e.id, None)
        self.version = max(self.version, version)

    def offer(self, offer_id: str) -> Offer | None:
        """An active offer (its window and tiers are the redemption's to check)."""
        return self._redeemable.get(offer_id)

    def lounge(self, lounge_id: str, today: date) -> Lounge | None:
        """A lounge open today; one withdrawn or outside its window is none."""
        entry = self.lounges.get(lounge_id)
        return Lounge(entry.id, entry.name) if entry and entry.open_on(today) else None

    def browse_offers(self, f: OfferFilter, today: date) -> list[OfferEntry]:
        """Offers open today matching the filter, by id."""
        return sorted((o for o in self.offers.values() if o.open_on(today)
                       and (f.city is None or o.in_city(f.city))
                       and (f.industry is None or o.industry == f.industry)
                       and (f.tier is None or f.tier in o.eligible_tiers)),
                      key=lambda o: o.id)

    def browse_lounges(self, city: str | None, today: date) -> list[LoungeEntry]:
        return sorted((lounge for lounge in self.lounges.values() if lounge.open_on(today)
                       and (city is None or lounge.city == city)), key=lambda x: x.id)

    def of_partner(self, partner_id: str) -> list[Entry]:
        """A partner's own entries, withdrawn ones too: offers, then lounges, by id."""
        return ([o for _, o in sorted(self.offers.items()) if o.partner_id == partner_id]
                + [x for _, x in sorted(self.lounges.items()) if x.operator_id == partner_id])


def page(items: list, after: str | None, limit: int) -> tuple[list, str | None]:
    """The items (sorted by id) after the id `after`, at most `limit`, and the cursor of the
    next page (None: this is the last)."""
    start = 0
    if after is not None:
        start = next((i for i, item in enumerate(items) if item.id > after), len(items))
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return chunk, (chunk[-1].id if more and chunk else None)


def remaining(offer: OfferEntry, used: int) -> int:
    return max(0, offer.limit_per_period - used)


def usage_counter(offer: OfferEntry, today: date) -> tuple[str, str]:
    """The member's usage counter of the offer today (domain.redemptions.offer_counter)."""
    return offer.id, period_key(offer.period, today)
