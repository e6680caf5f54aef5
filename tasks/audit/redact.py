"""The redaction guard: an audit record that looks like it holds a secret is refused, not
cleaned. The log is kept forever and exported to auditors, so a secret written there cannot be
taken back; refusing makes the caller's mistake loud (and its test red) instead of silently
storing or mangling it. Callers record what a secret *is* (its id, hint or expiry), never it.
"""

from __future__ import annotations

import re
from typing import Any

from tasks.audit.errors import AuditError

# a JWT (Entra access/id tokens): three base64url segments, the header starting {"
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# key names (lower-cased, without separators) that hold a secret when they have a value; a key
# merely ending in "secret" is often a Kubernetes secret's *name* (pull_secret), so only these
_SECRET_KEYS = frozenset({"password", "passwd", "pwd", "secret", "clientsecret", "appsecret",
                          "sharedsecret", "secretvalue", "token", "accesstoken", "refreshtoken",
                          "idtoken", "bearertoken", "sastoken", "apikey", "privatekey",
                          "connectionstring", "accountkey", "primarykey", "secondarykey"})
_SECRET_SUFFIXES = ("password", "passwd", "token")
# under "secret", a Kubernetes Secret's ``namespace/name`` is a reference, not a secret value
# (the pull-secret checks record which secret they read); nothing else is let through
_K8S_REF = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?")


class SecretInAuditRecord(AuditError):
    """A record's data looks like it holds a secret (the message names where, never what)."""


def _secret_key(key: str) -> bool:
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    return norm in _SECRET_KEYS or norm.endswith(_SECRET_SUFFIXES)


def _has_value(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str | bytes | list | tuple | dict):
        return len(value) > 0
    return True


def check_no_secrets(data: Any, path: str = "data") -> None:
    """Raise :class:`SecretInAuditRecord` naming the first place in ``data`` that holds a
    JWT, a PEM private key, or a value under a secret-named key (password, secret, token,
    clientSecret, ...)."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}"
            k8s_ref = str(key).lower() == "secret" and isinstance(value, str) \
                and _K8S_REF.fullmatch(value) is not None
            if _secret_key(str(key)) and _has_value(value) and not k8s_ref:
                raise SecretInAuditRecord(
                    f"audit record refused: {where} holds a value under a secret's name; record "
                    "what the secret is (its id, hint or expiry), never the secret")
            check_no_secrets(value, where)
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            check_no_secrets(value, f"{path}[{i}]")
    elif isinstance(data, str):
        if _JWT.search(data):
            raise SecretInAuditRecord(f"audit record refused: {path} contains a JWT (eyJ...); "
                                      "record its id (uti/jti) or claims, never the token")
        if _PEM.search(data):
            raise SecretInAuditRecord(f"audit record refused: {path} contains a private key")
