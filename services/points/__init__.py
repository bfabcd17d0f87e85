"""The points service: the double-entry points ledger, earning rules and campaigns.

Where to look:
- `app.py`: where messages enter (the subscribers) and how the service is assembled.
- `domain/earning.py`: the rule that decides how many points a purchase earns.
- `programme.toml`: the programme's configuration (categories, tiers, caps, campaigns),
  validated by `domain/rules.py` at start-up.
- `handlers.py`: a consumed batch, from events to ledger writes and outgoing events.
- `ledger_sql.py`: all the SQL; `migrations/`: the tables.
- `invariants.py`: `python -m services.points.invariants` checks the ledger adds up.
"""
