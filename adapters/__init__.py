"""Adapters from other systems' events to the platform's contracts (one package each)."""
