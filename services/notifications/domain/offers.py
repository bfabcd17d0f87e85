"""The offers of a recommendation as one short list for a message (an SMS variable, a
WeChat field): whole titles while they fit, then the shorter name of each from the last
(the merchant; in English, the industry), then fewer offers. A title is never cut in the
middle; the best offers come first and stay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .templates import Language

_SEPARATOR: dict[Language, str] = {"zh-CN": "、", "en-US": "; "}
#: When not even one offer's short name fits (a limit no template has).
_NONE_FIT: dict[Language, str] = {"zh-CN": "专属优惠", "en-US": "offers for you"}


def offer_list(offers: Sequence[Mapping[str, Any]], language: Language, limit: int) -> str:
    """The offers (facts: title, title_en, merchant, industry_en) in at most `limit`
    characters."""
    english = language == "en-US"
    full = [o["title_en"] if english else o["title"] for o in offers]
    short = [o["industry_en"] if english else o["merchant"] for o in offers]
    sep = _SEPARATOR[language]
    for count in range(len(offers), 0, -1):
        for whole in range(count, -1, -1):  # the first `whole` offers keep their titles
            names = full[:whole] + short[whole:count]
            text = sep.join(dict.fromkeys(names))  # two of one merchant (industry): named once
            if len(text) <= limit:
                return text
    return _NONE_FIT[language]
