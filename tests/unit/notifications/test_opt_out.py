"""Stop keywords and the providers' reply pushes: which replies are a stop, which number or
openid sent them, and what makes a pushed-again reply the same one."""

from datetime import UTC, datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from fastapi import HTTPException

from services.notifications.api import aliyun_replies, tencent_replies, wechat_unfollow
from services.notifications.domain.opt_out import (
    DEFAULT_KEYWORDS,
    StopKeywords,
    china_e164,
    normalise,
)
from services.notifications.domain.templates import OPT_OUT

KEYWORDS = StopKeywords.of(DEFAULT_KEYWORDS)
NOW = datetime(2026, 5, 20, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "keyword"), [
    ("R", "R"), ("r", "R"), (" R ", "R"), ("Ｒ", "R"), ("TD", "TD"), ("td", "TD"),
    ("Td", "TD"), ("ＴＤ", "TD"), ("T", "T"), ("退订", "退订"), (" 退 订 ", "退订"),
    ("退订。", "退订"), ("STOP", "STOP"), ("stop!", "STOP"), ("Stop.", "STOP"),
    ("unsubscribe", "UNSUBSCRIBE"), ("退", "退"),
    # not a stop: answers, questions, keywords inside other words
    ("", None), ("R?", None), ("thanks", None), ("不要R", None), ("STOPPED", None),
    ("请问怎么退订", None), ("RR", None), ("TD 谢谢", None), ("1", None),
])
def test_stop_keywords(text: str, keyword: str | None) -> None:
    assert KEYWORDS.match(text) == keyword


def test_configured_keywords_replace_the_defaults() -> None:
    only = StopKeywords.of(["Ｑ", " quit "])
    assert (only.match("q"), only.match("QUIT"), only.match("TD")) == ("Q", "QUIT", None)
    with pytest.raises(ValueError):
        StopKeywords.of([" ", ""])


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_the_opt_out_line_names_keywords_that_are_read(language: str) -> None:
    named = [w for w in ("TD", "R", "STOP", "退订", "T") if w in OPT_OUT[language]]
    assert named and all(KEYWORDS.match(w) for w in named)
    assert normalise(OPT_OUT[language]) not in KEYWORDS.keywords


@pytest.mark.parametrize(("number", "country", "e164"), [
    ("13812341234", "86", "+8613812341234"), ("8613812341234", "86", "+8613812341234"),
    ("+8613812341234", "86", "+8613812341234"), ("008613812341234", "86", "+8613812341234"),
    ("138 1234 1234", "86", "+8613812341234"), ("138-1234-1234", "+86", "+8613812341234"),
    ("1381111****", "86", None), ("12812341234", "86", None), ("1381234123", "86", None),
    ("13812341234", "852", None), ("", "86", None), ("１３８１２３４１２３４", "86", None),
])
def test_numbers_as_e164(number: str, country: str, e164: str | None) -> None:
    assert china_e164(number, country) == e164


def test_aliyun_sms_up_push() -> None:
    [reply, undated] = aliyun_replies([
        {"phone_number": "13812341234", "content": "TD", "send_time": "2026-05-20 19:02:41",
         "sign_name": "XX银行", "dest_code": "1234", "sequence_id": 1234567890},
        {"phone_number": "13912341234", "content": "好的", "send_time": "soon",
         "dest_code": "1234", "sequence_id": "1234567891"}], NOW)
    assert (reply.provider, reply.via, reply.channel, reply.sender, reply.text) == (
        "aliyun", "sms_reply", "sms", "+8613812341234", "TD")
    assert reply.received_at == datetime(2026, 5, 20, 19, 2, 41,
                                         tzinfo=ZoneInfo("Asia/Shanghai"))
    assert reply.reply_id == "aliyun:1234567890" and reply.keyword(KEYWORDS) == "TD"
    assert undated.received_at == NOW and not undated.is_stop(KEYWORDS)


def test_tencent_reply_callback() -> None:
    [reply] = tencent_replies([{"extend": "", "mobile": "13812341234", "nationcode": "86",
                                "sign": "XX银行", "text": "退订", "time": 1779274961}])
    assert (reply.provider, reply.sender, reply.keyword(KEYWORDS)) == (
        "tencent", "+8613812341234", "退订")
    assert reply.received_at == datetime.fromtimestamp(1779274961, UTC)
    # no id of its own: the same number, time and text are the same reply
    assert reply.reply_id == tencent_replies([{"mobile": "13812341234", "nationcode": "86",
                                               "text": "退订", "time": "1779274961"}])[0].reply_id
    [abroad] = tencent_replies([{"mobile": "91234567", "nationcode": "852", "text": "TD",
                                 "time": 1779274961}])
    assert abroad.sender is None


@pytest.mark.parametrize("report", [
    {"mobile": "13812341234", "text": "TD", "time": "yesterday"},
    {"mobile": "13812341234", "text": "TD", "time": True},
    {"mobile": ["13812341234"], "text": "TD", "time": 1},
    {"mobile": "13812341234", "text": {"a": 1}, "time": 1},
])
def test_tencent_reply_not_in_its_format(report: dict) -> None:
    with pytest.raises(HTTPException) as raised:
        tencent_replies([report])
    assert raised.value.status_code == 400


def _xml(body: str) -> ET.Element:
    return ET.fromstring(f"<xml><ToUserName>gh_1</ToUserName>{body}</xml>")


@pytest.mark.parametrize(("body", "unfollow"), [
    ("<FromUserName>oAbCdEfGhIjKlMnOpQrStUvWx12</FromUserName><CreateTime>1779274961"
     "</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event>", True),
    ("<FromUserName>oAbCdEfGhIjKlMnOpQrStUvWx12</FromUserName><CreateTime>1779274961"
     "</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>", False),
    ("<FromUserName>oAbCdEfGhIjKlMnOpQrStUvWx12</FromUserName><CreateTime>1779274961"
     "</CreateTime><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event>", False),
    ("<FromUserName>oAbCdEfGhIjKlMnOpQrStUvWx12</FromUserName><CreateTime>1779274961"
     "</CreateTime><MsgType>text</MsgType><Content>unsubscribe</Content>", False),
])
def test_wechat_unsubscribe_event(body: str, unfollow: bool) -> None:
    reply = wechat_unfollow(_xml(body))
    assert (reply is not None) == unfollow
    if reply:
        assert (reply.provider, reply.via, reply.channel, reply.sender) == (
            "wechat", "wechat_unsubscribe", "wechat", "oAbCdEfGhIjKlMnOpQrStUvWx12")
        assert reply.is_stop(KEYWORDS) and reply.keyword(KEYWORDS) is None
        assert reply.received_at == datetime.fromtimestamp(1779274961, UTC)


def test_wechat_unsubscribe_without_time_is_refused() -> None:
    with pytest.raises(HTTPException):
        wechat_unfollow(_xml("<FromUserName>oX</FromUserName><MsgType>event</MsgType>"
                             "<Event>unsubscribe</Event>"))
