"""Log redaction (runtime.personal_data.redact), the last line of defence: phone numbers
in every shape people and systems write them, and openids wherever they sit, are masked;
ordinary numbers (amounts, dates, times, ids of other lengths) and words are left alone."""

import json
from urllib.parse import quote

import pytest

from runtime.personal_data import redact

OPENID = "oX3kq9Zb-7mWcT2vLr8yPe4NdA1s"
DOC_OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"  # WeChat's documentation example


@pytest.mark.parametrize("text", [
    "13812345678", "+8613812345678", "8613812345678", "008613812345678",
    "+86 138-1234-5678", "+86-138-1234-5678", "138 1234 5678", "138-1234-5678",
    "138.1234.5678", "(+86)13812345678", "(86) 138 1234 5678", "（+86）138 1234 5678",
    "86-13812345678", "86 138 1234 5678", "0086 138 1234 5678", "+86 138 1234-5678",
    "１３８１２３４５６７８", "＋86 １３８ １２３４ ５６７８", "138\u00a01234\u00a05678",
    "138\u30001234\u30005678", "138－1234－5678", "138/1234/5678", "138_1234_5678",
    "(138) 1234 5678", "（138）1234-5678", "+86(138)12345678", "+86 (138) 1234 5678",
])
@pytest.mark.parametrize("around", [
    "{}", "电话{}号", "手机：{}，谢谢", "联系{}", "tel:{};", "x{}y", "({})", "[{}]",
    '{{"mobile": "{}"}}', "'{}'", "<to>{}</to>", "\t{}\n", "mobile={}&x=1",
])
def test_phone_numbers_with_separators_and_any_surroundings(text, around) -> None:
    line = around.format(text)
    redacted = redact(line)
    digits = "".join(c for c in text if c.isdigit())
    assert digits[-11:-4] not in "".join(c for c in redacted if c.isdigit())
    assert "****" in redacted
    assert redacted.replace("138****5678", "").replace("１３８****５６７８", "") == (
        around.format("")), redacted


@pytest.mark.parametrize("line", [
    json.dumps({"mobile": "+8613812345678", "note": "张三"}),           # JSON, escaped CJK
    json.dumps({"msg": "号13812345678"}),                              # \u53f7 then digits
    "to=" + quote("+8613812345678"),                                   # %2B86...
    "q=" + quote("138 1234 5678"),                                     # %20 separators
    "q=" + quote("(+86)13812345678"),                                  # %28%2B86%29...
    "body=%E5%8F%B713812345678",                                       # %-escape then digits
    "PhoneNumbers=13812345678&SignName=XX",
    "+86+138+1234+5678",                                               # form-encoded spaces
])
def test_phone_numbers_inside_json_and_urls(line) -> None:
    redacted = redact(line)
    assert "1234" not in redacted and "138****5678" in redacted, redacted


@pytest.mark.parametrize("line", [
    OPENID, DOC_OPENID, f"openid={OPENID}&lang=zh_CN", f"/users/{OPENID}/messages",
    f'{{"touser":"{OPENID}"}}', json.dumps({"touser": OPENID, "名": "张"}), f"'{OPENID}'",
    f"用户{OPENID}已关注", f"({OPENID})", f"wx_{OPENID}_bound", f"{OPENID}-2", f"-{OPENID}",
    f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>", f"openid:{OPENID}。",
    f"%22{OPENID}%22", f"\\u0022{OPENID}\\u0022", f"line\\n{OPENID}", f"a {OPENID}\tb",
    "o" + "1" * 27, f"{OPENID} and {DOC_OPENID}",
])
def test_openids_in_any_position(line) -> None:
    redacted = redact(line)
    assert OPENID not in redacted and DOC_OPENID not in redacted, redacted
    assert OPENID[4:12] not in redacted and "o***" in redacted


@pytest.mark.parametrize("line", [
    "redeemed 1380 points for ¥138.00", "amount 13812345678.50", "rate 0.13812345678",
    "¥1,381,234,567.80", "2026-03-10 13:45:12", "2026-03-10T13:45:12.123+08:00",
    "member C0013812345678", "id 138123456789", "code 1381234567", "card 6222021381234567890",
    "order 15 16 17 18 19 20 21", "1773112345678 ms", "1773112345 s",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736", "msg 550e8400-e29b-41d4-a716-446655440000",
    "+86 10 1234 5678 (Beijing landline)", "12345678901", "10.13.81.234",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    "test_a_provider_outage_delays_and_then_delivers_without_loss",
    "services/notifications/handlers/sender.py", "openid_of_the_member_is_not_logged_here",
])
def test_ordinary_numbers_and_words_are_left_alone(line) -> None:
    assert redact(line) == line


def test_a_long_line_is_redacted_quickly() -> None:
    import time

    line = ("金额 1,234.56 元; " * 2000) + "13812345678" + (" x" * 20000)
    started = time.perf_counter()
    assert "138****5678" in redact(line)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("line", [
    "13812345678,13987654321", "PhoneNumbers=13812345678,13987654321&SignName=XX",
    "13812345678，13987654321", '["13812345678","13987654321"]', "13812345678;13987654321",
])
def test_lists_of_phone_numbers(line) -> None:
    redacted = redact(line)
    assert "1234" not in redacted and "8765" not in redacted, redacted
    assert "138****5678" in redacted and "139****4321" in redacted, redacted
