"""Shared runtime beside the services: settings, database, inbox/outbox/relay, Kafka wiring,
telemetry. Domain code never imports it; service adapters do."""
