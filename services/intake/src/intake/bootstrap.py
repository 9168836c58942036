"""Intake's composition root: everything its use cases need, wired once (the tests use it too)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from backbone import bulk
from backbone.contracts import (
    TOPIC_INTAKE,
    TOPIC_ROUTING,
    TOPIC_SUPERVISION_MILESTONES,
    CaseClosed,
    CaseFinalised,
    CaseRejected,
    PetitionRegistered,
)
from backbone.consumer import Elsewhere
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.sealing import Sealer

from . import detection
from .classifier import Classifier
from .domain import DEFAULT_DOCUMENTS, Documents, case_number

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
    rules: detection.Rules
    issue_names: dict[str, str] = field(default_factory=dict)
    documents: Documents = DEFAULT_DOCUMENTS
    numbers: CaseNumbers = field(default_factory=CaseNumbers)
    _classifier: Classifier | None = None
    _training: threading.Lock = field(default_factory=threading.Lock)

    @property
    def classifier(self) -> Classifier:
        """Trained from the group's examples on first use (2–3 s), not at every start."""
        with self._training:
            if self._classifier is None:
                examples = yaml.safe_load(self.ctx.settings.seed("classifier-examples.yaml").read_text(encoding="utf-8"))
                self._classifier = Classifier(examples["examples"])
            return self._classifier


