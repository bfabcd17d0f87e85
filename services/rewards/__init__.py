"""The rewards service: partners redeem lounge visits and alliance offers over a signed API.

Where to look:
- `app.py`: where messages and requests enter, and how the service is assembled.
- `api.py`: the HTTP routes (/v1); `auth.py`: request signatures, nonces, rate, app token.
- `fast_path.py`: the hot paths in front of the routes: lounge visits inside the allowance
  in one database call, offers without FastAPI; anything else goes on to api.py.
- `redemptions.py`: redeem / cancel / the saga's bounded wait, once per Idempotency-Key.
- `handlers.py`: consumed batches (members projection, the points service's answers).
- `domain/`: the rules (allowances, offers, codes, signatures), plain Python.
- `rewards_sql.py`: all the SQL; `migrations/`: the tables.
- `benefits.toml`: allowances and prices, validated at start-up;
  `catalogue/`: the demo offers and lounges, upserted at every start.
- `partners.py`: `python -m services.rewards.partners create|rotate|revoke|list` (ops).
- `bench.py`: `python -m services.rewards.bench`, open-loop load with signed requests.
"""
