"""Versioned event contracts shared by every service. Models only: no I/O lives here."""
