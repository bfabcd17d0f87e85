"""The rewards service: partners redeem lounge visits and alliance offers over a signed API.

Where to look:
- `app.py`: where messages and requests enter, and how the service is assembled.
- `api.py`: the HTTP routes (/v1), `schemas.py` their bodies and the answers as stored;
  `auth.py`: request signatures, nonces, rate, app token.
- `handlers/`: one module per input: `redemptions.py` (the partner API's commands: one load,
  the decision, one save, per request), `catalogue.py` (staff changes to the catalogue, and
  the view every instance keeps current from the database), `saga.py` (the points
  service's answers), `timeouts.py` (the job ending sagas that wait too long), `members.py`
  (the members projection), `pruning.py`.
- `domain/`: the rules (allowances, offers, the catalogue, redemptions, codes,
  signatures), plain Python.
- `sql/`: all the SQL, one module per group of tables; `migrations/`: the tables.
- `settlements.py`: requests waiting for the saga hear of its settlement (LISTEN).
- `settings.py`: environment settings, and loading `benefits.toml` (allowances and prices,
  validated at start-up) and `catalogue/` (the demo merchants, offers and lounges, which
  seed the database's catalogue on its first start).
- `partners.py`: partners and their keys; `sagas.py`: pending sagas asked again or expired
  (both run by `loyalty-ops partners` and `loyalty-ops sagas`, ops/).
Development tools live in tools/: the benchmark (`python -m tools.bench.rewards`), the
catalogue generator (`tools/catalogue.py`) and the reference partner client
(`tools/partner_client.py`).
"""
