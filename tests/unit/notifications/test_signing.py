"""The request signers against the providers' own published examples, and what their
answers mean."""

import pytest

from services.notifications.providers import aliyun_sms, tencent_sms


def test_aliyun_signature_matches_the_published_sendsms_example() -> None:
    """Alibaba Cloud SMS documentation, "签名机制" / signature method (help.aliyun.com
    document_detail/56189, the SendSms example): AccessKeyId testId, AccessKeySecret
    testSecret, GET, these parameters -> zJDF+Lrzhj/ThnlvIToysFRq6t4=."""
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun_sms.string_to_sign("GET", params).startswith(
        "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26"
        "PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF")
    assert aliyun_sms.signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    # The signature itself is never part of what is signed.
    assert aliyun_sms.signature("GET", {**params, "Signature": "x"}, "testSecret") == (
        "zJDF+Lrzhj/ThnlvIToysFRq6t4=")


@pytest.mark.parametrize(("raw", "encoded"), [
    (" ", "%20"), ("*", "%2A"), ("~", "~"), ("-_.", "-_."), ("/", "%2F"), ("+", "%2B"),
    (":", "%3A"), ("阿", "%E9%98%BF"),
])
def test_aliyun_percent_encoding(raw, encoded) -> None:
    assert aliyun_sms.percent_encode(raw) == encoded


def test_tencent_tc3_matches_the_published_example() -> None:
    """Tencent Cloud API 3.0 "Signature v3" documentation (cloud.tencent.com/document/api/
    213/30654, the CVM DescribeInstances example with SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3
    EXAMPLE, timestamp 1551113065) -> Signature=72e494ea...5168. Same algorithm as SendSms,
    with service "cvm" instead of "sms"."""
    payload = ('{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], '
               '"Name": "instance-name"}]}')
    header = tencent_sms.authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", host="cvm.tencentcloudapi.com",
        payload=payload, timestamp=1551113065, service="cvm")
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


@pytest.mark.parametrize(("body", "kind", "reason"), [
    ({"Code": "OK", "BizId": "1^0"}, "sent", "rejected"),
    ({"Code": "isv.MOBILE_NUMBER_ILLEGAL"}, "permanent", "invalid_number"),
    ({"Code": "isv.BUSINESS_LIMIT_CONTROL"}, "transient", "rejected"),
    ({"Code": "isp.SYSTEM_ERROR"}, "transient", "rejected"),
    ({"Code": "isv.SMS_TEMPLATE_ILLEGAL"}, "permanent", "rejected"),
])
def test_aliyun_answers(body, kind, reason) -> None:
    result = aliyun_sms.classify(body)
    assert (result.kind, result.reason) == (kind, reason)


@pytest.mark.parametrize(("status", "kind", "reason"), [
    ({"Code": "Ok", "SerialNo": "2106:1"}, "sent", "rejected"),
    ({"Code": "InvalidParameterValue.IncorrectPhoneNumber"}, "permanent", "invalid_number"),
    ({"Code": "FailedOperation.PhoneNumberInBlacklist"}, "permanent", "user_blocked"),
    ({"Code": "LimitExceeded.PhoneNumberOneHourLimit"}, "transient", "rejected"),
])
def test_tencent_answers(status, kind, reason) -> None:
    result = tencent_sms.classify({"Response": {"SendStatusSet": [status]}})
    assert (result.kind, result.reason) == (kind, reason)
    error = tencent_sms.classify({"Response": {"Error": {"Code": "RequestLimitExceeded"}}})
    assert error.kind == "transient"
