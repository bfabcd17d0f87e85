"""The notifications service: SMS and WeChat messages members hear about.

Where to look:
- `app.py`: where messages enter (the subscribers) and how the service is assembled.
- `domain/`: the rules, pure: which event becomes which message (`messages.py`), when it
  may go (`schedule.py`: quiet hours, daily cap, summary and birthday timing), how it is
  rendered (`templates.py`), what a provider's answer means and the backoff (`delivery.py`);
  consent is in `messages.py` too.
- `templates/*.toml`: the message texts, zh-CN and en-US, SMS and WeChat.
- `handlers.py`: consumed batches -> contact projection and queued `messages` rows.
- `sender.py`: due messages -> providers -> message log and outgoing events.
- `jobs.py`: daily points summaries and birthday greetings.
- `providers/`: WeChat Official Account, Alibaba Cloud SMS, Tencent Cloud SMS adapters,
  and the keep-alive HTTP client they share in production (`transport.py`).
- `sandbox/`: local stand-ins for the providers (`python -m services.notifications.sandbox`).
- `api.py`: delivery-receipt callbacks; `messages_sql.py`: all the SQL; `migrations/`.
- `bench.py`: `python -m services.notifications.bench`, the 50,000-event burst.
"""
