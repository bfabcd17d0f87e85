"""Events published by the points service. Major version 1: `contracts.points.v1`."""
