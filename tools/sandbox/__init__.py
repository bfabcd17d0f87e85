"""Local stand-ins for the notification providers (WeChat, Alibaba Cloud and Tencent Cloud
SMS): `python -m tools.sandbox`."""
