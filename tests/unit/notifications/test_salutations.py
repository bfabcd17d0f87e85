"""How messages address members: Dear Mr Zhang in English (the surname romanised), 张先生 in
Chinese, the neutral form when the gender is unknown; one script per message."""

import re

import pytest

from services.notifications.domain.messages import values_for
from services.notifications.domain.salutations import romanised, salutation
from services.notifications.domain.templates import WECHAT_FIELD_MAX, Recipient, render
from services.notifications.settings import load_templates

from .test_templates import FACTS, SIGN

TEMPLATES = load_templates()
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f\u3000-\u303f\uff00-\uffef]")


@pytest.mark.parametrize(("family", "gender", "language", "expected"), [
    ("张", "male", "en-US", "Dear Mr Zhang"),
    ("张", "female", "en-US", "Dear Ms Zhang"),
    ("张", "unknown", "en-US", "Dear customer"),
    ("欧阳", "female", "en-US", "Dear Ms Ouyang"),
    ("司马", "male", "en-US", "Dear Mr Sima"),
    ("吕", "male", "en-US", "Dear Mr Lyu"),        # ü as on passports
    ("单", "female", "en-US", "Dear Ms Shan"),      # the surname's reading, not dan
    ("曾", "male", "en-US", "Dear Mr Zeng"),        # not ceng
    ("尉迟", "male", "en-US", "Dear Mr Yuchi"),
    ("Hamilton", "male", "en-US", "Dear Mr Hamilton"),
    (" 李 ", "female", "en-US", "Dear Ms Li"),
    ("", "male", "en-US", "Dear customer"),
    ("Wolfeschlegelsteinhausen", "male", "en-US", "Dear customer"),  # cut would be wrong
    ("张", "male", "zh-CN", "张先生"),
    ("欧阳", "female", "zh-CN", "欧阳女士"),
    ("李", "unknown", "zh-CN", "尊敬的客户"),
    ("", "female", "zh-CN", "尊敬的客户"),
])
def test_salutation(family, gender, language, expected) -> None:
    assert salutation(family, gender, language, limit=WECHAT_FIELD_MAX) == expected


@pytest.mark.parametrize(("family", "expected"), [
    ("王", "Wang"), ("诸葛", "Zhuge"), ("区", "Ou"), ("朴", "Piao"), ("Smith", "Smith"),
])
def test_romanised_surname(family, expected) -> None:
    assert romanised(family) == expected


CHINESE_PEOPLE = [Recipient(family, gender, language) for language in ("zh-CN", "en-US")
                  for family, gender in (("张", "male"), ("欧阳", "female"), ("吕", "unknown"))]


@pytest.mark.parametrize("name", sorted(FACTS))
@pytest.mark.parametrize("person", CHINESE_PEOPLE,
                         ids=lambda p: f"{p.language}-{p.family_name}-{p.gender}")
def test_one_script_per_message(name: str, person: Recipient) -> None:
    """An English rendering carries no Chinese character (the signature aside: the
    provider prepends the registered 【XX银行】); a Chinese one addresses as 张先生."""
    rendered = render(TEMPLATES[name], person, values_for(FACTS[name], person.language), SIGN)
    texts = [rendered.sms_text.removeprefix(f"【{SIGN}】"), *rendered.sms_params.values(),
             *rendered.wechat_fields.values()]
    if person.language == "en-US":
        assert not [t for t in texts if CJK.search(t)], texts
    elif "salutation" in TEMPLATES[name].sms_params:
        expected = {"male": "张先生", "female": "欧阳女士", "unknown": "尊敬的客户"}
        assert rendered.sms_params["salutation"] == expected[person.gender]
