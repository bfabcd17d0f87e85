"""Apache Fineract -> the platform's core-banking contracts: an adapter laid out like a
service (app.py first)."""
