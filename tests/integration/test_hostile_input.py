"""Hostile input, on the real broker and database: a property-based test (hypothesis) drives
every route of every service (from each one's OpenAPI document, plus the routes it leaves
out and paths that do not exist) with hostile paths, queries, headers and bodies, sometimes
authenticated for real (a member's or staff member's token, a partner's valid signature
over the hostile request) so the input reaches past the authentication. No answer may be a
5xx; every error is `{code, message}`; every service is healthy afterwards.

Each operation gets its own run (so a rare route is not starved by the others):
HOSTILE_EXAMPLES (default 30) requests each, about 1,700 in all, well under a minute in CI;
raise it locally to search longer."""

from __future__ import annotations

import json
import os
import time
from urllib.parse import quote, unquote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.accounts.app import build as accounts_build
from services.notifications.app import build as notifications_build
from services.points.app import build as points_build
from services.rewards.app import build as rewards_build
from services.rewards.domain.signing import sign
from services.rewards.partners import create_partner
from tests.integration.fresh import customers, fresh_world
from tests.integration.test_accounts_tiers import _enrol
from tests.tokens import member_headers, staff_headers

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "30"))
#: At least the operations of the service with the most (they repeat for the others).
OPERATIONS_PER_SERVICE = 34
BUILDS = {"accounts": accounts_build, "points": points_build, "rewards": rewards_build,
          "notifications": notifications_build}
#: Routes an OpenAPI document leaves out, and some that exist nowhere.
UNDOCUMENTED = [("GET", "/health/live", {}), ("GET", "/health/ready", {}),
                ("GET", "/metrics", {}), ("POST", "/callbacks/aliyun/sms-report", {}),
                ("GET", "/nowhere/{x}", {"path": ["x"]}), ("DELETE", "/v1/{x}", {"path": ["x"]})]
MEMBER = customers(1)[0]

HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from([
        "", "\x00", "a\x00b", "%00", "../../etc/passwd", MEMBER, "C0000000000", "9" * 5000,
        "١٧٧٣١١٢٣٤٥", "-1", "0", str(2**31), str(2**63), str(2**64), "-9223372036854775809",
        "1e309", "NaN", "Infinity", "null", "true", "[]", "{}", "' OR 1=1 --", "<x>",
        "rdm_" + "0" * 32, "0001-01-01", "9999-12-31", "2026-02-30", "+99999-01-01",
        "MjAyNi0wMS0wMVQwMDowMDowMHxyZG1fMA==",  # a cursor: 2026-01-01T00:00:00|rdm_0
        "AAAA", "x" * 300, "é" * 40, "\u202e", "\ufeff", "🏦"]),
    st.integers().map(str),
    st.binary(max_size=24).map(lambda b: b.decode("latin-1")),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=8), st.text(max_size=8)),
)
#: What passes the edge: the parts of a request that are not the hostile one.
PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
HEADER_VALUE = st.one_of(HOSTILE_TEXT.map(lambda s: s.encode("utf-8")), st.binary(max_size=40))
HEADER_NAMES = ["authorization", "x-key-id", "x-timestamp", "x-nonce", "x-signature",
                "idempotency-key", "content-type", "accept", "x-forwarded-for", "cookie"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12)
FIELDS = ["tier", "until", "reason", "mobile", "code", "lounge_id", "offer_id", "guests",
          "allow_points", "member_id", "persons"]
#: Values a route takes, and ones at the edges of what it takes.
PLAUSIBLE = st.sampled_from([
    "standard", "gold", "oto_fortune", "private_banking", "2026-12-31", "2099-12-31",
    "2100-01-01", "9999-12-31", "0001-01-01", "relationship manager's decision",
    "+8613800001234", "PEK-T3-01", "off_coffee_02_2", "ABCDE-12345", 0, 1, -1, 2**63, True])
NEAR_VALID = st.dictionaries(st.sampled_from(FIELDS), st.one_of(PLAUSIBLE, PLAUSIBLE, JSON),
                             max_size=6)
BODY = st.one_of(st.binary(max_size=200), JSON.map(json.dumps), NEAR_VALID.map(json.dumps))
AUTHS = ["none", "member", "other member", "staff", "approver", "partner", "garbage"]


def auth_for(path: str) -> st.SearchStrategy[str]:
    """Mostly the route's own kind of caller: the input then reaches past authentication."""
    own = ("approver" if path.startswith(("/staff/", "/v1/staff/")) else "partner"
           if path.startswith(("/v1/redemptions", "/v1/catalogue")) else "member")
    return st.sampled_from([own] * 10 + AUTHS)


