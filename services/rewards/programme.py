"""Loading the benefits file and the demo catalogue shipped beside the code."""

from __future__ import annotations

import csv
import tomllib
from datetime import date
from pathlib import Path

from .domain.benefits import TIERS, Benefits, parse_benefits
from .domain.offers import Offer

CATALOGUE_DIR = Path(__file__).parent / "catalogue"


def load_benefits(path: Path) -> Benefits:
    with path.open("rb") as file:
        return parse_benefits(tomllib.load(file))


def read_offers(path: Path = CATALOGUE_DIR / "offers.csv") -> list[Offer]:
    offers = []
    with path.open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            tiers = frozenset(row["eligible_tiers"].split("|"))
            if not tiers <= set(TIERS):
                raise ValueError(f"offer {row['offer_id']}: unknown tiers {tiers - set(TIERS)}")
            offers.append(Offer(
                id=row["offer_id"], title=row["title"],
                points_price=int(row["points_price"]) if row["points_price"] else None,
                discount_percent=int(row["discount_percent"]) if row["discount_percent"] else None,
                valid_from=date.fromisoformat(row["valid_from"]),
                valid_until=date.fromisoformat(row["valid_until"]),
                eligible_tiers=tiers, limit_per_period=int(row["limit_per_period"]),
                period=row["period"]))
    return offers


def read_offer_rows(path: Path = CATALOGUE_DIR / "offers.csv") -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def read_lounges(path: Path = CATALOGUE_DIR / "lounges.csv") -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))
