"""Intake's composition root: everything its use cases need, wired once (the tests use it too)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from backbone import bulk
from backbone.contracts import (
    TOPIC_INTAKE,
    TOPIC_ROUTING,
    TOPIC_SUPERVISION_MILESTONES,
    CaseFinalised,
    PetitionFlagged,
    PetitionRegistered,
)
from backbone.consumer import Elsewhere
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.sealing import Sealer

from .domain import case_number

MIGRATIONS = Path(__file__).parent / "migrations"


class CaseNumbers:
    """Case numbers from the database sequence, taken in blocks: one round trip per 50 cases.
    Numbers are labels (the case id is the identity): a block cut short by a restart leaves a gap."""

    BLOCK = 50

    def __init__(self) -> None:
        self._free: list[int] = []
        self._lock = asyncio.Lock()

    async def next(self, pool, received_at: datetime) -> str:
        async with self._lock:
            if not self._free:
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT nextval('case_no_seq') FROM generate_series(1, %s)", (self.BLOCK,))
                    self._free = sorted((r[0] for r in await cur.fetchall()), reverse=True)
            return case_number(received_at, self._free.pop())


@dataclass
class Intake:
    ctx: Context
    sealer: Sealer
    receipt_key: bytes
    match_key: bytes  # keys the identity hashes that match a person across cases
    issue_types: frozenset[str]
    numbers: CaseNumbers = field(default_factory=CaseNumbers)


def intake(ctx: Context) -> Intake:
    s = ctx.settings
    sealer = Sealer(s.seal_key.get_secret_value())
    taxonomy = yaml.safe_load(s.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    return Intake(ctx, sealer, sealer.derive("receipt-code"), sealer.derive("petitioner-match"),
                  frozenset(t["id"] for t in taxonomy["issue_types"]))


class Detector:
    """Detection rules over the registrations (intake's ``registrations`` table, written with each
    registration). Today: a petition by a petitioner of a matter made final after 复核, on the same
    issue, is flagged with a 不再受理 suggestion linked to the final case (Art 36 ¶3) — a person
    confirms it in routing. It does not depend on which comes first: a registration finds the final
    cases it repeats, and a finality finds the registrations that already repeat it."""

    emits = True
    wants = (PetitionRegistered, CaseFinalised)
    FLAG = "final_after_re_review"
    BASIS = "《信访工作条例》第三十六条第三款：复核终结后以同一事实和理由再次提出的，不再受理"
    # for each case of the batch: the final cases it repeats, and the later registrations repeating it
    _MATCHES = (
        "SELECT r.case_id, r.final, r.flagged, coalesce(m.repeats, '{}'), coalesce(m.repeated_by, '{}')"
        " FROM registrations r LEFT JOIN LATERAL ("
        "   SELECT array_agg(f.case_id::text ORDER BY f.received_at) FILTER (WHERE f.final) AS repeats,"
        "          array_agg(f.case_id::text ORDER BY f.received_at) FILTER (WHERE NOT f.final"
        "            AND f.received_at >= r.received_at AND NOT %s = ANY(f.flagged)) AS repeated_by"
        "     FROM registrations f"  # the keys' index finds the same persons; nothing when there are no keys
        "    WHERE f.keys <> '{}' AND f.keys && r.keys AND f.case_id <> r.case_id AND f.issue_type = r.issue_type"
        " ) m ON r.keys <> '{}'"
        " WHERE r.case_id = ANY(%s::uuid[])"
    )
    _SAVE = ("UPDATE registrations r SET final = r.final OR x.final,"
             " flagged = ARRAY(SELECT DISTINCT unnest(r.flagged || x.flagged))"
             " FROM json_populate_recordset(NULL::registrations, %s::json) x WHERE r.case_id = x.case_id")

    def load(self, case_ids):
        return [(self._MATCHES, [self.FLAG, bulk.array(case_ids)])]

    def states(self, rows):
        return {str(r[0]): {"final": r[1], "flagged": tuple(r[2]), "repeats": tuple(r[3]), "repeated_by": tuple(r[4]),
                            "also_flag": ()} for r in rows[0]}

    def _flag(self, case_id: str, final_case_ids) -> PetitionFlagged:
        return PetitionFlagged(case_id=case_id, flag=self.FLAG, rule="final-same-issue",
                               linked_case_ids=list(final_case_ids), suggestion="不再受理", basis=self.BASIS)

    def apply(self, state, event):
        p = event.payload
        if state is None:
            return state, []
        if isinstance(p, CaseFinalised) and not state["final"]:
            later = [c for c in state["repeated_by"]]
            return ({**state, "final": True, "also_flag": later},
                    [Elsewhere(c, self._flag(c, [event.subject])) for c in later])
        if isinstance(p, PetitionRegistered) and state["repeats"] and self.FLAG not in state["flagged"]:
            return {**state, "flagged": (*state["flagged"], self.FLAG)}, [self._flag(event.subject, state["repeats"])]
        return state, []

    def save(self, states):
        rows = [{"case_id": case_id, "final": s["final"], "flagged": list(s["flagged"])} for case_id, s in states.items()]
        rows += [{"case_id": c, "final": False, "flagged": [self.FLAG]} for s in states.values() for c in s["also_flag"]]
        return [(self._SAVE, [bulk.rows(rows)])]


class _ScopeOnly:
    """Intake keeps no state of other services' events: only who may see each case (the backbone
    records that for every consumed event)."""

    emits = False
    wants = ()  # nothing to apply: only who may see each case is recorded

    def load(self, case_ids):
        return []

    def states(self, rows):
        return {}

    def apply(self, state, event):
        return state, []

    def save(self, states):
        return []


def _app(ctx: Context):
    from .api import build

    return build(intake(ctx))


SERVICE = ServiceDef(
    name="intake",
    migrations=MIGRATIONS,
    app=_app,
    # off the critical path (who may read a registration follows routing's decisions within a second):
    # it gathers a second's worth of events per batch, so it costs almost nothing per petition
    consumers=lambda ctx: [ConsumerDef("scope", [TOPIC_ROUTING], _ScopeOnly(), linger_ms=1000),
                           # off the critical path too: a suggestion for the handler, within a fraction of a second
                           # finality comes on supervision's milestone topic, not in its whole stream
                           ConsumerDef("detector", [TOPIC_INTAKE, TOPIC_SUPERVISION_MILESTONES], Detector(),
                                       linger_ms=200)],
)
