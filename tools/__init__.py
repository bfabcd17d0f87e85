"""Development tools beside the services (not shipped in the wheel): benchmarks, the
notification provider sandbox, generators."""
