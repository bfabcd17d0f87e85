"""One package per service. A service owns its schema and talks to others only through
events in `contracts`; no service imports another service's code."""
