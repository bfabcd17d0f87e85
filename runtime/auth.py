"""Who calls the app and staff routes: a bearer JWT, checked the same way by every service.

Members' app calls arrive through the bank's app gateway with a token of the member
(`sub` = the member id); staff calls with an OIDC token of the bank's identity provider
(`STAFF_ID_CLAIM` = the staff id, `STAFF_ROLES_CLAIM` = the roles). Each kind has its own
issuer, audience and JWKS (a URL, or a file), and a longest lifetime (`exp - iat`).

PyJWT does the checking (signature, `exp`, `nbf`, `iss`, `aud`; only RS256 and ES256, and the
key's own algorithm: `alg: none` or HS256 signed with a public key never verify) and its
PyJWKClient the keys (cached, re-read at most every `COOLDOWN_SECONDS` on an unknown `kid`,
so junk key ids cannot make it hammer the identity provider). A token failing any check is
401; a staff member without the role is 403; a member asking for another member's data
gets the route's own 404 (api.py of each service: the same answer as an unknown member).

Routes are authenticated before their body is read or parsed (`authenticated_first`).

Development: with ENVIRONMENT=dev and no JWKS configured, a key pair is made once under
DEV_AUTH_DIR (default `.local/dev-auth`) and its public half trusted, with a warning;
`python -m runtime.auth member C0000000001` (or `staff rm-0042 --role loyalty-staff`)
prints a token signed by it (`dev_token` for tools). Any other ENVIRONMENT refuses to
start without a configured JWKS, issuer and audience.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import HTTPException, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import Field

from contracts.fields import CUSTOMER_ID_PATTERN

from .settings import Settings

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "ES256"]
#: Clock difference allowed on `exp`, `nbf` and `iat`.
LEEWAY_SECONDS = 30
#: An unknown `kid` re-reads the JWKS at most this often.
COOLDOWN_SECONDS = 30.0
#: A known JWKS is re-read this often (keys rotated at the identity provider).
JWKS_LIFESPAN_SECONDS = 300.0
MAX_TOKEN_BYTES = 8192
STAFF_ID_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"
ROOT = Path(__file__).resolve().parents[1]
DEV_ISSUER = {"app": "https://dev-idp.loyalty.invalid/app",
              "staff": "https://dev-idp.loyalty.invalid/staff"}
DEV_AUDIENCE = {"app": "loyalty-app", "staff": "loyalty-staff"}
Kind = Literal["app", "staff"]


class AuthSettings(Settings):
    """The token settings of a service with app or staff routes (env names in capitals)."""

    #: "dev" allows the generated development keys; anything else requires real ones.
    environment: Literal["dev", "test", "production"] = "dev"
    #: Members' tokens (the app gateway's): where its keys are, whom it names.
    app_jwks_url: str | None = None
    app_jwks_file: Path | None = None
    app_jwt_issuer: str | None = None
    app_jwt_audience: str | None = None
    #: Longest `exp - iat` accepted: members' tokens are short-lived.
    app_token_max_lifetime_seconds: int = Field(default=900, ge=30, le=86_400)
    #: Staff's tokens (the bank's identity provider, OIDC).
    staff_jwks_url: str | None = None
    staff_jwks_file: Path | None = None
    staff_oidc_issuer: str | None = None
    staff_oidc_audience: str | None = None
    staff_token_max_lifetime_seconds: int = Field(default=3600, ge=30, le=86_400)
    #: The claim holding the staff id recorded in audits, and the one holding the roles (a
    #: list or a space-separated string; a dotted path reaches a nested one, e.g.
    #: `realm_access.roles`).
    staff_id_claim: str = "sub"
    staff_roles_claim: str = "roles"
    #: The role any staff endpoint needs, and the one approving others' changes needs.
    staff_role: str = "loyalty-staff"
    approver_role: str = "loyalty-approver"
    #: Where the development key pair is kept (ENVIRONMENT=dev without a JWKS only).
    dev_auth_dir: Path | None = None

    def verifier(self, kind: Kind) -> TokenVerifier:
        """The checks of `kind`'s tokens. Raises ValueError outside dev when unconfigured,
        so the service does not start."""
        url, file = getattr(self, f"{kind}_jwks_url"), getattr(self, f"{kind}_jwks_file")
        prefix = "app_jwt" if kind == "app" else "staff_oidc"
        issuer = getattr(self, f"{prefix}_issuer")
        audience = getattr(self, f"{prefix}_audience")
        lifetime = getattr(self, f"{kind}_token_max_lifetime_seconds")
        configured = bool(url or file)
        if configured or self.environment != "dev":  # a real issuer: all of it, or nothing
            missing = [name for name, value in (
                (f"{kind.upper()}_JWKS_URL or {kind.upper()}_JWKS_FILE", configured),
                (f"{prefix.upper()}_ISSUER", issuer), (f"{prefix.upper()}_AUDIENCE", audience))
                if not value]
            if missing:
                raise ValueError(f"ENVIRONMENT={self.environment} needs {', '.join(missing)}")
            if url and self.environment != "dev" and not url.startswith("https://"):
                raise ValueError(f"{kind.upper()}_JWKS_URL must be https outside dev")
            keys: Keys = jwks_client(url) if url else FileKeys(Path(file))
        else:
            file = dev_keys(self.dev_auth_dir).jwks_file
            log.warning("DEVELOPMENT %s tokens: no %s_JWKS_URL or %s_JWKS_FILE, trusting the"
                        " key pair in %s (any ENVIRONMENT but dev refuses to start so)",
                        kind, kind.upper(), kind.upper(), file.parent)
            keys, issuer, audience = FileKeys(file), DEV_ISSUER[kind], DEV_AUDIENCE[kind]
        return TokenVerifier(kind=kind, keys=keys, issuer=issuer, audience=audience,
                             max_lifetime=lifetime)


# ---------------------------------------------------------------------- verification


class Unauthenticated(HTTPException):
    def __init__(self, message: str = "a valid bearer token is required") -> None:
        super().__init__(401, {"code": "unauthenticated", "message": message},
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def forbidden(message: str) -> HTTPException:
    return HTTPException(403, {"code": "forbidden", "message": message})


class TokenVerifier:
    """The checks of one kind of token: PyJWT against the issuer's JWKS."""

    def __init__(self, *, kind: Kind, keys: Keys, issuer: str, audience: str,
                 max_lifetime: int) -> None:
        self.kind = kind
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime = max_lifetime
        self._keys = keys

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once every check passed; raises Unauthenticated, or 503 when
        the keys cannot be read."""
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated()
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            # Refused before any key lookup: no key is fetched for these.
            if header.get("alg") not in ALGORITHMS or not isinstance(kid, str) or len(kid) > 200:
                raise Unauthenticated()
            key = await asyncio.to_thread(self._keys.get_signing_key, kid)
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, issuer=self.issuer,
                                audience=self.audience, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
            lifetime = claims["exp"] - claims["iat"]  # both numbers: PyJWT checked them
        except jwt.PyJWKClientConnectionError as exc:
            log.error("%s tokens: the JWKS cannot be read: %s", self.kind, exc)
            raise HTTPException(503, {"code": "unavailable",
                                      "message": "tokens cannot be checked now"}) from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            log.info("%s token refused: %s", self.kind, type(exc).__name__)
            raise Unauthenticated() from None
        if lifetime > self.max_lifetime:
            raise Unauthenticated("the token lives too long")
        return claims


class Keys(Protocol):
    def get_signing_key(self, kid: str) -> jwt.PyJWK: ...


def jwks_client(url: str) -> Keys:
    """The identity provider's JWKS endpoint, cached and re-read as the module says."""
    return jwt.PyJWKClient(url, lifespan=JWKS_LIFESPAN_SECONDS,
                           cooldown_duration=COOLDOWN_SECONDS, timeout=5)


