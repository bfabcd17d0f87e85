"""Events published by the rewards service. Major version 1: `contracts.rewards.v1`."""
