"""The notification rules as plain Python: no I/O, no awaiting, time passed in."""
