"""The operations command line, `loyalty-ops` (or `python -m ops`): the daily chores of the
run team on the platform's broker and database.

    dead-letters   list by topic and reason, show one (PII masked), replay to the original
                   topic under the original event id, marked in the ops schema
    refunds        refunds parked in points for their purchase: list, retry, expire
    sagas          points-paid redemptions pending in rewards: list, retry, expire
    reconcile      points' ledger invariants, and rewards against points (exit 1 if off)
    partners       create, list, rotate and revoke keys, set scopes, lounges, offers, rate
    members        look up by customer id or mobile number (keyed hash), shown masked
    reseal         members, contacts and partner secrets under the current key

What is specific to a service stays in it (`services/points/{invariants,parked}.py`,
`services/rewards/{partners,sagas}.py`, the services' `reseal.py`); the commands call it,
in a unit of work of the service's where they write (`target.py`). `cli.py` assembles the
commands; `sql/` holds the ops schema (replayed dead letters) and the reads across services.
"""
