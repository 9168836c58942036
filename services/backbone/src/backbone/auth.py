"""Principals: who is calling, bound to an organisation unit and a role.

Production authenticates signed tokens (JWT, OIDC-style): issuer, audience and expiry are checked,
keys come from a JWKS endpoint or a configured public key (PyJWT does the cryptography), and the
principal's unit and role are claims. Embedded mode (and only embedded mode) also accepts the demo
tokens of ``deploy/seed/demo-tokens.yaml``; the production image and compose do not ship that file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

import jwt
import yaml

ROLES = {
    "registrar",  # 登记员
    "handler",  # 承办人
    "supervisor",  # 督办员
    "leader",  # 领导
    "hq_analyst",  # 总部分析员
    "union_liaison",  # 工会联络员
    "government_liaison",  # 地方政府联络员
    "operator",  # 运维
    "admin",
}
LIAISON_ROLES = frozenset({"union_liaison", "government_liaison"})
# the roles that may see who petitioners are, and what only identities reveal (a 信访老户 flag)
IDENTITY_ROLES = frozenset({"registrar", "handler", "leader", "admin"})
IDENTITY_FLAGS = frozenset({"frequent_petitioner"})


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    kind: str
    parent: str | None
    employees: int | None = None


@dataclass(frozen=True)
class Principal:
    id: str
    unit: str
    role: str


@dataclass
class OrgTree:
    units: dict[str, Unit]
    children: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_nodes(cls, nodes: list[dict]) -> OrgTree:
        units: dict[str, Unit] = {}
        children: dict[str, list[str]] = {}

        def walk(node: dict, parent: str | None) -> None:
            uid = node["id"]
            if uid in units:
                raise ValueError(f"unit {uid} appears twice in the organisation tree")
            units[uid] = Unit(uid, node["name"], node["kind"], parent, node.get("employees"))
            children.setdefault(uid, [])
            if parent:
                children[parent].append(uid)
            for child in node.get("children", []):
                walk(child, uid)

        for n in nodes:
            walk(n, None)
        return cls(units, children)

    @classmethod
    def load(cls, path: Path) -> OrgTree:
        return cls.from_nodes(yaml.safe_load(Path(path).read_text(encoding="utf-8"))["units"])

    def get(self, unit_id: str) -> Unit:
        return self.units[unit_id]

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.units

    def ancestors_or_self(self, unit_id: str) -> list[str]:
        out = []
        cur: str | None = unit_id
        while cur is not None:
            out.append(cur)
            cur = self.units[cur].parent
        return out

    def subtree(self, unit_id: str) -> list[str]:
        out, todo = [], [unit_id]
        while todo:
            u = todo.pop()
            out.append(u)
            todo.extend(self.children.get(u, ()))
        return out

    def is_within(self, unit_id: str, root: str) -> bool:
        """True if ``unit_id`` is ``root`` or lies under it."""
        return unit_id in self.units and root in self.ancestors_or_self(unit_id)

    def subsidiary_of(self, unit_id: str) -> str | None:
        for u in self.ancestors_or_self(unit_id):
            if self.units[u].kind == "subsidiary":
                return u
        return None

    def parent_of(self, unit_id: str) -> str | None:
        return self.units[unit_id].parent

    def child_of_kind(self, unit_id: str, kind: str) -> str | None:
        for c in self.children.get(unit_id, []):
            if self.units[c].kind == kind:
                return c
        return None

    ORGAN_KINDS = frozenset({"headquarters", "subsidiary", "grassroots"})

    def organ_of(self, unit_id: str) -> str:
        """The unit that answers for ``unit_id`` in law (单位): itself if it is headquarters, a
        subsidiary or a grass-roots unit, else the nearest such unit above it (a department acts for
        its company). Moving a case between two departments of one organ is internal routing;
        moving it to another organ is 转送 / 交办 (Art 23)."""
        for u in self.ancestors_or_self(unit_id):
            if self.units[u].kind in self.ORGAN_KINDS:
                return u
        return self.ancestors_or_self(unit_id)[-1]

    def common_superior(self, a: str, b: str) -> str | None:
        """The lowest unit that both ``a`` and ``b`` lie within (Art 24: it decides between them)."""
        above_a = self.ancestors_or_self(a)
        for u in self.ancestors_or_self(b):
            if u in above_a:
                return u
        return None

    def name(self, unit_id: str | None) -> str | None:
        return self.units[unit_id].name if unit_id in self.units else None

    @cached_property
    def subsidiaries(self) -> list[str]:
        return [u.id for u in self.units.values() if u.kind == "subsidiary"]


class InvalidToken(Exception):
    """The token is not one this deployment accepts (the reason is for logs, not for the caller)."""


class Authenticator(Protocol):
    def authenticate(self, token: str) -> Principal: ...


def _checked(org: OrgTree, pid: str, unit: str, role: str) -> Principal:
    if role not in ROLES:
        raise InvalidToken(f"unknown role {role!r}")
    if unit not in org:
        raise InvalidToken(f"unknown unit {unit!r}")
    return Principal(pid, unit, role)


class DemoTokens:
    """Fixed bearer tokens from a seed file: embedded mode only."""

    def __init__(self, path: Path, org: OrgTree):
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        self._by_hash: dict[bytes, Principal] = {}
        for p in data["principals"]:
            try:
                principal = _checked(org, p["id"], p["unit"], p["role"])
            except InvalidToken as e:
                raise ValueError(f"demo principal {p['id']}: {e}") from None
            self._by_hash[hashlib.sha256(p["token"].encode()).digest()] = principal

    def authenticate(self, token: str) -> Principal:
        # looked up by hash: the comparison never runs over the secret itself
        principal = self._by_hash.get(hashlib.sha256(token.encode()).digest())
        if principal is None:
            raise InvalidToken("not a demo token")
        return principal


class JwtAuthenticator:
    """Signed tokens from the group's identity provider (OIDC-style access tokens)."""

    def __init__(
        self,
        org: OrgTree,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        public_key: str | None = None,
        jwks_url: str | None = None,
        unit_claim: str = "xf_unit",
        role_claim: str = "xf_role",
        leeway_s: int = 30,
    ):
        if not (public_key or jwks_url):
            raise ValueError("JWT authentication needs a public key or a JWKS URL")
        if any(a.upper().startswith("HS") or a.lower() == "none" for a in algorithms):
            raise ValueError("only asymmetric JWT algorithms are accepted (RS*, PS*, ES*, EdDSA)")
        self.org = org
        self.issuer, self.audience, self.algorithms = issuer, audience, algorithms
        self._key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self.unit_claim, self.role_claim, self.leeway = unit_claim, role_claim, leeway_s

    def authenticate(self, token: str) -> Principal:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as e:
            raise InvalidToken(f"{type(e).__name__}: {e}") from None
        unit, role = claims.get(self.unit_claim), claims.get(self.role_claim)
        if not isinstance(unit, str) or not isinstance(role, str):
            raise InvalidToken(f"token lacks {self.unit_claim}/{self.role_claim}")
        return _checked(self.org, str(claims["sub"]), unit, role)


class Chain:
    """Tries each authenticator in turn (embedded mode: demo tokens, then JWTs if configured)."""

    def __init__(self, *authenticators: Authenticator):
        self.authenticators = authenticators

    def authenticate(self, token: str) -> Principal:
        reasons = []
        for a in self.authenticators:
            try:
                return a.authenticate(token)
            except InvalidToken as e:
                reasons.append(str(e))
        raise InvalidToken("; ".join(reasons) or "no authenticator")
