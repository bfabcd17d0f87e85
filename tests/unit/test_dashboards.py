"""The committed Grafana dashboards (deploy/grafana) are what tools/dashboards.py builds,
and grafana-foundation-sdk's models read each back unchanged."""

from __future__ import annotations

import json

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from tools import dashboards


def test_committed_files_are_not_stale():
    assert dashboards.stale() == [], "run: python -m tools.dashboards"


def test_models_read_every_dashboard_back_unchanged():
    for path in sorted((dashboards.OUT / "dashboards").glob("*.json")):
        data = json.loads(path.read_text())
        model = Dashboard.from_json(data)
        assert json.loads(json.dumps(model, cls=JSONEncoder)) == data, path.name


def test_each_dashboard_has_its_panels_and_queries():
    assert set(dashboards.DASHBOARDS) == {"loyalty-overview", "loyalty-points", "loyalty-rewards",
                                          "loyalty-notifications", "loyalty-members"}
    for uid in dashboards.DASHBOARDS:
        data = json.loads((dashboards.OUT / "dashboards" / f"{uid}.json").read_text())
        panels = [p for p in data["panels"] if p["type"] != "row"]
        assert len(panels) >= 5, uid
        ids = [p["id"] for p in data["panels"]]
        assert len(ids) == len(set(ids)), uid
        for panel in panels:
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
            assert panel["datasource"]["uid"] == dashboards.DATASOURCE.uid
