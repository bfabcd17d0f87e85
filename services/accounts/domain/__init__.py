"""The accounts service's rules as plain Python: no I/O, nothing awaited."""