def operations(service) -> list[tuple[str, str, dict]]:
    """(method, path template, {"path": names, "query": names, "header": names, "body":
    {property: its schema}})."""
    document = service.http.openapi()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            places: dict = {"path": [], "query": [], "header": [], "body": {}}
            for parameter in operation.get("parameters", []):
                if parameter["in"] in places:
                    places[parameter["in"]].append(parameter["name"])
            content = operation.get("requestBody", {}).get("content", {})
            schema = resolve(document, content.get("application/json", {}).get("schema", {}))
            places["body"] = {name: (resolve(document, value), name in schema.get("required", []))
                              for name, value in schema.get("properties", {}).items()}
            found.append((method.upper(), path, places))
    return found + UNDOCUMENTED


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def plausible(schema: dict) -> st.SearchStrategy:
    """Values the property's schema takes, and ones just past its edges."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "date":
        return st.one_of(st.dates().map(str),
                         st.sampled_from(["9999-12-31", "0001-01-01", "2099-12-31"]))
    if schema.get("type") == "integer":
        return st.integers(min_value=-(2**64), max_value=2**64)
    if schema.get("type") == "boolean":
        return st.booleans()
    if schema.get("type") == "string":
        return st.one_of(PRINTABLE, st.text(min_size=schema.get("minLength", 0),
                                            max_size=schema.get("maxLength", 40) + 1))
    return JSON


@pytest.fixture(scope="module")
async def world(infra):
    async with fresh_world(BUILDS) as services:
        # MEMBER exists, so hostile requests with its id reach its data.
        await _enrol(services["accounts"], infra["KAFKA_BOOTSTRAP_SERVERS"], [MEMBER])
        rewards = services["rewards"]
        async with rewards.pool.acquire() as conn:
            _, key_id, secret = await create_partner(
                conn, rewards.settings.sealer(), name="hostile", scopes=["lounge", "offers"],
                lounges=["*"], offers=["*"], rate=100_000)
        clients = {name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=s.http, raise_app_exceptions=False),
            base_url=f"http://{name}", timeout=30) for name, s in services.items()}
        yield services, clients, (key_id, secret.encode())
        for client in clients.values():
            await client.aclose()


@st.composite
def hostile_requests(draw, operation):
    """Hostile in one part (the path's parameters, the query, the headers or the body) and
    plausible in the others, so that the hostile part reaches the code behind the edge."""
    method, template, places = operation
    focus = draw(st.sampled_from(["query", "headers", "body"]
                                 + ["path"] * (2 if places.get("path") else 0)))

    def text(part: str) -> st.SearchStrategy[str]:
        return HOSTILE_TEXT if focus == part else PRINTABLE

    path = template
    for name in places.get("path", []):
        value = (draw(st.one_of(HOSTILE_TEXT, st.just(MEMBER))) if focus == "path" else
                 MEMBER if name == "member_id" else draw(PRINTABLE))
        path = path.replace("{" + name + "}", quote(value, safe=""))
    query = {name: draw(text("query")) for name in places.get("query", [])
             if draw(st.booleans())}
    query |= draw(st.dictionaries(PRINTABLE, text("query"), max_size=2))
    values = HEADER_VALUE if focus == "headers" else PRINTABLE.map(str.encode)
    headers = {name.lower(): draw(values) for name in
               draw(st.lists(st.sampled_from(HEADER_NAMES + places.get("header", [])),
                             max_size=3))}
    body = None
    if focus == "body" and (fields := places.get("body")) and draw(st.booleans()):
        # The route's own fields (the required ones present), plausible or not.
        value = {name: st.one_of(plausible(schema), plausible(schema), JSON)
                 for name, (schema, _) in fields.items()}
        body = json.dumps(draw(st.fixed_dictionaries(
            {n: v for n, v in value.items() if fields[n][1]},
            optional={n: v for n, v in value.items() if not fields[n][1]})))
        headers["content-type"] = b"application/json"
    elif focus == "body":
        body = draw(BODY)
        if draw(st.booleans()):
            headers["content-type"] = b"application/json"
    return method, path, urlencode(query), headers, body, draw(auth_for(template))


def authenticate(auth: str, method: str, path: str, query: str, body: bytes,
                 partner: tuple[str, bytes]) -> dict[str, str]:
    if auth == "member":
        return member_headers(MEMBER)
    if auth == "other member":
        return member_headers(customers(1)[0])
    if auth in ("staff", "approver"):
        roles = ["loyalty-staff"] + (["loyalty-approver", "loyalty-catalogue"]
                                     if auth == "approver" else [])
        return staff_headers("rm-hostile", *roles)
    if auth == "partner":  # a valid signature over whatever the request is
        key_id, secret = partner
        nonce = os.urandom(12).hex()
        ts = str(int(time.time()))
        return {"x-key-id": key_id, "x-timestamp": ts, "x-nonce": nonce,
                "x-signature": sign(secret, method, unquote(path), query, ts, nonce, body)}
    if auth == "garbage":
        return {"authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
    return {}


async def drive(client: httpx.AsyncClient, request, partner) -> None:
    method, path, query, headers, body, auth = request
    content = body.encode() if isinstance(body, str) else body
    sent = {**headers, **authenticate(auth, method, path, query, content or b"", partner)}
    url = f"{path}?{query}" if query else path
    answer = await client.request(method, url, headers=sent, content=content)
    assert answer.status_code < 500, (method, url, auth, answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        error = answer.json()
        assert {"code", "message"} <= set(error) <= {"code", "message", "redemption_id"}, (
            method, url, error)


_OPERATIONS: dict[str, list] = {}


@pytest.mark.parametrize("index", range(OPERATIONS_PER_SERVICE))
@pytest.mark.parametrize("name", list(BUILDS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_hostile_requests_get_4xx_never_5xx(world, name, index, data):
    services, clients, partner = world
    if name not in _OPERATIONS:
        _OPERATIONS[name] = operations(services[name])
        assert len(_OPERATIONS[name]) <= OPERATIONS_PER_SERVICE, "raise OPERATIONS_PER_SERVICE"
    operation = _OPERATIONS[name][index % len(_OPERATIONS[name])]
    await drive(clients[name], data.draw(hostile_requests(operation)), partner)


async def test_every_service_is_healthy_afterwards(world):
    _, clients, _ = world
    for client in clients.values():
        for health in ("/health/live", "/health/ready"):
            assert (await client.get(health)).status_code == 200


async def test_the_edge_refuses_what_no_route_should_see(world):
    services, clients, _ = world
    for name, client in clients.items():
        path = "/v1/members/C0000000001/balance" if name == "points" else "/anything"
        cases = [
            ({"x-note": "caf\xe9".encode("latin-1")}, None, 400),
            ({"x-note": b"a\x00b"}, None, 400),
            ({f"x-h{i}": b"v" for i in range(120)}, None, 431),
            ({"x-big": b"v" * 20_000}, None, 431),
            ({"content-length": b"12abc"}, b"", 400),
        ]
        for headers, body, status in cases:
            answer = await client.request("POST", path, headers=headers, content=body)
            assert answer.status_code == status, (name, headers.keys(), answer.text)
            assert set(answer.json()) == {"code", "message"}
        assert (await client.get(path + "?q=%00")).status_code == 400
        assert (await client.get(path + "?" + "q=1&" * 2100)).status_code == 414
        limit = services[name].settings.http_max_body_bytes
        too_big = await client.post(path, content=b"x" * (limit + 1))
        assert too_big.status_code == 413, name

        chunked = await client.post(path, content=endless(limit // 65536 + 2))
        assert chunked.status_code in (401, 404, 405, 413), name
    accounts = clients["accounts"]
    nul = await accounts.post("/staff/members/lookup", headers=staff_headers("rm-1"),
                              content=b'{"mobile": "+86138\\u00000000000"}')
    assert (nul.status_code, nul.json()["code"]) == (400, "bad_request")


async def endless(chunks: int):
    """A chunked body: no Content-Length to refuse it by."""
    for _ in range(chunks):
        yield b" " * 65536


async def test_the_openapi_documents_declare_code_and_message(world):
    services, _, _ = world
    for name, service in services.items():
        document = service.http.openapi()
        assert "HTTPValidationError" not in json.dumps(document), name
        assert "ErrorBody" in document["components"]["schemas"], name
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                responses = operation["responses"]
                assert "4XX" in responses and "5XX" in responses, (name, method, path)
                for status, response in responses.items():
                    if status[0] in "45" and "content" in response:
                        schema = response["content"]["application/json"]["schema"]
                        assert schema["$ref"].rsplit("/", 1)[1] in ("ErrorBody", "Error"), (
                            name, method, path, status)
