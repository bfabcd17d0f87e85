"""Grafana dashboards as code: `python -m tools.dashboards` writes the dashboards' JSON and
Grafana's provisioning files into deploy/grafana/; `--check` exits 1 when what is committed
differs from what this file builds (tests/unit/test_dashboards.py runs it).

The dashboards are built with grafana-foundation-sdk (Grafana's own typed builders), from
the panel lists below: overview, points, rewards, notifications, members. Their queries use
the recording rules of deploy/prometheus/rules/ where one exists; tests/integration/
test_observability.py evaluates every one of them on a real Prometheus scraping the real
services.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "deploy" / "grafana"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="loyalty-prometheus")
#: Where provisioned Grafana finds the dashboards' JSON (mount deploy/grafana/dashboards there).
DASHBOARDS_PATH = "/var/lib/grafana/dashboards/loyalty"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    #: "timeseries" or "stat" (a number now).
    kind: str = "timeseries"
    description: str = ""


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


DASHBOARDS: dict[str, tuple[str, dict[str, list[Panel]]]] = {
    "loyalty-overview": ("Loyalty / Overview", {
        "Flow": [
            Panel("Events consumed by outcome", (q(
                "sum by (service, outcome) (service_topic:loyalty_events_consumed:rate1m)",
                "{{service}} {{outcome}}"),), "ops"),
            Panel("Events published", (q(
                "sum by (service, topic) (service_topic:loyalty_outbox_published:rate1m)",
                "{{service}} → {{topic}}"),), "ops"),
            Panel("Consumer lag", (q(
                "sum by (service, topic) (service_group_topic:loyalty_consumer_lag_records:sum)",
                "{{service}} ← {{topic}}"),), "short",
                description="Records behind the high watermark after each batch."),
            Panel("Batch time p99", (q(
                "service_topic:loyalty_batch_seconds:p99_1m", "{{service}} {{topic}}"),), "s"),
        ],
        "Failures and the outbox": [
            Panel("Dead letters (10 min)", (q(
                "sum by (service, topic) (service_topic:loyalty_dead_letters:increase10m)",
                "{{topic}}"),), "short",
                description="loyalty-ops dead-letters list shows them (docs/runbooks.md)."),
            Panel("Outbox backlog", (q(
                "max by (service) (loyalty_outbox_backlog_rows)", "{{service}}"),), "short"),
            Panel("Oldest outbox row", (q(
                "max by (service) (loyalty_outbox_oldest_age_seconds)", "{{service}}"),), "s"),
            Panel("Active relays", (q(
                "sum by (service) (loyalty_outbox_relay_active)", "{{service}}"),), "short",
                "stat", "Instances holding the relay lock: 1 per service."),
        ],
        "Service health": [
            Panel("Service health", (q('up{job="loyalty"}', "{{service}} {{instance}}"),),
                  "short", "stat", "1: /metrics answers; 0: down."),
            Panel("HTTP latency p99 by route", (q(
                "service_route:loyalty_http_request_seconds:p99_1m",
                "{{service}} {{route}}"),), "s"),
            Panel("Transient retries", (q(
                "sum by (service, operation) (rate(loyalty_transient_retries_total[5m]))",
                "{{service}} {{operation}}"),), "ops",
                description="Database or broker unreachable: retried, never dead-lettered."),
        ],
    }),
    "loyalty-points": ("Loyalty / Points", {
        "Issuance": [
            Panel("Points moved per second", (q(
                "sum by (movement) (movement_kind:loyalty_points:rate1m)",
                "{{movement}}"),), "short"),
            Panel("Issued: base and bonus", (q(
                'movement_kind:loyalty_points:rate1m{movement="issued"}', "{{kind}}"),),
                "short"),
            Panel("Earning rules applied", (q(
                "topk(10, rule:loyalty_points_rules_applied:rate5m)", "{{rule}}"),), "ops",
                description="Purchases each rule, campaign or cap applied to."),
            Panel("Redemption debits refused", (q(
                "sum by (reason) (rate(loyalty_points_debits_rejected_total[5m]))",
                "{{reason}}"),), "ops"),
        ],
        "Liability": [
            Panel("Outstanding points", (q("max(loyalty_points_liability_points)"),),
                  "short", "stat"),
            Panel("Outstanding liability (CNY)", (q("max(loyalty_points_liability_cny)"),),
                  "currencyCNY", "stat", "At POINT_VALUE_CNY per point."),
        ],
        "Expiry and parked refunds": [
            Panel("Points expired and forfeited (24 h)", (q(
                'sum by (movement) (increase(loyalty_points_total'
                '{movement=~"expired|forfeited"}[24h]))', "{{movement}}"),), "short"),
            Panel("Expiry job: since last success", (q(
                'time() - max(loyalty_periodic_last_success_timestamp_seconds'
                '{task="expiry_job"})'),), "s", "stat"),
            Panel("Parked refunds", (
                q("max(loyalty_points_refunds_parked)", "parked"),
                q("max(loyalty_points_refunds_parked_dead_lettered)",
                  "handed to operations")), "short"),
            Panel("Oldest parked refund", (q(
                "max(loyalty_points_refunds_parked_oldest_age_seconds)"),), "s", "stat"),
        ],
    }),
    "loyalty-rewards": ("Loyalty / Rewards", {
        "Redemptions": [
            Panel("Redemptions by partner", (q(
                "sum by (partner, outcome) (partner_kind_outcome:loyalty_redemptions:rate1m)",
                "{{partner}} {{outcome}}"),), "ops"),
            Panel("Redemptions by kind", (q(
                "sum by (kind, outcome) (partner_kind_outcome:loyalty_redemptions:rate1m)",
                "{{kind}} {{outcome}}"),), "ops"),
            Panel("Lounge visits by airport", (q(
                "airport:loyalty_lounge_visits:rate5m", "{{airport}}"),), "ops"),
            Panel("Rejected and cancelled", (
                q("sum by (reason) (rate(loyalty_redemptions_rejected_total[5m]))",
                  "rejected: {{reason}}"),
                q("sum(rate(loyalty_redemptions_cancelled_total[5m]))", "cancelled")), "ops"),
        ],
        "Partner API": [
            Panel("Partner API latency", (
                q("endpoint:loyalty_partner_request_seconds:p50_1m", "p50 {{endpoint}}"),
                q("endpoint:loyalty_partner_request_seconds:p99_1m", "p99 {{endpoint}}")),
                "s"),
            Panel("Partner requests by status", (q(
                "sum by (status) (partner_status:loyalty_partner_requests:rate1m)",
                "{{status}}"),), "ops"),
            Panel("Refusals by partner", (q(
                'sum by (partner, status) (partner_status:loyalty_partner_requests:rate1m'
                '{status=~"401|403|409|422|429"})', "{{partner}} {{status}}"),), "ops",
                description="401 signature, 403 scope, 409 conflict, 422 invalid,"
                            " 429 rate limited."),
        ],
        "Sagas": [
            Panel("Pending sagas", (q("max(loyalty_redemptions_pending)"),), "short", "stat"),
            Panel("Oldest pending saga", (q(
                "max(loyalty_redemptions_pending_oldest_age_seconds)"),), "s", "stat"),
        ],
    }),
    "loyalty-notifications": ("Loyalty / Notifications", {
        "Messages": [
            Panel("Messages by channel and provider", (q(
                "sum by (channel, provider, outcome)"
                " (channel_provider_outcome:loyalty_notification_messages:rate1m)",
                "{{channel}} {{provider}} {{outcome}}"),), "ops"),
            Panel("Messages by template", (q(
                "sum by (template, outcome)"
                " (template_outcome:loyalty_notification_messages:rate5m)",
                "{{template}} {{outcome}}"),), "ops"),
            Panel("New messages by placement", (q(
                "sum by (placement) (rate(loyalty_notification_placed_total[5m]))",
                "{{placement}}"),), "ops",
                description="held: quiet hours or a later slot; capped: the daily cap."),
            Panel("Quiet-hours backlog", (q(
                "max by (when) (loyalty_notification_queued_messages)", "{{when}}"),),
                "short"),
        ],
        "Failures and providers": [
            Panel("Failures by reason", (q(
                'sum by (reason) (rate(loyalty_notification_messages_total'
                '{outcome="failed"}[5m]))', "{{reason}}"),), "ops"),
            Panel("Failed share", (q("loyalty_notification_messages_failed:ratio5m"),),
                  "percentunit", "stat"),
            Panel("Provider calls by result", (q(
                "sum by (provider, result)"
                " (rate(loyalty_notification_provider_calls_total[1m]))",
                "{{provider}} {{result}}"),), "ops"),
            Panel("Provider latency p99", (q(
                "channel_provider:loyalty_notification_provider_seconds:p99_1m",
                "{{channel}} {{provider}}"),), "s"),
            Panel("Receipts outstanding", (
                q("max(loyalty_notification_receipts_outstanding)", "messages"),), "short"),
            Panel("Oldest receipt outstanding", (q(
                "max(loyalty_notification_receipts_outstanding_oldest_age_seconds)"),), "s",
                "stat"),
        ],
    }),
    "loyalty-members": ("Loyalty / Members", {
        "Tier mix": [
            Panel("Members by tier", (q("tier:loyalty_members:max", "{{tier}}"),), "short"),
            Panel("Active members", (q("sum(tier:loyalty_members:max)"),), "short", "stat"),
        ],
        "Changes": [
            Panel("Upgrades and downgrades", (q(
                "sum by (direction) (rate(loyalty_member_tier_changes_total[5m]))",
                "{{direction}}"),), "ops"),
            Panel("Tier changes (1 h) by reason", (q(
                "direction_reason:loyalty_member_tier_changes:increase1h",
                "{{direction}} {{reason}}"),), "short"),
            Panel("Enrolments and closures", (
                q("sum(rate(loyalty_member_enrolments_total[5m]))", "enrolled"),
                q("sum(rate(loyalty_member_closures_total[5m]))", "closed")), "ops"),
        ],
    }),
}


def build(uid: str) -> Dashboard:
    title, rows = DASHBOARDS[uid]
    board = (Dashboard(title).uid(uid).tags(["loyalty", "generated"]).refresh("30s")
             .time("now-1h", "now").timezone("browser"))
    number = 0  # panel ids, rows included, unique in the dashboard
    for row, panels in rows.items():
        number += 1
        board = board.with_row(Row(row).id(number))
        for panel in panels:
            number += 1
            board = board.with_panel(_panel(panel, number))
    return board


def _panel(panel: Panel, number: int):
    builder = (Stat() if panel.kind == "stat" else Timeseries()).id(number).title(panel.title)
    builder = builder.unit(panel.unit).datasource(DATASOURCE).span(
        6 if panel.kind == "stat" else 12).height(8)
    if panel.description:
        builder = builder.description(panel.description)
    for ref, query in zip("ABCDEFGH", panel.queries, strict=False):
        target = Dataquery().expr(query.expr).ref_id(ref).datasource(DATASOURCE)
        if query.legend:
            target = target.legend_format(query.legend)
        builder = builder.with_target(target)
    return builder


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expression) of every panel query."""
    return [(uid, panel.title, query.expr) for uid, (_, rows) in DASHBOARDS.items()
            for panels in rows.values() for panel in panels for query in panel.queries]