def intake(ctx: Context) -> Intake:
    s = ctx.settings
    sealer = Sealer(s.seal_key.get_secret_value())
    taxonomy = yaml.safe_load(s.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    detection.words("预热")  # load jieba's dictionary now (0.7 s), not in the first registration
    return Intake(ctx, sealer, sealer.derive("receipt-code"), sealer.derive("petitioner-match"),
                  frozenset(t["id"] for t in taxonomy["issue_types"]), detection_rules(ctx),
                  {t["id"]: t["name"] for t in taxonomy["issue_types"]},
                  Documents(yaml.safe_load(s.seed("id-documents.yaml").read_text(encoding="utf-8"))["documents"]))


class Detector:
    """The detection rules (``detection``, deploy/seed/detection.yaml) applied to each registration
    against the registrations that share a person's key or the text's LSH bands; and what later
    facts change: a matter closed (办结) or not accepted is no longer being handled, a matter final
    after 复核 turns later repeats into 不再受理 suggestions (Art 36 ¶3). Findings are
    ``petition.flagged.v1`` events, once per case and flag, on the flagged case's stream."""

    emits = True
    wants = (PetitionRegistered, CaseClosed, CaseFinalised, CaseRejected)
    # the registrations of the same persons (the latest 200) and those whose text shares an LSH band
    # within the window (the latest 20: enough to link 一信多投; a flood of one text would otherwise
    # make every registration read all the others — measured: half of intake's CPU in the bench)
    # A match's columns as the rules read them: no LSH bands, and no signature when its text is the
    # very text of the registration (same sig_hash; Python takes the registration's own). A person
    # with 200 earlier registrations of one letter made each registration carry 200 signatures of
    # 128 numbers and 64 band keys: 1.05 ms of PostgreSQL and a quarter of the detector's CPU per
    # petition in bench/pipeline.py (one petitioner, one text).
    _MATCH = ("json_build_object('case_id', f.case_id, 'received_at', f.received_at, 'receiving_unit', f.receiving_unit,"
              " 'channel', f.channel, 'issue_type', f.issue_type, 'keys', f.keys, 'competent', f.competent,"
              " 'petitioner_count', f.petitioner_count, 'involved_count', f.involved_count, 'closed', f.closed,"
              " 'final', f.final, 'flagged', f.flagged, 'registered_at', f.registered_at, 'detected', f.detected,"
              " 'same_text', f.sig_hash = r.sig_hash,"
              " 'sig', CASE WHEN f.sig_hash = r.sig_hash THEN NULL ELSE f.sig END)")
    _MATCHES = (
        "SELECT to_json(r), (SELECT coalesce(json_agg(" + _MATCH + "), '[]') FROM ("
        "   (SELECT f.* FROM registrations f WHERE f.case_id IN ("  # each key's latest 200 by btree, then the latest 200
        "     SELECT m.case_id FROM unnest(r.keys) mine (key), LATERAL (SELECT k.case_id, k.received_at"
        "       FROM registration_keys k WHERE k.key = mine.key AND k.case_id <> r.case_id ORDER BY k.received_at DESC LIMIT 200) m"
        "     ORDER BY m.received_at DESC LIMIT 200))"
        "   UNION"  # the same text exactly: a bounded btree lookup
        "   (SELECT f.* FROM registrations f WHERE f.case_id <> r.case_id AND r.sig_hash IS NOT NULL"
        "     AND f.sig_hash = r.sig_hash ORDER BY f.received_at DESC LIMIT 20)"
        "   UNION"  # nearly the same: the band index, unless twenty copies of the very text are known already
        # (counted along the sig_hash index in its order: without ORDER BY the planner took a bitmap
        # scan of every copy, 1 ms a registration with 9,400 copies of the bench's letter)
        "   (SELECT f.* FROM registrations f WHERE f.case_id <> r.case_id"
        "     AND r.bands <> '{}' AND f.bands <> '{}' AND f.bands && r.bands"
        "     AND f.received_at BETWEEN r.received_at - %s * interval '1 day' AND r.received_at + %s * interval '1 day'"
        "     AND (SELECT count(*) FROM (SELECT 1 FROM registrations x WHERE x.sig_hash = r.sig_hash"
        "          AND x.case_id <> r.case_id ORDER BY x.received_at DESC LIMIT 20) copies) < 20"
        "     ORDER BY f.received_at DESC LIMIT 20)) f)"
        " FROM registrations r WHERE r.case_id = ANY(%s::uuid[])"
    )
    _SAVE = ("UPDATE registrations r SET final = r.final OR x.final, closed = r.closed OR x.closed,"
             " detected = r.detected OR x.detected,"
             " flagged = ARRAY(SELECT DISTINCT unnest(r.flagged || x.flagged))"
             " FROM json_populate_recordset(NULL::registrations, %s::json) x WHERE r.case_id = x.case_id")

    def __init__(self, ctx: Context):
        self.org = ctx.org
        self.rules = detection_rules(ctx)
        self._flagged: dict[str, set[str]] = {}  # flags given in this batch (cases may meet twice in one)

    def load(self, case_ids):
        self._flagged = {}
        window = self.rules.duplicate_text.window_days
        return [(self._MATCHES, [window, window, bulk.array(case_ids)])]

    def states(self, rows):
        out = {}
        for me, others in rows[0]:
            mine = _registration(me)
            out[str(me["case_id"])] = {"me": mine, "others": [_registration(o, mine.sig) for o in others],
                                       "closed": False, "final": False, "detected": False, "flags": {}}
        return out

    def _new(self, finding: detection.Finding, state) -> bool:
        """True (and remembered) if the case does not carry this flag yet."""
        have = self._flagged.setdefault(finding.case_id, set())
        known = state["me"].flagged if finding.case_id == state["me"].case_id else next(
            (o.flagged for o in state["others"] if o.case_id == finding.case_id), frozenset())
        if finding.flag in have or finding.flag in known:
            return False
        have.add(finding.flag)
        return True

    def _emit(self, state, findings):
        out, flags = [], dict(state["flags"])
        me = state["me"].case_id
        for f in findings:
            if self._new(f, state):
                flags.setdefault(f.case_id, set()).add(f.flag)
                out.append(f.event() if f.case_id == me else Elsewhere(f.case_id, f.event()))
        return {**state, "flags": flags}, out

    def apply(self, state, event):
        p = event.payload
        if state is None:
            return state, []
        me = state["me"]
        match p:
            case PetitionRegistered():
                state, out = self._emit(state, detection.detect(me, state["others"], self.org, self.rules))
                return {**state, "detected": True}, out
            case CaseFinalised() if not me.final:
                final = dataclasses.replace(me, final=True)
                later = [detection.final_finding(o.case_id, [me.case_id]) for o in state["others"]
                         if o.order > me.order and self.rules.final_after_re_review.enabled
                         and detection._same_matter(o, final, self.rules.final_after_re_review.min_similarity)]
                state, out = self._emit({**state, "me": final}, later)
                return {**state, "final": True}, out
            case CaseClosed() | CaseRejected() if not me.closed:
                return {**state, "me": dataclasses.replace(me, closed=True), "closed": True}, []
        return state, []

    def save(self, states):
        rows: dict[str, dict] = {}
        for case_id, s in states.items():
            rows[case_id] = {"case_id": case_id, "final": s["final"], "closed": s["closed"], "detected": s["detected"],
                             "flagged": []}
        for s in states.values():
            for case_id, flags in s["flags"].items():
                row = rows.setdefault(case_id, {"case_id": case_id, "final": False, "closed": False, "detected": False,
                                                "flagged": []})
                row["flagged"] = sorted({*row["flagged"], *flags})
        return [(self._SAVE, [bulk.rows(rows.values())])]


def _registration(row: dict, same_text_sig: tuple | None = None) -> detection.Registration:
    """A registrations row (as JSON); a match of the very same text comes without its signature:
    it is ``same_text_sig``, the registration's own."""
    return detection.Registration(
        case_id=str(row["case_id"]), received_at=datetime.fromisoformat(row["received_at"]),
        receiving_unit=row.get("receiving_unit") or "", channel=row.get("channel") or "", issue_type=row["issue_type"],
        keys=frozenset(row.get("keys") or ()), competent=row.get("competent"),
        petitioner_count=row.get("petitioner_count") or 0, involved_count=row.get("involved_count"),
        sig=same_text_sig if row.get("same_text") else tuple(row["sig"]) if row.get("sig") else None, closed=bool(row.get("closed")), final=bool(row.get("final")),
        flagged=frozenset(row.get("flagged") or ()),
        registered_at=datetime.fromisoformat(row["registered_at"]) if row.get("registered_at") else None,
        detected=bool(row.get("detected", True)))


def detection_rules(ctx: Context) -> detection.Rules:
    return detection.Rules.model_validate(yaml.safe_load(ctx.settings.seed("detection.yaml").read_text(encoding="utf-8")))


def _app(ctx: Context):
    from .api import build

    return build(intake(ctx))


SERVICE = ServiceDef(
    name="intake",
    migrations=MIGRATIONS,
    app=_app,
    # off the critical path (who may read a registration follows routing's decisions within a second):
    # it gathers a second's worth of events per batch, so it costs almost nothing per petition
    # off the critical path: suggestions for the handler within a fraction of a second; it also
    # records who may see each case from routing's decisions (the backbone does, for every event);
    # closure and finality come on supervision's milestone topic, not in its whole stream
    consumers=lambda ctx: [ConsumerDef("detector", [TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION_MILESTONES],
                                       Detector(ctx), linger_ms=200)],
)
