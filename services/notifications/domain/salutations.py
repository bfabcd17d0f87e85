"""How a message addresses a member, in one script per message.

zh-CN: 张先生 / 张女士. en-US: Dear Mr Zhang / Dear Ms Zhang, the surname romanised in Hanyu
Pinyin by pypinyin (欧阳 -> Ouyang; ü written "yu" as on Chinese passports: 吕 -> Lyu), so an
English message never carries Chinese characters. A gender that is not known is never
guessed: the neutral form is 尊敬的客户 / Dear customer. The neutral form is not the full
name because accounts shares the family name only (`member.contact-changed`: the given name
stays with the bank), and a bare surname ("Dear Zhang") reads as curt in English.

pypinyin reads a character as a word, not as a surname: the few surnames whose reading
differs from the word's most common one are read from `SURNAME_READINGS` first.
"""

from __future__ import annotations

import re
from typing import Literal

from pypinyin import Style, lazy_pinyin

Language = Literal["zh-CN", "en-US"]
Gender = Literal["male", "female", "unknown"]

NEUTRAL: dict[Language, str] = {"zh-CN": "尊敬的客户", "en-US": "Dear customer"}
_TITLES: dict[Language, dict[str, str]] = {
    "zh-CN": {"male": "{}先生", "female": "{}女士"},
    "en-US": {"male": "Dear Mr {}", "female": "Dear Ms {}"},
}
#: Surnames (compound ones first) whose surname reading is not the word's usual one.
SURNAME_READINGS = {
    "尉迟": "yuchi", "万俟": "moqi", "长孙": "zhangsun", "单于": "chanyu",
    "单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao",
    "查": "zha", "乐": "yue", "盖": "ge", "覃": "qin", "缪": "miao", "秘": "bi", "种": "chong",
    "员": "yun", "繁": "po", "句": "gou", "黑": "he", "召": "shao", "褚": "chu", "隗": "wei",
}
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def romanised(family_name: str) -> str:
    """The surname in Latin letters, one capitalised word: 欧阳 -> Ouyang, Smith -> Smith."""
    name = family_name.strip()
    if not CJK.search(name):
        return name
    for surname, reading in SURNAME_READINGS.items():
        if name.startswith(surname):
            rest = name[len(surname):]
            syllables = [reading, *lazy_pinyin(rest, style=Style.NORMAL)] if rest else [reading]
            break
    else:
        syllables = lazy_pinyin(name, style=Style.NORMAL)
    # pypinyin writes ü as v (lv); passports write it yu (Lyu).
    return "".join(syllables).replace("v", "yu").replace(" ", "").capitalize()


def salutation(family_name: str, gender: Gender, language: Language,
               limit: int | None = None) -> str:
    """张先生 / Dear Mr Zhang; the neutral form when the gender is unknown, the name is
    empty, or the salutation would not fit in `limit` characters (a cut name is wrong)."""
    title = _TITLES[language].get(gender)
    name = romanised(family_name) if language == "en-US" else family_name.strip()
    if title is None or not name or (language == "en-US" and CJK.search(name)):
        return NEUTRAL[language]
    text = title.format(name)
    return NEUTRAL[language] if limit is not None and len(text) > limit else text
