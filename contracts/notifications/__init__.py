"""Events published by the notifications service. Major version 1: `contracts.notifications.v1`."""
