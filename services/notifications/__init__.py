"""The notifications service: SMS and WeChat messages members hear about.

Where to look:
- `app.py`: where messages enter (subscriptions, jobs, routes) and how the service is built.
- `domain/`: the rules, pure: which event becomes which message and where it goes in the
  log (`messages.py`: intents, consent, placement, rendering), when it may go
  (`schedule.py`: quiet hours, daily cap, summary and birthday timing), the templates
  (`templates.py`), what a provider's answer means and the backoff (`delivery.py`).
- `handlers/`: one module per input: contacts, member/points/rewards events, the
  scheduled messages job, the sender job, delivery receipts; `queue.py` writes intents
  as message rows.
- `sql/`: all the SQL, per group of tables (contacts, messages, summaries, receipts).
- `providers/`: WeChat Official Account, Alibaba Cloud SMS, Tencent Cloud SMS adapters,
  and the keep-alive HTTP client they share in production (`transport.py`).
- `api.py`: the delivery-receipt callbacks, authenticated per provider; `settings.py`:
  settings (production refuses the sandbox and development keys) and template loading;
  `reseal.py`: the ops command re-sealing contact data under a new key after a rotation;
  `clock.py`: the service's notion of now; `templates/*.toml`: the message texts, zh-CN
  and en-US, SMS and WeChat; `migrations/`.

Development tools live outside the package: the provider sandbox (`python -m tools.sandbox`)
and the burst benchmark (`python -m tools.bench.notifications`).
"""
