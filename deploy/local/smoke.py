"""Checks used by scripts/run: wait until services are ready; after a timed run, show that
events flowed (consumed, applied and published counts from each service's /metrics).

    python -m deploy.local.smoke ready points accounts
    python -m deploy.local.smoke check points accounts
    python -m deploy.local.smoke port points
"""

from __future__ import annotations

import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

PORTS = {"accounts": 8001, "points": 8002, "rewards": 8003, "notifications": 8004,
         "analytics": 8006}


def url(service: str, path: str) -> str:
    return f"http://127.0.0.1:{PORTS.get(service, 8009)}{path}"


def ready(services: list[str], timeout: float = 90) -> int:
    for service in services:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url(service, "/health/ready"), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    print(f"{service} did not become ready in {timeout:.0f}s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
    return 0


def totals(service: str) -> dict[str, float]:
    with urllib.request.urlopen(url(service, "/metrics"), timeout=5) as response:
        text = response.read().decode()
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "loyalty_events_consumed_total":
                key = f"consumed/{sample.labels['outcome']}"
            elif sample.name == "loyalty_outbox_published_total":
                key = "published"
            else:
                continue
            sums[key] = sums.get(key, 0) + sample.value
    return sums


def check(services: list[str]) -> int:
    failed = False
    for service in services:
        figures = totals(service)
        shown = ", ".join(f"{k}={v:.0f}" for k, v in sorted(figures.items())) or "nothing"
        print(f"{service}: {shown}")
        if figures.get("consumed/applied", 0) == 0:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    command, *names = sys.argv[1:]
    if command == "port":
        print(PORTS.get(names[0], 8009))
        sys.exit(0)
    sys.exit({"ready": ready, "check": check}[command](names))
