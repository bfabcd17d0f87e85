"""Events published by core banking. Major version 1: `contracts.corebanking.v1`."""
