"""Local stand-ins for the providers: `python -m services.notifications.sandbox`."""
