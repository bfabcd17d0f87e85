"""The rewards rules as plain Python: no I/O, nothing awaits."""
