"""Benchmarks, one module per service: `python -m tools.bench.<service>`."""
