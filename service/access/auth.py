"""Bearer-token authentication (JWT) and per-permission authorisation.

Development tokens are HS256, signed with a secret from settings or, when none is set, with a
secret generated once into the state folder (mode 600) — so a token printed by
`ofast-graph token` is accepted by `ofast-graph serve` on the same machine. Production tokens are
RS256 from an OIDC provider, checked with a configured public key or the provider's JWKS.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from fastapi import Request

from service.access.policy import Permission, Policy
from service.core.errors import ApiError
from service.core.settings import Settings

CLAIMS = ("sub", "agency", "roles", "exp", "aud")
TOKEN_CACHE_SIZE = 10_000


class Unauthenticated(ApiError):
    """401 with the `WWW-Authenticate` challenge RFC 6750 asks for."""

    def __init__(self, code: str, message: str) -> None:
        challenge = 'Bearer realm="ofast-graph"' if code == "missing_token" else \
            f'Bearer realm="ofast-graph", error="invalid_token", error_description="{code}"'
        super().__init__(401, code, message, headers={"WWW-Authenticate": challenge})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: identity from the token, permissions from the policy."""

    sub: str
    agency: str
    unit: str
    roles: tuple[str, ...]
    permissions: frozenset[Permission]
    is_central: bool

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def dev_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    path = settings.state_dir / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def make_token(
    settings: Settings,
    *,
    agency: str,
    roles: list[str],
    unit: str = "",
    subject: str = "dev",
    ttl: int = 3600,
    now: float | None = None,
) -> str:
    """A development HS256 token with the claims the service expects."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": subject, "agency": agency, "unit": unit, "roles": roles,
        "aud": settings.jwt_audience, "iat": issued, "exp": issued + ttl,
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, dev_secret(settings), algorithm="HS256")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


class TokenVerifier:
    """Checks signatures, expiry and audience, then maps the claims onto the policy."""

    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        self._hs_secret = dev_secret(settings) if "HS256" in settings.jwt_algorithms else ""
        key = settings.jwt_public_key
        if not key and settings.jwt_public_key_file:
            key = settings.jwt_public_key_file.read_text()
        self._rs_key = key
        # RS256 keys come from the provider's JWKS endpoint (cached once fetched).
        self.fetches_keys = "RS256" in settings.jwt_algorithms and not key and bool(settings.jwt_jwks_url)
        # Checked tokens (the whole signed string, so a different token never matches): a
        # signature check and claims mapping per request cost more than the rest of auth.
        self._cache: dict[str, tuple[Principal, float]] = {}

    def _key(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("invalid_token", "the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in self.settings.jwt_algorithms:
            raise Unauthenticated("invalid_token", f"token algorithm {alg!r} is not accepted")
        if alg == "HS256":
            if not self._hs_secret:
                raise Unauthenticated("invalid_token", "HS256 tokens are not accepted here")
            return self._hs_secret, alg
        if alg == "RS256":
            if self._rs_key:
                return self._rs_key, alg
            if self.settings.jwt_jwks_url:
                try:
                    return _jwks_client(self.settings.jwt_jwks_url).get_signing_key_from_jwt(token).key, alg
                except jwt.PyJWTError as exc:
                    raise Unauthenticated("invalid_token", f"no signing key for this token: {exc}") from None
            raise Unauthenticated("invalid_token", "RS256 tokens are not accepted: no public key configured")
        raise Unauthenticated("invalid_token", f"token algorithm {alg!r} is not accepted")

    def verify(self, token: str) -> Principal:
        """The caller of a token; a token checked once is taken from a cache until it expires."""
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None and now < cached[1]:
            return cached[0]
        principal, expires = self._verify(token)
        if len(self._cache) >= TOKEN_CACHE_SIZE:
            self._cache = {t: c for t, c in self._cache.items() if now < c[1]}
            if len(self._cache) >= TOKEN_CACHE_SIZE:
                self._cache.clear()
        self._cache[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        key, alg = self._key(token)
        options: Any = {"require": list(CLAIMS)}
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer or None, options=options, leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token_expired", "the bearer token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("invalid_token", "the bearer token is for another audience") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid_token", f"the bearer token is not valid: {exc}") from None
        agency = claims.get("agency")
        if not isinstance(agency, str) or agency not in self.policy.agencies:
            raise Unauthenticated("unknown_agency", f"agency {agency!r} is not in the access policy")
        roles = claims.get("roles")
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("invalid_token", "the roles claim must be a list of strings")
        sub, unit = claims.get("sub"), claims.get("unit", "") or ""
        if not isinstance(sub, str) or not sub or not isinstance(unit, str):
            raise Unauthenticated("invalid_token", "sub and unit must be strings")
        principal = Principal(
            sub=sub, agency=agency, unit=unit, roles=tuple(roles),
            permissions=self.policy.permissions(agency, roles),
            is_central=self.policy.is_central(agency),
        )
        # Kept no longer than the token's own expiry (without the leeway decoding allows).
        return principal, float(claims["exp"])


def authenticate(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing_token", "send `Authorization: Bearer <token>`")
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(token.strip())
    request.state.principal = principal
    return principal


def require(*permissions: Permission) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates and demands at least one of `permissions`."""

    async def dependency(request: Request) -> Principal:
        verifier: TokenVerifier = request.app.state.verifier
        if verifier.fetches_keys and getattr(request.state, "principal", None) is None:
            # A JWKS fetch is blocking network I/O: keep it off the event loop.
            principal = await asyncio.to_thread(authenticate, request)
        else:
            principal = authenticate(request)
        if not any(principal.can(p) for p in permissions):
            raise ApiError(
                403, "forbidden",
                f"this action needs the permission {' or '.join(permissions)}; "
                f"roles {list(principal.roles)} of agency {principal.agency!r} do not give it",
            )
        return principal

    dependency.__dict__["permissions"] = permissions  # named in the route's 403 (service.api.openapi)
    return dependency
