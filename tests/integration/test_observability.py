"""Dashboards and rules against the real system: the four services run as processes (a world
of their own, tools/chaos/world.py), core banking's records and partner redemptions feed
them, a real Prometheus scrapes them with the rules of deploy/prometheus/, and then every
dashboard panel query (tools/dashboards.py) and every recording and alert expression is
evaluated through Prometheus's HTTP API. Each must parse; each panel query and recording
rule must return data (a misspelt metric name returns none); every metric an alert reads
must exist. The dead letter the test causes must fire LoyaltyDeadLetters."""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from contracts.envelope import EncodedEvent
from contracts.topics import CARD_TRANSACTIONS_V1, CUSTOMERS_V1
from deploy.local.launcher import prometheus_command
from runtime.auth import dev_token
from tools import dashboards
from tools.chaos import delivery
from tools.chaos.inputs import generate
from tools.chaos.kafka import Broker
from tools.chaos.redemptions import LOUNGE_PARTNER, Driver, create_partners, scenarios
from tools.chaos.world import SANDBOX, SERVICES, World, free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
#: PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}


def rule_expressions() -> tuple[dict[str, str], dict[str, str]]:
    """(recording rules: name -> expr, alerts: name -> expr) of deploy/prometheus/rules/."""
    records, alerts = {}, {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    records[rule["record"]] = rule["expr"]
                else:
                    alerts[rule["alert"]] = rule["expr"]
    return records, alerts


def metric_names(expr: str) -> set[str]:
    """The metric (and recorded series) names an expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {n for n in names if n.lower() not in KEYWORDS}


def test_metric_names_are_read_from_expressions():
    assert metric_names('sum by (service, topic) (rate(x_total{a="b c"}[5m])) / on (service)'
                        ' y:z:rate1m > 0 unless w offset 10m') == {"x_total", "y:z:rate1m", "w"}


class AppDriver(Driver):
    """The fault suite's redemption driver; the member app's calls carry the member's own
    development token (what the services trust in development)."""

    async def _code(self, member_id: str) -> str | None:
        token = dev_token("app", member_id)
        response = await self._retried(lambda: self.http.post(
            f"/v1/app/members/{member_id}/redemption-codes",
            headers={"Authorization": f"Bearer {token}"}))
        return response.json()["code"] if response.status_code == 201 else None


class Prometheus:
    def __init__(self, home: Path, world: World) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in RULES],
            "scrape_configs": [{
                "job_name": "loyalty",
                "static_configs": [{"targets": [f"127.0.0.1:{world.ports[s]}"],
                                    "labels": {"service": s}} for s in SERVICES],
            }],
        }
        (home / "prometheus.yml").write_text(yaml.safe_dump(config))
        with (home / "prometheus.log").open("ab") as out:
            self.proc = subprocess.Popen(
                prometheus_command(home / "prometheus.yml", home / "data", self.port),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    async def query(self, http: httpx.AsyncClient, expr: str) -> dict:
        answer = await http.get(f"{self.url}/api/v1/query", params={"query": expr})
        return answer.json()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def feed(world: World, bootstrap: str, database_url: str) -> dict[str, int]:
    """Core banking's records, a record nobody can decode, partner redemptions (some
    refused, some cancelled), requests with a bad signature, and numbers the SMS provider
    refuses: something for every panel. Returns what was done, for the failure message."""
    data = generate(seed=11, transactions=1500, customers=150, months=4, close_share=0.05)
    mobiles = [json.loads(r.value)["mobile"] for r in data.onboardings
               if r.topic == CUSTOMERS_V1 and b'"mobile"' in r.value]
    async with httpx.AsyncClient(timeout=10) as http:
        await http.post(f"{world.url(SANDBOX)}/faults",
                        json={"invalid_numbers": mobiles[: len(mobiles) // 5]})
    keys = await create_partners(world, database_url)
    broker = Broker(bootstrap)
    for phase in data.natural():
        await delivery.publish(bootstrap, world, phase)
        assert await delivery.settle(world, broker, database_url, 240) == []
    await delivery.publish(bootstrap, world, [EncodedEvent(
        topic=CARD_TRANSACTIONS_V1, key=b"poison", value=b"not an event", headers=[])])

    driver = AppDriver(world, keys)
    try:
        todo = scenarios(random.Random("observability"), data.member_ids, 25)
        await driver.allow(sum(len(s.operations) for s in todo))
        await driver.run(todo)
    finally:
        await driver.close()
    async with httpx.AsyncClient(base_url=world.url("rewards"), timeout=10) as http:
        for _ in range(20):
            answer = await http.post("/v1/redemptions/lounge-visits", content=b"{}", headers={
                "X-Key-Id": keys[LOUNGE_PARTNER][0], "X-Timestamp": str(int(time.time())),
                "X-Nonce": secrets.token_hex(12), "X-Signature": "0" * 64,
                "Content-Type": "application/json"})
            assert answer.status_code == 401
    assert await delivery.settle(world, broker, database_url, 240) == []
    statuses = Counter(driver.outcomes.answers.values())
    assert statuses[201] + statuses[202] > 0, f"no redemption was made: {statuses}"
    return {"records": data.records, "redemption members": len(todo), **{
        f"answered {status}": n for status, n in sorted(statuses.items())}}


async def test_dashboards_and_rules_on_real_prometheus(infra, tmp_path):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    database_url = infra["DATABASE_URL"]
    world = World("obs", uuid.uuid4().hex[:8], tmp_path)
    prometheus = Prometheus(tmp_path, world)
    records, alerts = rule_expressions()
    panels = dashboards.panel_queries()
    try:
        await world.start()
        fed = await feed(world, bootstrap, database_url)
        async with httpx.AsyncClient(timeout=10) as http:
            # Every expression parses.
            for what, expr in [*((f"panel {d}/{t}", e) for d, t, e in panels),
                               *((f"record {n}", e) for n, e in records.items()),
                               *((f"alert {n}", e) for n, e in alerts.items())]:
                answer = await prometheus.query(http, expr)
                assert answer["status"] == "success", (what, expr, answer)

            wanted = {**{f"panel {d}/{t}: {e}": e for d, t, e in panels},
                      **{f"record {n}": n for n in records},
                      **{f"series {n} (alert {a})": n for a, e in alerts.items()
                         for n in metric_names(e)},
                      "the dead letter fired LoyaltyDeadLetters":
                          'ALERTS{alertname="LoyaltyDeadLetters", alertstate="firing"}'}
            empty = dict(wanted)
            deadline = time.monotonic() + 120  # rates need a few scrapes of the counters
            while empty and time.monotonic() < deadline:
                for what, expr in list(empty.items()):
                    if (await prometheus.query(http, expr))["data"]["result"]:
                        del empty[what]
                await asyncio.sleep(2)
        assert not empty, f"no data after feeding {fed}:\n" + "\n".join(sorted(empty))
    finally:
        await world.stop()
        prometheus.stop()
        await world.remove(bootstrap, database_url)
