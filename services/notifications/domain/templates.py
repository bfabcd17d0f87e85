"""Message templates and how they are rendered for a member. Pure: the template data is
parsed once at start-up (`parse_template`), rendering needs only the member's salutation
data and the event's values.

SMS texts are registered with the provider (template code + signature); we send the
parameters and keep the full text the member sees in the message log. WeChat template
messages carry short field values, limited by the keyword's type (`wechat_limit`: a
`thing` 20 characters, a `character_string` or `number` 32). A value that does not fit is
cut, marked "…" (a partner's long title), except the values a member must show whole
(`WHOLE`, the redemption reference): those are never cut. The salutation is the member's
(salutations.py); an English message carries no Chinese characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template as _Text
from typing import Literal

from .salutations import Gender, Language, salutation

Category = Literal["transactional", "service", "marketing"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en-US")
CATEGORIES: tuple[Category, ...] = ("transactional", "service", "marketing")

WECHAT_FIELD_MAX = 20
#: Longer limits of some WeChat keyword types (by the keyword's name, e.g. number2).
WECHAT_TYPE_MAX = {"character_string": 32, "number": 32, "letter": 32}
#: Values shown at the counter: never cut (they are made short enough to fit).
WHOLE = frozenset({"reference"})
#: Providers cap each SMS variable (Alibaba Cloud: 35 characters for notices).
SMS_PARAM_MAX = 35
#: A long SMS is split into 67-character parts; providers refuse beyond about 500.
SMS_TEXT_MAX = 500
#: The marketing texts' last line: it names only stop keywords that are read (opt_out.py).
OPT_OUT: dict[Language, str] = {"zh-CN": "回复TD或R退订", "en-US": "Reply STOP or R to opt out"}
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
    #: A transactional message that is news, not an answer to the member: decided in a
    #: night batch (tier changes), it waits out quiet hours (still no consent, no cap).
    waits_for_morning: bool = False

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
            waits_for_morning=bool(data.get("waits_for_morning", False)),
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


def wechat_limit(keyword: str) -> int:
    """A WeChat keyword's limit by its type: `thing1` 20 characters, `character_string3` 32."""
    return WECHAT_TYPE_MAX.get(keyword.rstrip("0123456789"), WECHAT_FIELD_MAX)


def render(template: Template, recipient: Recipient, values: Mapping[str, str],
           sign_name: str) -> Rendered:
    """The message for one member. `values` are the event's facts, already formatted for
    the member's language; missing ones are an error (a template/event mismatch)."""
    lang = recipient.language
    params = {"salutation": salutation(recipient.family_name, recipient.gender, lang,
                                       limit=WECHAT_FIELD_MAX),
              **values}
    missing = template.placeholders - params.keys()
    if missing:
        raise TemplateError(f"template {template.name}: no value for {sorted(missing)}")
    sms_params = {k: _clip(k, str(params[k]), SMS_PARAM_MAX) for k in template.sms_params}
    text = f"【{sign_name}】" + _Text(template.sms_text[lang]).substitute(sms_params)
    if template.category == "marketing":
        text += (" " if lang == "en-US" else "") + OPT_OUT[lang]
    if len(text) > SMS_TEXT_MAX:
        raise TemplateError(f"template {template.name}: SMS of {len(text)} characters")
    fields = {key: _clip(_field_value(value), _Text(value).substitute(params),
                         wechat_limit(key))
              for key, value in template.wechat_fields[lang].items()}
    return Rendered(language=lang, sms_text=text, sms_params=sms_params, wechat_fields=fields)


def _field_value(text: str) -> str | None:
    """The value a field is made of when it is just one placeholder ("${reference}")."""
    match = _PLACEHOLDER.fullmatch(text)
    return match.group(1) if match else None


def _clip(name: str | None, value: str, limit: int) -> str:
    """Cut to `limit` characters, marking the cut: a partner's long title must not make
    the provider refuse the whole message. A value in `WHOLE` is never cut."""
    if len(value) <= limit or name in WHOLE:
        return value
    return value[: limit - 1] + "…"
