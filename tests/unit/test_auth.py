"""runtime/auth.py without a service: roles from nested claims, keys from a JWKS URL (503
while it cannot be read), a rotated JWKS file picked up, the development key pair made
once, and which overrides need a second approver."""

from __future__ import annotations

import asyncio
import functools
import http.server
import threading

import pytest
from fastapi import HTTPException

from runtime.auth import AuthSettings, FileKeys, TokenVerifier, Unauthenticated, dev_keys, roles_of
from services.accounts.domain.approvals import needs_second_approver
from tests.tokens import Issuer


def test_roles_come_from_a_list_a_string_or_a_nested_claim():
    assert roles_of({"roles": ["a", "b", 3]}, "roles") == ["a", "b"]
    assert roles_of({"scope": "a b"}, "scope") == ["a", "b"]
    assert roles_of({"realm_access": {"roles": ["a"]}}, "realm_access.roles") == ["a"]
    assert roles_of({"realm_access": "x"}, "realm_access.roles") == []
    assert roles_of({}, "roles") == []


def test_a_rotated_jwks_file_is_read_again(tmp_path):
    old, new = Issuer(tmp_path / "old"), Issuer(tmp_path / "new")
    keys = FileKeys(old.jwks_file)
    verifier = TokenVerifier(kind="app", keys=keys, issuer=old.issuer, audience=old.audience,
                             max_lifetime=900)
    member = "C0000000001"
    assert asyncio.run(verifier.claims(old.token(member)))["sub"] == member
    rotated = new.token(member, iss=old.issuer, aud=old.audience)
    with pytest.raises(Unauthenticated):
        asyncio.run(verifier.claims(rotated))
    new.jwks_file.replace(old.jwks_file)  # rotated, swapped in as a mounted secret is
    assert asyncio.run(verifier.claims(rotated))["sub"] == member


def test_the_development_key_pair_is_made_once(tmp_path):
    first, second = dev_keys(tmp_path), dev_keys(tmp_path)
    assert first == second
    assert first.private_key_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("current", "proposed", "needed"), [
    ("standard", "gold", False), ("gold", "standard", False), ("gold", "gold", False),
    ("standard", "oto_fortune", True), ("private_banking", "gold", True),
    ("standard", "private_banking", True)])
def test_more_than_one_tier_needs_a_second_approver(current, proposed, needed):
    assert needs_second_approver(current, proposed, 1) is needed
    assert needs_second_approver(current, proposed, 3) is False


def test_keys_from_a_jwks_url_and_a_503_while_it_cannot_be_read(tmp_path):
    issuer = Issuer(tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{issuer.jwks_file.name}"
    settings = AuthSettings(kafka_bootstrap_servers="x", database_url="y", app_jwks_url=url,
                            app_jwt_issuer=issuer.issuer, app_jwt_audience=issuer.audience)
    verifier = settings.verifier("app")
    member = "C0000000001"
    try:
        assert asyncio.run(verifier.claims(issuer.token(member)))["sub"] == member
    finally:
        server.shutdown()
        server.server_close()
    unreachable = AuthSettings(kafka_bootstrap_servers="x", database_url="y",
                               app_jwks_url=url, app_jwt_issuer=issuer.issuer,
                               app_jwt_audience=issuer.audience).verifier("app")
    with pytest.raises(HTTPException) as refused:
        asyncio.run(unreachable.claims(issuer.token(member)))
    assert refused.value.status_code == 503
