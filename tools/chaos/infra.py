"""The broker and database faults, on the infrastructure deploy/local/launcher.py runs (the
one `scripts/infra` starts): kill -9 of the Kafka broker, `pg_ctl stop -m immediate` of
PostgreSQL, and starting each again the launcher's way (it returns once they serve)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from deploy.local import launcher


class NotOurs(RuntimeError):
    """The broker or database in the environment is not the launcher's."""


def check_managed(bootstrap: str, database_url: str) -> None:
    expected = launcher.env()
    if (bootstrap, database_url) != (expected["KAFKA_BOOTSTRAP_SERVERS"],
                                     expected["DATABASE_URL"]):
        raise NotOurs("the fault suite restarts the broker and the database through "
                      "deploy/local/launcher.py: KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL must "
                      "be the launcher's (eval \"$(scripts/infra env)\")")
    if _broker_pid() is None:
        raise NotOurs(f"no broker pid in {_pid_file()}: start it with scripts/infra up")


def _pid_file():
    return launcher.KafkaPaths(launcher.state_dir() / "kafka").pid


def _broker_pid() -> int | None:
    return launcher.pid_alive(_pid_file())


async def kill_broker() -> None:
    pid = _broker_pid()
    if pid is None:
        raise RuntimeError("the broker is not running")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:  # started by a fault before this one, it is our child: reap it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # noqa: ASYNC222 (does not block)
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the broker (pid {pid}) did not die")


async def start_broker() -> None:
    await asyncio.to_thread(launcher.kafka_up)


async def stop_database() -> None:
    _home, data = launcher.pg_dirs()
    await asyncio.to_thread(
        launcher.as_postgres, [str(launcher.pg_bindir() / "pg_ctl"), "-D", str(data),
                               "-m", "immediate", "-w", "stop"], capture_output=True)


async def start_database() -> None:
    await asyncio.to_thread(launcher.pg_up)


async def restore() -> None:
    """Both serving again, whatever state a fault left them in (`up` starts only what is
    not serving)."""
    await asyncio.to_thread(launcher.up)
