"""Message templates and how they are rendered for a member. Pure: the template data is
parsed once at start-up (`parse_template`), rendering needs only the member's salutation
data and the event's values.

SMS texts are registered with the provider (template code + signature); we send the
parameters and keep the full text the member sees in the message log. WeChat template
messages carry short field values: at most 20 characters each (the keyword limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template as _Text
from typing import Literal

Category = Literal["transactional", "service", "marketing"]
Language = Literal["zh-CN", "en-US"]
Gender = Literal["male", "female", "unknown"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en-US")
CATEGORIES: tuple[Category, ...] = ("transactional", "service", "marketing")

WECHAT_FIELD_MAX = 20
#: Providers cap each SMS variable (Alibaba Cloud: 35 characters for notices).
SMS_PARAM_MAX = 35
#: A long SMS is split into 67-character parts; providers refuse beyond about 500.
SMS_TEXT_MAX = 500
OPT_OUT: dict[Language, str] = {"zh-CN": "拒收请回复R", "en-US": "Reply R to opt out"}
_PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")


class TemplateError(ValueError):
    """A template file that cannot be used; raised at start-up."""


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    category: Category
    #: The provider's template per language (each text is registered and approved there).
    aliyun_template_code: Mapping[Language, str]
    tencent_template_id: Mapping[Language, str]
    #: SMS parameters in the order the provider template numbers them (Tencent is positional).
    sms_params: tuple[str, ...]
    sms_text: Mapping[Language, str]
    wechat_template_id: str
    wechat_fields: Mapping[Language, Mapping[str, str]]

    @property
    def placeholders(self) -> frozenset[str]:
        texts = [*self.sms_text.values()]
        texts += [v for fields in self.wechat_fields.values() for v in fields.values()]
        return frozenset(m for t in texts for m in _PLACEHOLDER.findall(t))


@dataclass(frozen=True, slots=True)
class Recipient:
    """What rendering needs to know about the member (no phone number, no openid)."""

    family_name: str
    gender: Gender
    language: Language


@dataclass(frozen=True, slots=True)
class Rendered:
    language: Language
    #: The whole SMS as the member reads it: signature, text, opt-out line for marketing.
    sms_text: str
    #: The provider template's variables, in `Template.sms_params` order.
    sms_params: dict[str, str]
    wechat_fields: dict[str, str]


def parse_template(name: str, data: Mapping) -> Template:
    try:
        category = data["category"]
        sms, wechat = data["sms"], data["wechat"]
        template = Template(
            name=name, category=category,
            aliyun_template_code={lang: str(sms["aliyun_template_code"][lang])
                                  for lang in LANGUAGES},
            tencent_template_id={lang: str(sms["tencent_template_id"][lang])
                                 for lang in LANGUAGES},
            sms_params=tuple(sms["params"]),
            sms_text={lang: sms[lang] for lang in LANGUAGES},
            wechat_template_id=str(wechat["template_id"]),
            wechat_fields={lang: dict(wechat[lang]) for lang in LANGUAGES},
        )
    except KeyError as exc:
        raise TemplateError(f"template {name}: missing {exc}") from None
    if category not in CATEGORIES:
        raise TemplateError(f"template {name}: unknown category {category!r}")
    for lang in LANGUAGES:
        used = set(_PLACEHOLDER.findall(template.sms_text[lang]))
        if used != set(template.sms_params):
            raise TemplateError(f"template {name}: {lang} SMS uses {sorted(used)}, "
                                f"params declare {sorted(template.sms_params)}")
        if template.wechat_fields[lang].keys() != template.wechat_fields["zh-CN"].keys():
            raise TemplateError(f"template {name}: WeChat fields differ between languages")
    return template


def salutation(family_name: str, gender: Gender, language: Language) -> str:
    """张先生 / 李女士; never a guessed salutation: unknown gender gets the neutral form."""
    if language == "zh-CN":
        return {"male": f"{family_name}先生", "female": f"{family_name}女士"}.get(
            gender, "尊敬的客户")
    return {"male": f"Mr {family_name}", "female": f"Ms {family_name}"}.get(
        gender, "Dear customer")


def render(template: Template, recipient: Recipient, values: Mapping[str, str],
           sign_name: str) -> Rendered:
    """The message for one member. `values` are the event's facts, already formatted for
    the member's language; missing ones are an error (a template/event mismatch)."""
    lang = recipient.language
    params = {"salutation": salutation(recipient.family_name, recipient.gender, lang),
              **values}
    missing = template.placeholders - params.keys()
    if missing:
        raise TemplateError(f"template {template.name}: no value for {sorted(missing)}")
    sms_params = {k: _clip(str(params[k]), SMS_PARAM_MAX) for k in template.sms_params}
    text = f"【{sign_name}】" + _Text(template.sms_text[lang]).substitute(sms_params)
    if template.category == "marketing":
        text += (" " if lang == "en-US" else "") + OPT_OUT[lang]
    if len(text) > SMS_TEXT_MAX:
        raise TemplateError(f"template {template.name}: SMS of {len(text)} characters")
    fields = {key: _clip(_Text(value).substitute(params), WECHAT_FIELD_MAX)
              for key, value in template.wechat_fields[lang].items()}
    return Rendered(language=lang, sms_text=text, sms_params=sms_params, wechat_fields=fields)


def _clip(value: str, limit: int) -> str:
    """Cut to `limit` characters, marking the cut: a partner's long title must not make
    the provider refuse the whole message."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
