"""Replies from members: which are a request to stop marketing, and which number sent them.

A reply is a stop when, once normalised (Unicode NFKC, so full-width "ＴＤ" is "TD"; case
folded; spaces and trailing punctuation dropped), it is one of the configured keywords
(STOP_KEYWORDS). Anything else ("R?", "thanks", "不要R") is not a stop and is ignored: a
member may answer a message without meaning to leave it.

Numbers come from the providers as 11 digits, with or without the country code; they are
compared as E.164 (+86...), the form the contact data holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: The stop keywords read by default (settings: STOP_KEYWORDS). The opt-out line of the
#: marketing texts (templates.OPT_OUT) names some of them.
DEFAULT_KEYWORDS = ("R", "TD", "T", "退订", "退", "STOP", "UNSUBSCRIBE")
_IGNORED = re.compile(r"[\s.!。！,，]+")
_CHINA_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalise(text: str) -> str:
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text)).casefold()


@dataclass(frozen=True, slots=True)
class StopKeywords:
    """The configured keywords, normalised."""

    keywords: frozenset[str]

    @classmethod
    def of(cls, keywords: Iterable[str]) -> StopKeywords:
        found = frozenset(normalise(k) for k in keywords) - {""}
        if not found:
            raise ValueError("at least one stop keyword")
        return cls(found)

    def match(self, text: str) -> str | None:
        """The keyword `text` is (normalised), or None when it is no stop."""
        word = normalise(text)
        return word.upper() if word in self.keywords else None


def china_e164(number: str, country_code: str = "86") -> str | None:
    """"13812341234", "8613812341234", "+86 138 1234 1234" -> "+8613812341234"; None for
    anything else (another country, not a mobile number)."""
    digits = re.sub(r"[\s\-+]", "", number)
    if country_code.lstrip("+") != "86" or not digits.isascii() or not digits.isdigit():
        return None
    for prefix in ("0086", "86"):
        if len(digits) > 11 and digits.startswith(prefix):
            digits = digits[len(prefix):]
    return f"+86{digits}" if _CHINA_MOBILE.fullmatch(digits) else None


Via = Literal["sms_reply", "wechat_unsubscribe"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a provider reported a member sent us (api.py decodes them)."""

    provider: Literal["aliyun", "tencent", "wechat"]
    via: Via
    #: The E.164 number (SMS) or the openid (WeChat); None when it is neither.
    sender: str | None
    text: str
    received_at: datetime
    #: What makes the reply itself unique at its provider (a sequence id, or the number,
    #: time and text): a push repeated carries the same one.
    reply_id: str

    @property
    def channel(self) -> Literal["sms", "wechat"]:
        return "wechat" if self.via == "wechat_unsubscribe" else "sms"

    def keyword(self, keywords: StopKeywords) -> str | None:
        """The stop keyword of an SMS reply; an unfollow is a stop without one."""
        return keywords.match(self.text) if self.via == "sms_reply" else None

    def is_stop(self, keywords: StopKeywords) -> bool:
        return self.via == "wechat_unsubscribe" or self.keyword(keywords) is not None
