"""The adapter's rules, pure Python: Fineract clients as core-banking customers
(clients.py), day-end balances as monthly average daily assets (balances.py)."""