class FileKeys:
    """A JWKS file (e.g. mounted from a secret), read at start and again when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read: tuple[tuple[int, int, int], jwt.PyJWKSet] | None = None
        self._current()  # a missing or broken file stops the start

    def _current(self) -> jwt.PyJWKSet:
        status = self.path.stat()  # a mounted secret is swapped in: a new inode
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if self._read is None or self._read[0] != stamp:
            self._read = stamp, jwt.PyJWKSet.from_json(self.path.read_text())
        return self._read[1]

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        try:
            keys = self._current()
        except OSError as exc:
            raise jwt.PyJWKClientConnectionError(str(exc)) from exc
        for key in keys.keys:
            if key.key_id == kid and key.public_key_use in ("sig", None):
                return key
        raise jwt.PyJWKClientError(f"no signing key {kid!r}")


_BEARER = re.compile(r"Bearer ([A-Za-z0-9._~+/=-]+)", re.IGNORECASE)


def bearer_token(request: Request) -> str:
    match = _BEARER.fullmatch(request.headers.get("authorization", ""))
    if match is None:
        raise Unauthenticated()
    return match.group(1)


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    roles: frozenset[str]


class MemberAuth:
    """A FastAPI dependency: the member id the app token names."""

    #: Declares the scheme in the OpenAPI; the checking is ours.
    scheme = HTTPBearer(scheme_name="memberToken", bearerFormat="JWT", auto_error=False,
                        description="The member's token from the bank's app gateway"
                                    " (RS256/ES256, short-lived); `sub` is the member id.")

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def authenticate(self, request: Request) -> str:
        if (known := getattr(request.state, "member_id", None)) is not None:
            return known
        claims = await self.verifier.claims(bearer_token(request))
        member_id = claims["sub"]
        if not isinstance(member_id, str) or not re.fullmatch(CUSTOMER_ID_PATTERN, member_id):
            raise Unauthenticated("the token names no member")
        request.state.member_id = member_id
        return member_id

    async def __call__(self, request: Request) -> str:
        return await self.authenticate(request)


class StaffAuth:
    """A FastAPI dependency: the staff member an OIDC token names, with their roles;
    `requiring(role)` is one that also needs the role (403 without it)."""

    scheme = HTTPBearer(scheme_name="staffToken", bearerFormat="JWT", auto_error=False,
                        description="An OIDC token of the bank's identity provider.")

    def __init__(self, verifier: TokenVerifier, *, id_claim: str = "sub",
                 roles_claim: str = "roles", staff_role: str = "loyalty-staff") -> None:
        self.verifier = verifier
        self.id_claim = id_claim
        self.roles_claim = roles_claim
        self.staff_role = staff_role

    async def authenticate(self, request: Request) -> Staff:
        if (known := getattr(request.state, "staff", None)) is not None:
            return known
        claims = await self.verifier.claims(bearer_token(request))
        staff_id = claims.get(self.id_claim)
        if not isinstance(staff_id, str) or not re.fullmatch(STAFF_ID_PATTERN, staff_id):
            raise Unauthenticated("the token names no staff member")
        staff = Staff(staff_id, frozenset(roles_of(claims, self.roles_claim)))
        if self.staff_role not in staff.roles:
            raise forbidden(f"needs the role {self.staff_role}")
        request.state.staff = staff
        return staff

    async def __call__(self, request: Request) -> Staff:
        return await self.authenticate(request)

    def requiring(self, role: str) -> Callable[[Request], Any]:
        async def with_role(request: Request) -> Staff:
            staff = await self.authenticate(request)
            if role not in staff.roles:
                raise forbidden(f"needs the role {role}")
            return staff
        return with_role


def roles_of(claims: Mapping[str, Any], path: str) -> list[str]:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [role for role in value if isinstance(role, str)]
    return []


def authenticated_first(auth: MemberAuth | StaffAuth) -> type[APIRoute]:
    """The route class of a router whose every route needs `auth`: the caller is
    authenticated before FastAPI reads and parses the body (it does that before solving
    dependencies), so an unauthenticated request learns nothing from the body parser."""

    class AuthenticatedFirst(APIRoute):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or []),
                                      _scheme_dependency(auth)]
            super().__init__(*args, **kwargs)

        def get_route_handler(self):
            handler = super().get_route_handler()

            async def authenticated(request: Request):
                await auth.authenticate(request)
                return await handler(request)
            return authenticated

    return AuthenticatedFirst


def _scheme_dependency(auth: MemberAuth | StaffAuth) -> Any:
    return Security(auth.scheme)


# ---------------------------------------------------------------------- development keys


@dataclass(frozen=True, slots=True)
class DevKeys:
    private_key_file: Path
    jwks_file: Path
    kid: str


def dev_keys(folder: Path | None = None) -> DevKeys:
    """The development key pair, made once (atomically: services start side by side)."""
    folder = Path(folder or os.environ.get("DEV_AUTH_DIR") or ROOT / ".local" / "dev-auth")
    folder.mkdir(parents=True, exist_ok=True)
    private, jwks = folder / "signing-key.pem", folder / "jwks.json"
    if not private.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        temporary = folder / f".signing-key.{uuid.uuid4().hex}"
        temporary.write_bytes(pem)
        temporary.chmod(0o600)
        try:
            os.link(temporary, private)  # fails if another process made it first
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    kid = "dev-" + hashlib.sha256(json.dumps(public, sort_keys=True).encode()).hexdigest()[:16]
    document = json.dumps({"keys": [{**public, "kid": kid, "use": "sig", "alg": "ES256"}]})
    if not jwks.exists() or jwks.read_text() != document:
        temporary = folder / f".jwks.{uuid.uuid4().hex}"
        temporary.write_text(document)
        temporary.replace(jwks)
    return DevKeys(private, jwks, kid)


def dev_token(kind: Kind, subject: str, *, roles: Iterable[str] = (), lifetime: int = 600,
              folder: Path | None = None) -> str:
    """A token the services trust in development (ENVIRONMENT=dev, no JWKS configured)."""
    keys = dev_keys(folder)
    now = int(time.time())
    claims: dict[str, Any] = {"iss": DEV_ISSUER[kind], "aud": DEV_AUDIENCE[kind],
                              "sub": subject, "iat": now, "exp": now + lifetime}
    if kind == "staff":
        claims["roles"] = list(roles)
    return jwt.encode(claims, keys.private_key_file.read_bytes(), algorithm="ES256",
                      headers={"kid": keys.kid})


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m runtime.auth", description="Print a development bearer token.")
    parser.add_argument("kind", choices=["member", "staff"])
    parser.add_argument("subject", help="the member id, or the staff id")
    parser.add_argument("--role", action="append", default=[],
                        help="a staff role (repeat); e.g. loyalty-staff, loyalty-approver")
    parser.add_argument("--lifetime", type=int, default=600)
    args = parser.parse_args()
    kind: Kind = "app" if args.kind == "member" else "staff"
    print(dev_token(kind, args.subject, roles=args.role, lifetime=args.lifetime))


if __name__ == "__main__":
    main()
