"""Events published by the accounts service. Major version 1: `contracts.accounts.v1`."""