def rendered() -> dict[Path, str]:
    """Every file this generator writes, by path, with its content."""
    files = {OUT / "dashboards" / f"{uid}.json":
             json.dumps(build(uid).build(), cls=JSONEncoder, indent=2, sort_keys=True,
                        ensure_ascii=False) + "\n"
             for uid in DASHBOARDS}
    header = "# Generated by `python -m tools.dashboards`; do not edit.\n"
    files[OUT / "provisioning" / "datasources" / "loyalty.yml"] = header + yaml.safe_dump({
        "apiVersion": 1,
        "datasources": [{"name": "Loyalty Prometheus", "type": "prometheus",
                         "uid": DATASOURCE.uid, "access": "proxy",
                         "url": "http://127.0.0.1:19090", "isDefault": True}],
    }, sort_keys=False)
    files[OUT / "provisioning" / "dashboards" / "loyalty.yml"] = header + yaml.safe_dump({
        "apiVersion": 1,
        "providers": [{"name": "loyalty", "folder": "Loyalty", "type": "file",
                       "disableDeletion": True, "allowUiUpdates": False,
                       "options": {"path": DASHBOARDS_PATH}}],
    }, sort_keys=False)
    return files


def stale() -> list[Path]:
    """Committed files that differ from what this generator builds, or are missing; and
    dashboards on disk it no longer builds."""
    files = rendered()
    out = [path for path, text in files.items()
           if not path.exists() or path.read_text() != text]
    return out + [p for p in (OUT / "dashboards").glob("*.json") if p not in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dashboards",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed files are stale; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        if bad := stale():
            print("stale (run python -m tools.dashboards):",
                  *(str(p.relative_to(ROOT)) for p in bad), sep="\n  ")
            return 1
        return 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in (OUT / "dashboards").glob("*.json"):
        if path not in rendered():
            path.unlink()
    print(f"wrote {len(DASHBOARDS)} dashboards and the provisioning files into"
          f" {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
