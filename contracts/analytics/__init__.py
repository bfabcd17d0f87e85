"""Events published by the analytics service. Major version 1: `contracts.analytics.v1`."""
