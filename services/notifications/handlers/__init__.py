"""One module per input: consumed contacts (`contacts.py`), consumed member, points and
rewards events (`member_events.py`), the scheduled messages job (`scheduled.py`), the
sender job (`sender.py`) and the providers' delivery receipts (`receipts.py`); `queue.py`
turns intents into message rows for the event handlers and the scheduled job alike."""
