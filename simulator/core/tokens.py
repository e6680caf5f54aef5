"""Entra-style signed access tokens (RS256 JWTs) and the JWKS that verifies them."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64u(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


LEEWAY = 5  # seconds of clock skew allowed on exp/nbf


class TokenIssuer:
    """Signs and verifies tokens for one simulated tenant."""

    def __init__(self, key_path: Path, issuer_base: str) -> None:
        self._verified: dict[str, dict[str, Any]] = {}  # token -> claims, signature checked
        if key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_path.chmod(0o600)
        self._key = key
        pub = key.public_key().public_numbers()
        self.kid = hashlib.sha256(_b64u(pub.n).encode()).hexdigest()[:27]
        self._jwk = {"kty": "RSA", "use": "sig", "kid": self.kid, "n": _b64u(pub.n), "e": _b64u(pub.e)}
        self.issuer_base = issuer_base.rstrip("/")

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk, x5t=self.kid)]}

    def issuer(self, tenant_id: str) -> str:
        return f"{self.issuer_base}/{tenant_id}/v2.0"

    def issue(
        self,
        *,
        tenant_id: str,
        audience: str,
        object_id: str,
        app_id: str | None,
        lifetime: int = 3600,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer(tenant_id),
            # Entra backdates both by five minutes (its clock-skew allowance), so a token's
            # iat is never "when it was requested"
            "iat": now - 300,
            "nbf": now - 300,
            "exp": now + lifetime,
            "tid": tenant_id,
            "oid": object_id,
            "sub": object_id,
            "uti": uuid.uuid4().hex,
            "ver": "2.0",
        }
        if app_id:
            claims["appid"] = app_id
            claims["azp"] = app_id
            claims["idtyp"] = "app"
        claims.update(extra or {})
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        return token, now + lifetime

    def verify(self, token: str, audiences: list[str]) -> dict[str, Any]:
        """Return the claims; raise ``jwt.PyJWTError`` when the token is not ours/valid.

        A token whose signature was verified once is remembered: later calls check only its
        times and audience (as PyJWT does, with the same leeway), and anything that would fail
        goes through the full decode, so the error is PyJWT's own."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None and known["exp"] > now - LEEWAY and \
                known.get("nbf", 0) <= now + LEEWAY and _audience_ok(known["aud"], audiences):
            return dict(known)
        claims: dict[str, Any] = jwt.decode(
            token,
            self._key.public_key(),
            algorithms=["RS256"],
            audience=audiences,
            options={"require": ["exp", "aud", "tid", "oid"]},
            leeway=LEEWAY,
        )
        if len(self._verified) >= 50_000:
            self._verified.clear()
        self._verified[token] = dict(claims)
        return claims


def _audience_ok(aud: Any, audiences: list[str]) -> bool:
    return bool(set([aud] if isinstance(aud, str) else aud or []) & set(audiences))
