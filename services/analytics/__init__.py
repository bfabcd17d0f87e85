"""The analytics service: the programme's monthly measures (retention and churn, lifetime
value, lifecycle stages, tier mix and moves, points' cost, redemptions, lounges, reach),
the calls for relationship managers, and the monthly report.

Where to look:
- `app.py`: where everything enters (subscriptions, the monthly calls job, HTTP routes).
- `handlers/`: one module per input: what a batch adds to the read models; `figures.py`
  loads a month's ProgrammeFigures (the report's input).
- `domain/`: the measures, pure; `figures.py` is what the report shows (report/ renders it).
- `sql/`: all the SQL; `migrations/`: the read models.
- `api.py`: the staff routes; `commands.py`: `report` and `rebuild` (`rebuild.py`).
- docs/analytics.md: every measure's formula with a worked example.
"""
