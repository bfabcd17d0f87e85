"""The fault suite's short run (`scripts/chaos --short`, issue 13) as a test, so that a
regression fails the build: kill -9 of every consumer service, an immediate stop of
PostgreSQL, a kill -9 of the broker and the input out of order, then the end state compared
with a clean run of the same input; it must find no difference.

It kills and restarts the broker and the database, so it runs on infrastructure of its own
(deploy/local/launcher.py under a state directory and ports of its own), never on the
shared one the other tests use; it stops it and removes its state at the end. The suite's
figures are printed (pytest -s shows them).
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
#: Well within its five minutes on two busy cores (infrastructure start included).
TIMEOUT = 900


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports() -> tuple[int, int]:
    """Kafka's port (the controller takes the next one) and PostgreSQL's, below the
    ephemeral range: a client's outgoing connection cannot be sitting on them."""
    rng = random.Random()
    for _ in range(500):
        kafka, pg = rng.randrange(20000, 30000, 2), rng.randrange(30000, 32000)
        if all(map(_free, (kafka, kafka + 1, pg))):
            return kafka, pg
    raise RuntimeError("no free ports for the private infrastructure")


def _launcher(command: str, env: dict[str, str], timeout: float = 300
              ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy.local.launcher", command], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_the_short_fault_suite_finds_no_difference():
    kafka, pg = _ports()
    # Under the repository's .local: the postgres user must reach the data directory.
    state = ROOT / ".local" / f"chaos-ci-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    env |= {"LOYALTY_LOCAL_DIR": str(state), "LOYALTY_KAFKA_PORT": str(kafka),
            "LOYALTY_PG_PORT": str(pg)}
    try:
        up = _launcher("up", env)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-4000:]
        for line in _launcher("env", env).stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = shlex.split(value)[0]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{kafka}"

        run = subprocess.run([sys.executable, "-m", "tools.chaos", "--short"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=TIMEOUT)
        print(run.stdout)
        assert run.returncode == 0 and "\ndifferences: 0" in run.stdout, (
            run.stdout[-6000:] + run.stderr[-3000:])
    finally:
        _launcher("down", env)
        shutil.rmtree(state, ignore_errors=True)
