"""Made-up identity providers for tests: each has key pairs of its own, a JWKS file the
services are pointed at, and mints tokens (good ones, and every kind of bad one)."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from runtime.auth import dev_token


class Issuer:
    """An identity provider of one kind (`app`: members, `staff`: the bank's staff)."""

    def __init__(self, folder: Path, kind: str = "app", *, algorithm: str = "RS256") -> None:
        self.kind = kind
        self.algorithm = algorithm
        self.issuer = f"https://idp.test/{kind}/{uuid.uuid4().hex[:6]}"
        self.audience = f"loyalty-{kind}-test"
        self.kid = uuid.uuid4().hex[:12]
        self.private_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                            if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1()))
        folder.mkdir(parents=True, exist_ok=True)
        self.jwks_file = folder / f"{kind}-{self.kid}.json"
        self.jwks_file.write_text(json.dumps({"keys": [self.jwk()]}))

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.algorithms.RSAAlgorithm if self.algorithm == "RS256" else \
            jwt.algorithms.ECAlgorithm
        public = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def settings(self) -> dict[str, Any]:
        """What a service's settings need to trust this issuer."""
        if self.kind == "app":
            return {"app_jwks_file": self.jwks_file, "app_jwt_issuer": self.issuer,
                    "app_jwt_audience": self.audience}
        return {"staff_jwks_file": self.jwks_file, "staff_oidc_issuer": self.issuer,
                "staff_oidc_audience": self.audience}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def token(self, subject: str, *, lifetime: int = 300, issued: float | None = None,
              roles: list[str] | None = None, **changes: Any) -> str:
        """A good token, or a bad one through `changes`: claims (`iss`, `aud`...) to replace
        (None drops one), `key`/`kid`/`alg` to sign otherwise."""
        now = int(issued if issued is not None else time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.audience, "sub": subject,
                                  "iat": now, "exp": now + lifetime}
        if roles is not None:
            claims["roles"] = roles
        key = changes.pop("key", self.private_key)
        kid = changes.pop("kid", self.kid)
        alg = changes.pop("alg", self.algorithm)
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def bearer(self, subject: str, **changes: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, **changes)}"}


def member_headers(member_id: str) -> dict[str, str]:
    """A member's token for a service on the development keys (no JWKS configured)."""
    return {"Authorization": f"Bearer {dev_token('app', member_id)}"}


def staff_headers(staff_id: str, *roles: str) -> dict[str, str]:
    """A staff member's token for a service on the development keys."""
    return {"Authorization":
            f"Bearer {dev_token('staff', staff_id, roles=roles or ['loyalty-staff'])}"}


class AsPathMember(httpx.Auth):
    """Signs each request in as the member its path names (`/members/C...`), with a
    development token: for tests of what the app sees, not of who may see it."""

    def auth_flow(self, request: httpx.Request):
        path = request.url.path
        if "authorization" not in request.headers and not path.startswith("/staff/") and (
                found := re.search(r"/members/(C[0-9]{10})(?:/|$)", path)):
            request.headers.update(member_headers(found.group(1)))
        yield request
