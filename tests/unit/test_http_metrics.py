"""HTTP metrics: latency by route template (bounded labels), and rewards' partner answers
by partner (a key nobody issued is "unknown") and status."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY

from runtime.http_metrics import HttpMetrics
from services.rewards.metrics import PartnerMetrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_routes_are_labelled_by_template_and_partners_by_key():
    app = FastAPI()

    @app.get("/v1/members/{member_id}/balance")
    async def balance(member_id: str):
        return {"member": member_id}

    @app.post("/v1/redemptions/offers")
    async def offers():
        return JSONResponse({"error": "invalid_signature"}, status_code=401)

    app.add_middleware(HttpMetrics, routes=lambda: app.routes)
    app.add_middleware(PartnerMetrics, partners={"pk_1": "ptn_a"})
    route = "/v1/members/{member_id}/balance"
    before = sample("loyalty_http_request_seconds_count", route=route, method="GET",
                    status="200")
    refused = [sample("loyalty_partner_requests_total", partner=p, status="401")
               for p in ("ptn_a", "unknown")]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as http:
        for member in ("C0000000001", "C0000000002"):
            assert (await http.get(f"/v1/members/{member}/balance")).status_code == 200
        await http.post("/v1/redemptions/offers", headers={"X-Key-Id": "pk_1"})
        await http.post("/v1/redemptions/offers", headers={"X-Key-Id": "pk_guessed"})
        assert (await http.get("/nowhere/C0000000001")).status_code == 404
    assert sample("loyalty_http_request_seconds_count", route=route, method="GET",
                  status="200") == before + 2
    assert sample("loyalty_http_request_seconds_count", route="other", method="GET",
                  status="404") >= 1
    assert [sample("loyalty_partner_requests_total", partner=p, status="401")
            for p in ("ptn_a", "unknown")] == [refused[0] + 1, refused[1] + 1]
    assert sample("loyalty_partner_request_seconds_count", endpoint="offers") >= 2
