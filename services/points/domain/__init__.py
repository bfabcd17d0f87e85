"""Pure domain code: no I/O, no awaits, no runtime imports."""
