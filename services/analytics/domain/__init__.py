"""The measures, pure Python: no I/O, no runtime imports. `history.py` holds the read
models as values, one module per measure works on them, `programme.py` puts them together
as the report's `figures.py` ProgrammeFigures; `model.py` is their configuration."""
