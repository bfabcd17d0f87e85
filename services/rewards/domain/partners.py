"""A partner as the API sees it: scopes, what it may redeem, its request rate."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from .errors import refuse

SCOPES = ("lounge", "offers")


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    scopes: frozenset[str]
    lounges: tuple[str, ...]   # shell-style patterns of lounge ids, e.g. "PEK-*"
    offers: tuple[str, ...]    # shell-style patterns of offer ids, e.g. "off_coffee_00_*"
    rate_per_second: int

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise refuse("scope_denied", f"this key lacks the {scope!r} scope")

    def require_item(self, kind: str, item_id: str) -> None:
        patterns = self.lounges if kind == "lounge" else self.offers
        if not any(fnmatchcase(item_id, p) for p in patterns):
            raise refuse("scope_denied", f"{item_id} is not among this partner's {kind}s")
