"""Who may see what: the organisation tree, principals bound to a unit and a role, and scopes.

In embedded mode the tree and the bearer tokens come from a seed file (deploy/seed/org.yaml).
A principal sees its own unit's subtree; headquarters (the root) sees everything; a case about an
accused unit is invisible to that unit and everything under it (条例 Art. 30, 46(五)).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

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

    @cached_property
    def subsidiaries(self) -> list[str]:
        return [u.id for u in self.units.values() if u.kind == "subsidiary"]


@dataclass
class Directory:
    org: OrgTree
    tokens: dict[str, Principal]

    @classmethod
    def load(cls, path: Path) -> Directory:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        org = OrgTree.from_nodes(data["units"])
        tokens: dict[str, Principal] = {}
        for p in data.get("principals", []):
            if p["role"] not in ROLES:
                raise ValueError(f"principal {p['id']}: unknown role {p['role']}")
            if p["unit"] not in org:
                raise ValueError(f"principal {p['id']}: unknown unit {p['unit']}")
            tokens[p["token"]] = Principal(p["id"], p["unit"], p["role"])
        return cls(org, tokens)

    def authenticate(self, token: str) -> Principal | None:
        # constant-time comparison against every token, so timing does not leak a prefix
        found = None
        for known, principal in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = principal
        return found

    def can_see_unit(self, principal: Principal, unit_id: str | None) -> bool:
        return unit_id is not None and self.org.is_within(unit_id, principal.unit)

    def can_see_case(self, principal: Principal, units: list[str | None], accused_unit: str | None) -> bool:
        """Scope rule shared by every read: in the principal's subtree, and not the accused's."""
        if accused_unit and accused_unit in self.org and self.org.is_within(principal.unit, accused_unit):
            return False
        return any(self.can_see_unit(principal, u) for u in units)
