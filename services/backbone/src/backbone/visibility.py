"""Who may see which case: the one rule, written once, applied in SQL by every service's reads.

A principal sees a case when
  - the case was received by, is held by (responsible / unroutable queue), or involves (the first
    unit to handle it, the unit that sent it, assisting units, reviewing units ...) a unit in the
    principal's own subtree (headquarters, the root, sees every such case; a petition office's
    subtree is its whole organisation's), or
  - the case is shared with the principal's own unit (the only way a union or government liaison
    sees anything; ``shared`` says which fields it was given, and ``Scope.shared_fields`` reads it),
and never when the case accuses the principal's unit or a unit above it, names the principal as
an accused person, or the principal withdrew from it (回避) (条例 Arts 28, 30, 46(五)).
A petitioner's own unit is not, by that fact alone, entitled to see the case (Art 46(六)).

The case's units live in the ``case_scope`` table of every service, kept from the events by
``record`` below, so that all four services answer the same for the same principal and case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from . import bulk
from .auth import IDENTITY_FLAGS, IDENTITY_ROLES, LIAISON_ROLES, OrgTree, Principal
from .contracts import (
    CaseAssigned,
    CaseClassified,
    CaseShared,
    CaseUnroutable,
    HandlerRecused,
    JointHandlingSet,
    ObjectionDecided,
    ObjectionRaised,
    OrderIssued,
    PetitionRegistered,
    ReviewRequested,
    SharingRevoked,
)
from .envelope import Envelope


@dataclass(frozen=True, slots=True)
class CaseUnits:
    receiving_unit: str | None
    responsible_unit: str | None
    accused_unit: str | None
    shared_with: tuple[str, ...] = ()
    involved: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # principals: accused persons, and handlers who withdrew


@dataclass(frozen=True, slots=True)
class Scope:
    """What one principal may see, computed once per request from the organisation tree."""

    subtree: frozenset[str] | None  # None: every unit (the root's own principals)
    party: str  # the principal's own unit, matched against shared_with
    lineage: tuple[str, ...]  # the principal's unit and its ancestors: a case accusing one is hidden
    principal: str = ""  # a case excluding this principal is hidden
    identity: bool = False  # the principal's role may see identities (and flags only they reveal)
    liaison: bool = False  # an external party's principal: only what was shared with its unit

    @classmethod
    def of(cls, principal: Principal, org: OrgTree) -> Scope:
        # a petition office acts for its whole organisation (Art 15: it guides and supervises the
        # units below): the group's office sees the group, a company's office the company
        home = principal.unit
        if principal.unit in org and org.get(principal.unit).kind == "petition_office":
            home = org.organ_of(principal.unit)
        if principal.role in LIAISON_ROLES:
            subtree: frozenset[str] | None = frozenset()
        elif org.parent_of(home) is None and org.get(home).kind == "headquarters":
            subtree = None
        else:
            subtree = frozenset(org.subtree(home))
        return cls(subtree, principal.unit, tuple(org.ancestors_or_self(principal.unit)), principal.id,
                   principal.role in IDENTITY_ROLES, principal.role in LIAISON_ROLES)

    def shared_fields(self, shared: dict | None) -> frozenset[str] | None:
        """For a liaison, the fields of the case shared with its party (None: not a liaison)."""
        if not self.liaison:
            return None
        return frozenset((shared or {}).get(self.party) or ())

    def flags(self, flags) -> list[str]:
        """The flags this principal may see: 信访老户 only with identities."""
        return [f for f in flags if self.identity or f not in IDENTITY_FLAGS]

    def allows(self, case: CaseUnits) -> bool:
        """The same rule in Python: for a case already loaded, and to check the SQL in tests."""
        if case.accused_unit is not None and case.accused_unit in self.lineage:
            return False
        if self.principal in case.excluded:
            return False
        if self.party in case.shared_with:
            return True
        held = [u for u in (case.receiving_unit, case.responsible_unit, *case.involved) if u is not None]
        return bool(held) and (self.subtree is None or any(u in self.subtree for u in held))

    def where(self, alias: str = "s") -> tuple[sql.Composable, dict[str, Any]]:
        """SQL predicate over ``case_scope`` (aliased ``alias``) and its parameters."""
        a = sql.Identifier(alias)
        if self.subtree is None:
            held = sql.SQL("({a}.receiving_unit IS NOT NULL OR {a}.responsible_unit IS NOT NULL"
                           " OR {a}.involved <> '{{}}')").format(a=a)
        elif self.subtree:
            held = sql.SQL(
                "({a}.receiving_unit = ANY(%(xf_subtree)s) OR {a}.responsible_unit = ANY(%(xf_subtree)s)"
                " OR {a}.involved && %(xf_subtree)s::text[])"
            ).format(a=a)
        else:
            held = sql.SQL("false")
        pred = sql.SQL(
            "(({held}) OR {a}.shared_with @> ARRAY[%(xf_party)s]::text[])"
            " AND ({a}.accused_unit IS NULL OR NOT {a}.accused_unit = ANY(%(xf_lineage)s))"
            " AND NOT {a}.excluded @> ARRAY[%(xf_principal)s]::text[]"
        ).format(held=held, a=a)
        return pred, {"xf_subtree": sorted(self.subtree or ()), "xf_party": self.party, "xf_lineage": list(self.lineage),
                      "xf_principal": self.principal}


# -- keeping case_scope ----------------------------------------------------------------------------

# the parties' entries of the incoming row whose routing version is newer than the recorded one
_NEWER = ("(SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) FROM jsonb_each(EXCLUDED.shared) e"
          " WHERE coalesce((EXCLUDED.shared_versions ->> e.key)::int, 0) > coalesce((s.shared_versions ->> e.key)::int, 0))")
# one row per case per statement; each event fills only what it knows (COALESCE keeps the rest), the
# unit holding the case is taken only from a routing version newer than the one recorded, and the
# involved units and excluded principals only ever grow
_UPSERT = bulk.insert(
    "case_scope",
    ("case_id", "received_at", "receiving_unit", "accused_unit", "responsible_unit", "responsible_version",
     "involved", "excluded", "shared", "shared_versions", "shared_with"),
    "ON CONFLICT (case_id) DO UPDATE SET received_at = COALESCE(EXCLUDED.received_at, s.received_at),"
    " receiving_unit = COALESCE(EXCLUDED.receiving_unit, s.receiving_unit),"
    " accused_unit = COALESCE(EXCLUDED.accused_unit, s.accused_unit),"
    " responsible_unit = CASE WHEN EXCLUDED.responsible_version > s.responsible_version"
    " THEN EXCLUDED.responsible_unit ELSE s.responsible_unit END,"
    " responsible_version = GREATEST(EXCLUDED.responsible_version, s.responsible_version),"
    " involved = ARRAY(SELECT DISTINCT x FROM unnest(s.involved || EXCLUDED.involved) x ORDER BY x),"
    " excluded = ARRAY(SELECT DISTINCT x FROM unnest(s.excluded || EXCLUDED.excluded) x ORDER BY x),"
    # sharing: a party's entry replaced by a newer decision only (by routing version); null removes
    # it (revoked)
    " shared = CASE WHEN EXCLUDED.shared = '{}' THEN s.shared ELSE jsonb_strip_nulls(s.shared || " + _NEWER + ") END,"
    " shared_versions = s.shared_versions || (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)"
    "   FROM jsonb_each(EXCLUDED.shared_versions) e"
    "  WHERE (e.value)::int > coalesce((s.shared_versions ->> e.key)::int, 0)),"
    " shared_with = CASE WHEN EXCLUDED.shared = '{}' THEN s.shared_with ELSE ARRAY(SELECT k FROM"
    " jsonb_object_keys(jsonb_strip_nulls(s.shared || " + _NEWER + ")) k ORDER BY k) END",
    alias="s",
)
SCOPED = (PetitionRegistered, CaseAssigned, CaseUnroutable, CaseClassified, HandlerRecused, JointHandlingSet,
           ObjectionRaised, ObjectionDecided, ReviewRequested, OrderIssued, CaseShared, SharingRevoked)


def scope_rows(events: Iterable[Envelope]) -> dict[str, dict[str, Any]]:
    """Pure: what the events change about who may see their cases, one row per case."""
    rows: dict[str, dict[str, Any]] = {}
    for ev in events:
        p = ev.payload
        if not isinstance(p, SCOPED):
            continue
        row = rows.setdefault(ev.subject, {"case_id": ev.subject, "responsible_version": 0, "involved": [],
                                           "excluded": [], "shared": {}, "shared_versions": {}})
        match p:
            case PetitionRegistered():
                row.update(received_at=p.received_at, receiving_unit=p.receiving_unit, accused_unit=p.accused_unit)
                row["excluded"] += p.accused_principals
            case CaseAssigned() | CaseUnroutable():
                if ev.sequence > row["responsible_version"]:
                    row.update(responsible_unit=p.unit if isinstance(p, CaseAssigned) else p.queue_unit,
                               responsible_version=ev.sequence)
                if isinstance(p, CaseAssigned):
                    row["involved"] += [u for u in (p.first_unit, p.previous_unit) if u]
            case CaseClassified():
                if p.accused_unit:
                    row["accused_unit"] = p.accused_unit
                row["excluded"] += p.accused_principals
            case HandlerRecused():
                row["excluded"].append(p.handler)
            case JointHandlingSet():
                row["involved"] += [t.unit for t in p.subtasks]
            case ObjectionRaised():
                row["involved"].append(p.sender)
            case ObjectionDecided():
                row["involved"] += [p.referred_to] if p.referred_to else []
            case ReviewRequested():
                row["involved"] += [p.reviewing_unit] if p.reviewing_unit else []
            case OrderIssued():
                row["involved"].append(p.issued_by)
            case CaseShared() | SharingRevoked():
                if ev.sequence > row["shared_versions"].get(p.party, 0):  # the newest decision holds
                    row["shared"][p.party] = sorted(set(p.fields)) if isinstance(p, CaseShared) else None
                    row["shared_versions"][p.party] = ev.sequence
    for row in rows.values():
        row["involved"], row["excluded"] = sorted(set(row["involved"])), sorted(set(row["excluded"]))
        row["shared_with"] = sorted(k for k, v in row["shared"].items() if v is not None)  # a new row's parties
    return rows


def statements(events: Iterable[Envelope]) -> list[tuple[str, Sequence]]:
    """The statement (if any) that records the events' scope changes."""
    rows = scope_rows(events)
    return [(_UPSERT, [bulk.rows(rows[k] for k in sorted(rows))])] if rows else []
