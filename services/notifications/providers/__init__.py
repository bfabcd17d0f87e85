"""Adapters for the real provider APIs: WeChat Official Account template messages, and SMS
through Alibaba Cloud or Tencent Cloud (chosen by configuration). Each answers a
`domain.delivery.Result`; none of them logs a phone number, an openid or a secret."""
