"""The Prometheus configuration and rules (deploy/prometheus): promtool accepts them, its
unit tests pass (every alert fires when it should and stays quiet when it should not), and
every alert has a severity, a summary and a runbook section that exists in docs/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
SEVERITIES = {"critical", "warning"}


def promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: scripts/bootstrap installs Debian's prometheus package"
    done = subprocess.run([tool, *args], cwd=PROMETHEUS, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "rules" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_config_and_rules_are_valid():
    promtool("check", "config", "prometheus.yml")
    promtool("check", "rules", *sorted(str(p) for p in (PROMETHEUS / "rules").glob("*.yml")))


def test_alert_unit_tests_pass():
    out = promtool("test", "rules", *sorted(str(p) for p in (PROMETHEUS / "tests").glob("*.yml")))
    assert "SUCCESS" in out


def test_every_alert_has_severity_summary_and_runbook_section():
    anchors = {re.sub(r"[^a-z0-9-]", "", line[3:].strip().lower().replace(" ", "-"))
               for line in RUNBOOKS.read_text().splitlines() if line.startswith("## ")}
    rules = alerts()
    assert len(rules) >= 11
    for rule in rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["annotations"]["summary"].strip(), name
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert (ROOT / page) == RUNBOOKS and anchor in anchors, (name, anchor)


def test_every_alert_is_tested_firing_and_quiet():
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in (PROMETHEUS / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - fired == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"
