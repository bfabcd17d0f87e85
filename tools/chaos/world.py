"""One world: the four services as processes (`python -m services.<name>`) under a schema,
consumer group and topic prefix of its own, plus its provider sandbox; started, killed,
restarted, stopped, and removed (topics and schemas) at the end.

A process that exits without being killed is started again, as an orchestrator would, and
counted: the report shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from contracts.topics import (
    ASSET_SNAPSHOTS_V1,
    CARD_TRANSACTIONS_V1,
    CUSTOMERS_V1,
    MEMBER_CONTACTS_V1,
    MEMBERS_V1,
    NOTIFICATIONS_V1,
    POINTS_V1,
    REWARDS_V1,
)
from runtime.kafka import delete_topics

log = logging.getLogger("chaos")
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("accounts", "points", "rewards", "notifications")
#: What each service consumes (its app.py subscriptions): its lag is read on these.
CONSUMES = {
    "accounts": (CUSTOMERS_V1, ASSET_SNAPSHOTS_V1),
    "points": (CARD_TRANSACTIONS_V1, MEMBERS_V1, REWARDS_V1),
    "rewards": (MEMBERS_V1, POINTS_V1),
    "notifications": (MEMBER_CONTACTS_V1, MEMBERS_V1, POINTS_V1, REWARDS_V1),
}
#: What each publishes through its outbox.
PUBLISHES = {
    "accounts": (MEMBERS_V1, MEMBER_CONTACTS_V1),
    "points": (POINTS_V1,),
    "rewards": (REWARDS_V1,),
    "notifications": (NOTIFICATIONS_V1,),
}
INPUT_TOPICS = (CUSTOMERS_V1, ASSET_SNAPSHOTS_V1, CARD_TRANSACTIONS_V1)
#: base64 of 32 bytes: partner secrets are sealed under it (redemptions.py creates them).
PARTNER_KEY = "Y2hhb3MtcGFydG5lci1rZXktLTMyLWJ5dGVzLW9rISE="
SANDBOX = "sandbox"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class World:
    def __init__(self, label: str, run_id: str, log_dir: Path,
                 extra_env: dict[str, dict[str, str]] | None = None) -> None:
        self.label = label
        self.prefix = f"chaos.{run_id}.{label}."
        self.suffix = f"{label}_{run_id}"
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.ports = {name: free_port() for name in (*SERVICES, SANDBOX)}
        self.procs: dict[str, subprocess.Popen] = {}
        #: Processes that exited without being killed, by name (restarted each time).
        self.exits: dict[str, int] = dict.fromkeys(SERVICES, 0)
        self._killed: set[str] = set()  # down on purpose: not the supervisor's to start
        self._supervisor: asyncio.Task | None = None

    def schema(self, service: str) -> str:
        """The service's schema, consumer group and CloudEvents source name."""
        return f"{service}_{self.suffix}"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def topic(self, contract_topic: str) -> str:
        return self.prefix + contract_topic

    def env(self, service: str) -> dict[str, str]:
        sandbox = self.url(SANDBOX)
        env = {**os.environ, "SERVICE_NAME": self.schema(service), "TOPIC_PREFIX": self.prefix,
               "HTTP_PORT": str(self.ports[service]), "INSTANCE_ID": f"{service}-{self.label}",
               "PYTHONUNBUFFERED": "1"}
        if service == "rewards":
            env |= {"PARTNER_KEY_ENCRYPTION_KEY": PARTNER_KEY}
        if service == "notifications":
            # No quiet hours and a high cap: every message goes as soon as it is due, so the
            # sandbox sees as many sends as possible (and whatever the time of day).
            env |= {"WECHAT_BASE_URL": f"{sandbox}/wechat", "ALIYUN_BASE_URL": f"{sandbox}/aliyun/",
                    "TENCENT_BASE_URL": f"{sandbox}/tencent/", "QUIET_START": "00:00",
                    "QUIET_END": "00:00", "DAILY_CAP": "100", "JOBS_POLL_SECONDS": "5"}
        return env | self.extra_env.get(service, {})

    # ------------------------------------------------------------------ processes

    def spawn(self, name: str) -> None:
        if name == SANDBOX:
            command = ["-m", "tools.chaos.sandbox", "--port", str(self.ports[SANDBOX]),
                       "--receipts-to", f"{self.url('notifications')}/callbacks"]
            env = dict(os.environ)
        else:
            command, env = ["-m", f"services.{name}"], self.env(name)
        with (self.log_dir / f"{self.label}-{name}.log").open("ab") as out:
            self.procs[name] = subprocess.Popen(
                [sys.executable, *command], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def down(self, name: str) -> None:
        """kill -9 (and reap it); it stays down until `up`."""
        proc = self.procs[name]
        self._killed.add(name)
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def up(self, name: str) -> None:
        self.spawn(name)
        self._killed.discard(name)

    async def start(self) -> None:
        self.spawn(SANDBOX)
        for service in SERVICES:
            self.spawn(service)
        for name in (SANDBOX, *SERVICES):
            if not await self.ready(name, timeout=180):
                raise RuntimeError(f"{self.label}: {name} did not become ready (log: "
                                   f"{self.log_dir / f'{self.label}-{name}.log'})")
        await self._check_schemas()
        self._supervisor = asyncio.create_task(self._supervise())

    async def _check_schemas(self) -> None:
        """Every service runs under the world's name: a service whose entry point ignored
        SERVICE_NAME would be working in the shared default schema."""
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        try:
            found = {r[0] for r in await conn.fetch(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])",
                [self.schema(s) for s in SERVICES])}
        finally:
            await conn.close()
        if missing := [s for s in SERVICES if self.schema(s) not in found]:
            raise RuntimeError(f"{', '.join(missing)} did not take SERVICE_NAME: does its"
                               " __main__ run runtime.service.main?")

    async def ready(self, name: str, timeout: float) -> bool:
        path = "/stats" if name == SANDBOX else "/health/ready"
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(self.url(name) + path)).status_code == 200:
                        return True
                await asyncio.sleep(0.2)
        return False

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for service in SERVICES:
                code = self.procs[service].poll()
                if code is not None and service not in self._killed:
                    self.exits[service] += 1
                    log.warning("%s: %s exited by itself (code %s); starting it again",
                                self.label, service, code)
                    self.spawn(service)

    async def stop(self) -> None:
        if self._supervisor:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    async def remove(self, bootstrap: str, database_url: str) -> None:
        """The world's topics and schemas."""
        await delete_topics(bootstrap, self.prefix)
        conn = await asyncpg.connect(database_url)
        try:
            for service in SERVICES:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema(service)}" CASCADE')
        finally:
            await conn.close()
