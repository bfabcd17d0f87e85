"""Runs `loyalty-ops` (as `python -m ops`) against a test's private world: its schemas and
its topic prefix, the real broker and database from the environment."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


async def ops(*args: str, services: dict | None = None, stdin: str | None = None,
              env: dict[str, str] | None = None) -> Result:
    """`services`: the world's services by name (points, rewards, ...): their schemas and
    the world's topic prefix (the same for all; the last given counts) are passed as the
    root command's options."""
    options: list[str] = []
    for name, service in (services or {}).items():
        options += [f"--{name}-schema", service.schema, "--topic-prefix", service.topic_prefix]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops", *options, *args,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), timeout=90)
    return Result(process.returncode, out.decode(), err.decode())
