"""Members' app routes of accounts, points and rewards on the real broker and database,
with an identity provider made up here (its own keys in a JWKS file): every route needs a
good token of that issuer for that audience, short-lived and signed RS256 or ES256 by a key
of its JWKS; a member sees only their own data (another member's id gets exactly what an
unknown id gets); the body is not parsed before the token is checked."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import httpx
import jwt
import pytest

from contracts.topics import CARD_TRANSACTIONS_V1
from runtime.auth import AuthSettings
from services.accounts.app import build as accounts_build
from services.accounts.settings import AccountsSettings
from services.points.app import build as points_build
from services.points.settings import PointsSettings
from services.rewards.app import build as rewards_build
from services.rewards.settings import RewardsSettings
from tests.integration.fresh import customers, fresh_world
from tests.integration.kafka_tools import eventually, produce
from tests.integration.points_events import purchase
from tests.integration.test_accounts_tiers import _enrol
from tests.tokens import Issuer

pytestmark = pytest.mark.integration


def own_routes(member: str) -> dict[str, list[tuple[str, str]]]:
    """Every app route of each service, for `member`."""
    return {
        "accounts": [("GET", f"/members/{member}"), ("GET", f"/members/{member}/tier"),
                     ("GET", f"/members/{member}/tier/history")],
        "points": [("GET", f"/v1/members/{member}/balance"),
                   ("GET", f"/v1/members/{member}/history")],
        "rewards": [("POST", f"/v1/app/members/{member}/redemption-codes"),
                    ("GET", f"/v1/app/members/{member}/entitlements")],
    }


@pytest.fixture(scope="module")
def issuers(tmp_path_factory) -> tuple[Issuer, Issuer]:
    folder: Path = tmp_path_factory.mktemp("idp")
    return Issuer(folder, "app", algorithm="RS256"), Issuer(folder / "other", "app")


@pytest.fixture(scope="module")
async def world(infra, issuers):
    issuer, _ = issuers
    trust = issuer.settings()
    builds = {
        "accounts": lambda n, p: accounts_build(n, p, AccountsSettings(**trust)),
        "points": lambda n, p: points_build(n, p, PointsSettings(**trust)),
        "rewards": lambda n, p: rewards_build(n, p, RewardsSettings(**trust)),
    }
    a, unknown = customers(2)
    async with fresh_world(builds) as services:
        bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
        await _enrol(services["accounts"], bootstrap, [a])
        points = services["points"]
        await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1), [purchase(a, "100.00")])

        async def credited() -> bool:
            return await points.pool.fetchval("SELECT count(*) FROM ledger_entries") > 0
        await eventually(credited, what="purchase credited")
        clients = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=s.http),
                                           base_url=f"http://{name}")
                   for name, s in services.items()}
        yield clients, a, unknown
        for client in clients.values():
            await client.aclose()


async def test_a_member_sees_their_own_data_and_nobody_elses(world, issuers):
    clients, a, unknown = world
    issuer, _ = issuers
    b = customers(1)[0]
    for service, routes in own_routes(a).items():
        for (method, path), (_, unknown_path) in zip(routes, own_routes(unknown)[service],
                                                     strict=True):
            client = clients[service]
            own = await client.request(method, path, headers=issuer.bearer(a))
            assert own.status_code in (200, 201), (service, path, own.text)
            # B asks for A's data, and for an unknown member's: the same 404, word for word.
            theirs = await client.request(method, path, headers=issuer.bearer(b))
            nobodys = await client.request(method, unknown_path, headers=issuer.bearer(b))
            assert theirs.status_code == nobodys.status_code == 404, (service, path)
            assert theirs.json() == nobodys.json()
            assert set(theirs.json()) == {"code", "message"}


def bad_tokens(issuer: Issuer, other: Issuer, member: str) -> dict[str, str]:
    now = time.time()
    none = jwt.encode({"iss": issuer.issuer, "aud": issuer.audience, "sub": member,
                       "iat": int(now), "exp": int(now) + 60}, None, algorithm="none")
    # HS256 keyed with the public key's PEM: the classic confusion attack. PyJWT refuses to
    # make one, so it is put together by hand.
    header = jwt.utils.base64url_encode(
        b'{"alg":"HS256","typ":"JWT","kid":"' + issuer.kid.encode() + b'"}')
    payload = jwt.utils.base64url_encode(
        f'{{"iss":"{issuer.issuer}","aud":"{issuer.audience}","sub":"{member}",'
        f'"iat":{int(now)},"exp":{int(now) + 60}}}'.encode())
    signing_input = header + b"." + payload
    mac = hmac.new(issuer.public_pem(), signing_input, hashlib.sha256).digest()
    hs256 = (signing_input + b"." + jwt.utils.base64url_encode(mac)).decode()
    return {
        "wrong issuer": issuer.token(member, iss="https://evil.example/"),
        "wrong audience": issuer.token(member, aud="another-app"),
        "expired": issuer.token(member, issued=now - 3600, lifetime=600),
        "not yet valid": issuer.token(member, nbf=int(now) + 3600),
        "lives too long": issuer.token(member, lifetime=7 * 86_400),
        "no expiry": issuer.token(member, exp=None),
        "no subject": issuer.token(member, sub=None),
        "not a member id": issuer.token("../../etc/passwd"),
        "alg none": none,
        "hs256 with the public key": hs256,
        "another jwks's key, its kid": other.token(member),
        "another jwks's key, our kid": other.token(member, kid=issuer.kid,
                                                   iss=issuer.issuer, aud=issuer.audience),
        "tampered": issuer.token(member)[:-4] + "AAAA",
        "garbage": "not.a.jwt",
        "huge": "a" * 9000,
    }


async def test_every_bad_token_is_401_on_every_app_route(world, issuers):
    clients, a, _ = world
    issuer, other = issuers
    tokens = bad_tokens(issuer, other, a)
    for service, routes in own_routes(a).items():
        for method, path in routes:
            client = clients[service]
            missing = await client.request(method, path)
            assert missing.status_code == 401 and missing.json()["code"] == "unauthenticated"
            assert missing.headers["www-authenticate"].startswith("Bearer")
            basic = await client.request(method, path, headers={"Authorization": "Basic eDp5"})
            assert basic.status_code == 401
            for why, token in tokens.items():
                answer = await client.request(method, path,
                                              headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 401, (service, path, why, answer.text)
                assert set(answer.json()) == {"code", "message"}


async def test_es256_tokens_are_taken_too(infra, tmp_path):
    issuer = Issuer(tmp_path, "app", algorithm="ES256")
    member = customers(1)[0]
    build = {"rewards": lambda n, p: rewards_build(n, p, RewardsSettings(**issuer.settings()))}
    async with fresh_world(build) as services:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=services["rewards"].http),
                                     base_url="http://rewards") as client:
            path = f"/v1/app/members/{member}/entitlements"
            assert (await client.get(path, headers=issuer.bearer(member))).status_code == 200
            assert (await client.get(path, headers=issuer.bearer(
                member, alg="RS256", key=Issuer(tmp_path / "rsa").private_key))).status_code == 401


async def test_the_body_is_not_parsed_before_the_token_is_checked(world, issuers):
    clients, a, _ = world
    issuer, _ = issuers
    accounts = clients["accounts"]
    url = f"/staff/members/{a}/tier-override"
    # Malformed JSON without a token: 401, not the parser's 422.
    answer = await accounts.post(url, content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert answer.status_code == 401
    answer = await accounts.post(url, content=b"{not json", headers={
        "content-type": "application/json", **issuer.bearer(a)})
    assert answer.status_code == 401  # a member's token is no staff token


def test_outside_dev_a_service_will_not_start_without_a_jwks():
    env = {"kafka_bootstrap_servers": "x", "database_url": "y"}
    for environment in ("test", "production"):
        settings = AuthSettings(**env, environment=environment)
        with pytest.raises(ValueError, match="APP_JWKS_URL or APP_JWKS_FILE"):
            settings.verifier("app")
        with pytest.raises(ValueError, match="STAFF_OIDC_ISSUER"):
            settings.verifier("staff")
        with pytest.raises(ValueError, match="https"):
            AuthSettings(**env, environment=environment, app_jwks_url="http://idp/jwks",
                         app_jwt_issuer="i", app_jwt_audience="a").verifier("app")
