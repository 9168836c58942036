"""Supervision's file on one case, as pure functions: what it learns from intake's and routing's
events (``react``), what people do on the case (the commands below), what time does by itself
(``tick``), and ``evolve``, which folds supervision's own events — the only way the file, and every
clock on it, changes.

Events of one case arrive on two topics (intake's and routing's) whose relative order Kafka does not
guarantee: facts are recorded whichever comes first, and the clocks that run from the day of receipt
start when the registration arrives, already met by what routing decided before.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from backbone import contracts as ev
from backbone.auth import OrgTree
from backbone.envelope import Envelope

from .calendar import WorkCalendar
from .clocks import (
    RULES,
    Clock,
    ClockError,
    ClockRule,
    compute,
    extend,
    next_check,
    pause,
    pending_warnings,
    resume,
    untouched_day,
)
from .policy import Policy, review_body, supervision_chain

CHINA = ZoneInfo("Asia/Shanghai")
ACT = "《信访工作条例》"
NOTICE_CLOCKS = ("acceptance_notice", "transferred_notice")
PAUSABLE = ("handling", "rehandling", "review", "re_review")
# a breached duty clock of these kinds brings a 督办 order (Art 40: 超期、推诿、不执行)
ORDERED_ON_BREACH = ("acceptance_notice", "transferred_notice", "handling", "rehandling", "review",
                     "re_review", "report", "followup", "subtask", "mediation", "meeting")
TARGETS = ("petition_office", "responsible_unit")
EVALUATION_BASIS = "国信发〔2022〕11号《信访事项办理群众满意度评价工作办法（试行）》（集团评价期限）"
STAGE_LABEL = {
    "registered": "已登记", "assigned": "待受理", "accepted": "办理中", "replied": "已答复", "closed": "已办结",
    "rehandling": "重新办理中", "reviewing": "复查中", "reviewed": "已复查", "re_reviewing": "复核中",
    "final": "复核终结", "rejected": "不予受理",
}


class SupervisionError(Exception):
    """A command the rules forbid; the message names the rule (and the article)."""

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.detail = detail


class Draft(BaseModel):
    model_config = ConfigDict(frozen=True)

    no: int
    stage: str
    decision: str
    template: str
    by_unit: str
    on: date
    content_sealed: str = ""
    approved: bool | None = None
    reviewed_by: str | None = None
    served_on: date | None = None
    method: str | None = None


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    grade: str
    via: str
    collected_by: str
    on: date


class Review(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: str
    requested_on: date
    reviewing_unit: str | None
    external_body: str | None = None
    decision: str | None = None
    issued_on: date | None = None
    content_sealed: str | None = None
    by_unit: str | None = None


class Transfer(BaseModel):
    """A move of the case to another unit (for the 转送/交办单)."""

    model_config = ConfigDict(frozen=True)

    unit: str
    previous_unit: str | None
    mode: str
    on: date
    reason_sealed: str | None = None
    report_due_on: date | None = None


class Refusal(BaseModel):
    model_config = ConfigDict(frozen=True)

    ground: str
    basis: str
    legal_channel: str | None
    reason_sealed: str
    on: date
    unit: str


class Order(BaseModel):
    model_config = ConfigDict(frozen=True)

    no: int
    ground: str
    level: str
    issued_by: str
    to_unit: str
    on: date
    feedback_due_on: date
    clock: str | None = None  # the breached clock it is about
    note_sealed: str | None = None
    feedback_on: date | None = None
    late: bool | None = None
    escalations: int = 0

    @property
    def open(self) -> bool:
        return self.feedback_on is None


class CaseFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_id: str
    version: int = 0  # of supervision's own stream for the case
    # from intake
    case_no: str | None = None
    subsidiary: str | None = None
    receiving_unit: str | None = None
    received_on: date | None = None
    category: str | None = None
    issue_type: str | None = None
    receipt_code_hash: str | None = None
    anonymous: bool = False
    petitioners_sealed: str | None = None  # sealed by intake: opened only to write statutory documents
    summary_sealed: str | None = None
    # from routing
    unit: str | None = None
    first_unit: str | None = None
    moves: int = 0
    first_moved_on: date | None = None  # the first time routing sent it on from the receiving unit
    first_moved_away: bool = False  # ... to another organisation (the receiving one's notice then done)
    accepted_on: date | None = None
    decided_on: date | None = None  # accepted or not accepted
    decision: str | None = None  # accepted | rejected
    accepted_by: str | None = None
    leader: str | None = None  # 领导包案
    refusal: Refusal | None = None
    transfers: tuple[Transfer, ...] = ()
    track: str | None = None
    # supervision's own
    stage: str = "registered"
    clocks: dict[str, Clock] = {}
    last_progress_on: date | None = None
    extension_reason_sealed: str | None = None
    extension_on: date | None = None
    drafts: tuple[Draft, ...] = ()
    served_on: date | None = None
    served_decision: str | None = None
    agreement_on: date | None = None
    closed_on: date | None = None
    outcome: str | None = None
    evaluations: dict[str, Evaluation] = {}
    expired: tuple[str, ...] = ()
    followups: int = 0
    reviews: tuple[Review, ...] = ()
    final_on: date | None = None
    urgent_on: date | None = None
    orders: tuple[Order, ...] = ()
    # which clocks and orders changed since the file was read (not stored: tells the store what to write)
    dirty: frozenset[str] = Field(default=frozenset(), exclude=True)

    def open_clock(self, name: str) -> Clock | None:
        c = self.clocks.get(name)
        return c if c is not None and c.open else None

    @property
    def latest_draft(self) -> Draft | None:
        return self.drafts[-1] if self.drafts else None

    def review(self, level: str) -> Review | None:
        found = [r for r in self.reviews if r.level == level]
        return found[-1] if found else None


def china_day(env: Envelope) -> date:
    return env.time.astimezone(CHINA).date()


# -- the clock events (every change of a clock is one of these) ------------------------------------------


def _set(case: CaseFile, clock: str, rule_name: str, starts_on: date, cal: WorkCalendar, *, unit: str | None,
         kind: str = "duty") -> ev.DeadlineSet:
    """A statutory clock (clocks.RULES), with its article."""
    d = compute(RULES[rule_name], starts_on, cal)
    return ev.DeadlineSet(case_id=case.case_id, clock=clock, kind=kind, starts_on=starts_on, period=d.period,
                          unit_of_period=d.unit, due_on=d.due_on, basis=d.basis, rolled_from=d.rolled_from, unit=unit)


def _internal(case: CaseFile, clock: str, days: int, starts_on: date, basis: str, cal: WorkCalendar, *,
              unit: str | None, kind: str = "internal") -> ev.DeadlineSet:
    """A period the group sets (deploy/seed/handling.yaml) or a command states, with its basis."""
    d = compute(ClockRule(clock, max(days, 1), "calendar_days", basis), starts_on, cal)
    return ev.DeadlineSet(case_id=case.case_id, clock=clock, kind=kind, starts_on=starts_on, period=d.period,
                          unit_of_period=d.unit, due_on=d.due_on, basis=basis, rolled_from=d.rolled_from, unit=unit)


def _met(case: CaseFile, name: str, on: date) -> list[ev.Event]:
    c = case.open_clock(name)
    return [ev.DeadlineMet(case_id=case.case_id, clock=name, on=on, late=on > c.due_on)] if c else []


def _cancel(case: CaseFile, name: str, on: date, reason: str) -> list[ev.Event]:
    return [ev.DeadlineCancelled(case_id=case.case_id, clock=name, on=on, reason=reason)] if case.open_clock(name) else []


def _open_notice(case: CaseFile) -> str | None:
    return next((n for n in NOTICE_CLOCKS if case.open_clock(n)), None)


# -- what supervision learns from intake and routing ----------------------------------------------------------


class Ctx(BaseModel):
    """What the pure functions need besides the case: calendar, policy, organisation."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    cal: WorkCalendar
    policy: Policy
    org: OrgTree


def react(case: CaseFile | None, env: Envelope, ctx: Ctx) -> tuple[CaseFile | None, list[ev.Event]]:
    """Fold a consumed event (intake's or routing's) into the file and name the events it causes."""
    p = env.payload
    if not isinstance(p, (ev.IntakeEvent, ev.RoutingEvent)) or isinstance(p, ev.PetitionFlagged):
        return case, []
    case = case or CaseFile(case_id=env.subject)
    out: list[ev.Event] = []
    org, cal, policy = ctx.org, ctx.cal, ctx.policy
    match p:
        case ev.PetitionRegistered() if case.received_on is None:
            received_on = p.received_at.astimezone(CHINA).date()
            case = case.model_copy(update=dict(
                case_no=p.case_no, subsidiary=p.subsidiary, receiving_unit=p.receiving_unit, received_on=received_on,
                category=case.category or p.category, issue_type=case.issue_type or p.issue_type,
                receipt_code_hash=p.receipt_code_hash, anonymous=p.anonymous, petitioners_sealed=p.petitioners_sealed,
                summary_sealed=p.summary_sealed))
            holder = case.unit or p.receiving_unit
            # 第二十三条第二款: the unit that received it tells the petitioner, within 15 days, how it is
            # handled. Received by a petition office, the same 15 days are also its duty to send the
            # matter on (第二十二条): one clock, discharged by the same acts, citing both articles.
            office = p.receiving_unit in org and org.get(p.receiving_unit).kind == "petition_office"
            notice = _set(case, "acceptance_notice", "acceptance_notice", received_on, cal, unit=holder)
            if office:
                notice = notice.model_copy(update={"basis": ACT + "第二十二条第一款、第二十三条第二款"})
            out.append(notice)
            done_on = case.first_moved_on if case.first_moved_away else case.decided_on
            if done_on is not None:
                out.append(ev.DeadlineMet(case_id=case.case_id, clock="acceptance_notice", on=done_on,
                                          late=done_on > notice.due_on))
            if p.urgent:
                out += _urgent(case, p.receiving_unit, received_on, "登记时标注重大紧急", org, sealed=None)
        case ev.CaseAssigned():
            on = p.on or china_day(env)
            previous = case.unit or p.previous_unit
            away = previous is not None and previous in org and p.unit in org and org.organ_of(previous) != org.organ_of(p.unit)
            case = case.model_copy(update=dict(unit=p.unit, moves=p.moves, first_unit=p.first_unit or case.first_unit))
            if p.mode != "rule" and p.previous_unit is not None:
                case = case.model_copy(update=dict(transfers=(*case.transfers, Transfer(
                    unit=p.unit, previous_unit=p.previous_unit, mode=p.mode, on=on, reason_sealed=p.reason_sealed,
                    report_due_on=p.report_due_on))))
            if case.first_moved_on is None and p.previous_unit is not None:
                case = case.model_copy(update=dict(first_moved_on=on, first_moved_away=away))
            if p.needs_acceptance:
                # accepted elsewhere, now another organisation's: it accepts anew, and its own 60 days
                # run from its own acceptance (Art 34 counts from 受理之日)
                for name in ("handling", "track"):
                    out += _cancel(case, name, on, "案件已转交其他单位重新受理")
                case = case.model_copy(update=dict(stage="assigned", accepted_on=None, decided_on=None, decision=None))
            if away:
                # the holder's notice is done by sending it on (it tells the petitioner where it went);
                # the receiving organisation answers within 15 days or objects within 5 working days
                notice = _open_notice(case)
                if notice and case.received_on is not None:
                    out += _met(case, notice, on)
                out += _cancel(case, "objection", on, "案件已转至其他单位")
                out.append(_set(case, "transferred_notice", "transferred_notice", on, cal, unit=p.unit))
                if p.mode not in ("returned", "superior_decision"):  # the sender, or the unit its superior named, cannot object again
                    out.append(_set(case, "objection", "objection", on, cal, unit=p.unit))
            if p.mode == "交办" and p.report_due_on is not None:
                out.append(_internal(case, "report", (p.report_due_on - on).days, on,
                                     ACT + "第二十二条：交办事项应当在规定期限内报送办理结果", cal, unit=p.unit,
                                     kind="duty"))
            if p.moves > policy.max_moves:
                out += _order(case, "推诿", p.unit, on, ctx, clock=None)
        case ev.CaseUnroutable(queue_unit=unit):
            case = case.model_copy(update=dict(unit=unit))
        case ev.CaseClassified():
            case = case.model_copy(update=dict(category=p.category, issue_type=p.issue_type))
        case ev.CaseAccepted(accepted_on=on):
            case = case.model_copy(update=dict(accepted_on=on, decided_on=on, decision="accepted", unit=p.unit,
                                               accepted_by=p.unit, category=p.category or case.category,
                                               stage="accepted"))
            if case.received_on is not None or case.open_clock("transferred_notice"):
                notice = _open_notice(case)
                out += _met(case, notice, on) if notice else []
            out += _cancel(case, "objection", on, "已受理")
            # 第三十四条 (申诉求决); the group's own period for the other categories (deploy/seed/handling.yaml)
            period = policy.handling_period(case.category)
            out.append(_internal(case, "handling", period.days, on, period.basis, cal, unit=p.unit, kind="duty"))
            if case.track and case.track in policy.tracks:
                out.append(_internal(case, "track", policy.tracks[case.track], on, f"集团分类办理时限（{case.track}）",
                                     cal, unit=p.unit))
        case ev.CaseRejected(rejected_on=on):
            case = case.model_copy(update=dict(decided_on=on, decision="rejected", stage="rejected", refusal=Refusal(
                ground=p.ground, basis=p.basis, legal_channel=p.legal_channel, reason_sealed=p.reason_sealed, on=on,
                unit=p.unit)))
            notice = _open_notice(case)
            out += _met(case, notice, on) if notice else []
            for name in ("objection", "handling"):
                out += _cancel(case, name, on, "不予受理")
        case ev.ObjectionRaised(on=on):
            out += _met(case, "objection", on)
        case ev.TrackSet(track=track, target_days=days, on=on):
            case = case.model_copy(update=dict(track=track))
            if case.accepted_on is not None:
                out.append(_internal(case, "track", days, case.accepted_on, f"集团分类办理时限（{track}）", cal,
                                     unit=case.unit))
        case ev.JointHandlingSet(on=on):
            for t in p.subtasks:
                out.append(_internal(case, f"subtask:{t.unit}", (t.due_on - on).days, on,
                                     "主办、协办：协办单位在规定期限内报送协办情况（集团规定）", cal, unit=t.unit))
        case ev.SubtaskReported(unit=unit, on=on):
            out += _met(case, f"subtask:{unit}", on)
        case ev.MediationScheduled(no=no, due_on=due_on, on=on):  # 厂地联动: 联合调解 by its deadline
            out.append(_internal(case, f"mediation:{no}", (due_on - on).days, on, "联合调解期限（厂地联动，集团规定）", cal,
                                 unit=case.unit))
        case ev.MediationConcluded(no=no, on=on):
            out += _met(case, f"mediation:{no}", on)
        case ev.JointMeetingRecorded(meeting_id=meeting, on=on):  # 联席会议: each decision by its owner's deadline
            for d in p.decisions:
                out.append(_internal(case, f"meeting:{meeting[:8]}.{d.no}", (d.due_on - on).days, on,
                                     "联席会议决定事项办结期限（厂地联动）", cal, unit=d.owner))
        case ev.MeetingActionDone(meeting_id=meeting, decision_no=no, on=on):
            out += _met(case, f"meeting:{meeting[:8]}.{no}", on)
        case ev.LeaderTookCase(leader=leader):
            case = case.model_copy(update=dict(leader=leader))
        case ev.InvestigationRecorded(on=on):
            case = case.model_copy(update=dict(last_progress_on=max(on, case.last_progress_on or on)))
    case = case.model_copy(update=dict(stage=_routing_stage(case, p)))
    for e in out:
        case = evolve(case, e)
    return case, out


def _routing_stage(case: CaseFile, p) -> str:
    if case.stage in ("registered", "assigned") and isinstance(p, ev.CaseAssigned | ev.CaseUnroutable):
        return "assigned"
    return case.stage


# -- evolve: supervision's own events ------------------------------------------------------------------------


def evolve(case: CaseFile, e: ev.Event) -> CaseFile:
    """Fold one of supervision's own events into the file (and its version)."""
    upd: dict[str, Any] = {}
    clocks = case.clocks

    def clock(name: str, **changes) -> None:
        nonlocal clocks
        if name in clocks:
            clocks = {**clocks, name: clocks[name].model_copy(update=changes)}
            upd["clocks"] = clocks

    match e:
        case ev.DeadlineSet():
            clocks = {**clocks, e.clock: Clock(name=e.clock, kind=e.kind, starts_on=e.starts_on, period=e.period,
                                               unit_of_period=e.unit_of_period, basis=e.basis, unit=e.unit,
                                               due_on=e.due_on, rolled_from=e.rolled_from)}
            upd["clocks"] = clocks
        case ev.DeadlineMet():
            c = clocks.get(e.clock)
            if c is not None:
                clock(e.clock, met_on=e.on, late=e.late, paused_on=None)
        case ev.DeadlinePaused():
            clock(e.clock, paused_on=e.on)
        case ev.DeadlineResumed():
            c = clocks.get(e.clock)
            if c is not None:
                breached = c.breached_on if c.breached_on is not None and c.breached_on <= e.due_on else None
                clock(e.clock, paused_on=None, paused_days=c.paused_days + e.paused_days, due_on=e.due_on,
                      breached_on=breached, warned=None)
        case ev.DeadlineExtended():
            c = clocks.get(e.clock)
            if c is not None:
                clock(e.clock, extended_days=e.days, original_due_on=c.due_on, due_on=e.due_on, warned=None,
                      breached_on=None)
            upd.update(extension_reason_sealed=e.reason_sealed, extension_on=e.approved_on)
        case ev.DeadlineWarned():
            clock(e.clock, warned=e.days_left)
        case ev.DeadlineBreached():
            clock(e.clock, breached_on=e.on)
        case ev.DeadlineCancelled():
            clock(e.clock, cancelled_on=e.on, paused_on=None)
        case ev.CaseUntouched():
            clock(e.clock, untouched_on=e.on)
        case ev.ProgressNoted():
            upd["last_progress_on"] = max(e.on, case.last_progress_on or e.on)
        case ev.ReplyDrafted():
            upd["drafts"] = (*case.drafts, Draft(no=e.draft, stage=e.stage, decision=e.decision, template=e.template,
                                                 by_unit=e.by_unit, on=e.on, content_sealed=e.content_sealed))
        case ev.ReplyReviewed():
            upd["drafts"] = tuple(d.model_copy(update={"approved": e.approved, "reviewed_by": e.by})
                                  if d.no == e.draft else d for d in case.drafts)
        case ev.ReplyServed():
            served = next(d for d in case.drafts if d.no == e.draft)
            upd.update(served_on=e.served_on, served_decision=served.decision, stage="replied",
                       evaluations={}, expired=(),
                       drafts=tuple(d.model_copy(update={"served_on": e.served_on, "method": e.method})
                                    if d.no == e.draft else d for d in case.drafts))
        case ev.AgreementSigned():
            upd.update(agreement_on=e.signed_on, stage="replied", evaluations={}, expired=())
        case ev.CaseClosed():
            upd.update(closed_on=e.on, outcome=e.outcome, stage="closed" if case.stage == "replied" else case.stage)
        case ev.EvaluationRecorded():
            upd["evaluations"] = {**case.evaluations, e.target: Evaluation(grade=e.grade, via=e.via,
                                                                           collected_by=e.collected_by, on=e.on)}
        case ev.EvaluationExpired():
            upd["expired"] = (*case.expired, e.target)
        case ev.FollowUpRequired():
            upd["followups"] = case.followups + 1
        case ev.RehandlingOrdered():
            upd.update(stage="rehandling", closed_on=None)
        case ev.ReviewRequested():
            upd.update(reviews=(*case.reviews, Review(level=e.level, requested_on=e.requested_on,
                                                      reviewing_unit=e.reviewing_unit, external_body=e.external_body)),
                       stage="reviewing" if e.level == "复查" else "re_reviewing")
        case ev.ReviewOpinionIssued():
            reviews = list(case.reviews)
            i = max(i for i, r in enumerate(reviews) if r.level == e.level)
            reviews[i] = reviews[i].model_copy(update={"decision": e.decision, "issued_on": e.issued_on,
                                                       "content_sealed": e.content_sealed, "by_unit": e.by_unit})
            upd.update(reviews=tuple(reviews), stage="reviewed" if e.level == "复查" else "re_reviewed")
        case ev.CaseFinalised():
            upd.update(final_on=e.on, stage="final")
        case ev.UrgentFlagged():
            upd["urgent_on"] = e.on
        case ev.OrderIssued():
            upd["orders"] = (*case.orders, Order(no=e.order_no, ground=e.ground, level=e.level, issued_by=e.issued_by,
                                                 to_unit=e.to_unit, on=e.on, feedback_due_on=e.feedback_due_on,
                                                 clock=e.clock, note_sealed=e.note_sealed))
        case ev.OrderFeedback():
            upd["orders"] = tuple(o.model_copy(update={"feedback_on": e.on, "late": e.late}) if o.no == e.order_no else o
                                  for o in case.orders)
        case ev.OrderEscalated():
            upd["orders"] = tuple(o.model_copy(update={"level": e.level, "issued_by": e.issued_by,
                                                       "feedback_due_on": e.feedback_due_on,
                                                       "escalations": o.escalations + 1})
                                  if o.no == e.order_no else o for o in case.orders)
    upd["version"] = case.version + 1
    touched = {e.clock} if isinstance(e, ev.DeadlineSet | ev.DeadlineMet | ev.DeadlinePaused | ev.DeadlineResumed
                                      | ev.DeadlineExtended | ev.DeadlineWarned | ev.DeadlineBreached
                                      | ev.DeadlineCancelled | ev.CaseUntouched) else set()
    if isinstance(e, ev.OrderIssued | ev.OrderFeedback | ev.OrderEscalated):
        touched.add(f"#order:{e.order_no}")
    if touched:
        upd["dirty"] = case.dirty | touched
    return case.model_copy(update=upd)


# -- 督办 and 重大紧急 ---------------------------------------------------------------------------------------


def _order(case: CaseFile, ground: str, to_unit: str | None, on: date, ctx: Ctx, *, clock: str | None,
           level_index: int = 0, note_sealed: str | None = None, issued_by: str | None = None) -> list[ev.Event]:
    """督办 (Art 40): an order to the unit, with its feedback deadline (a clock of its own)."""
    to_unit = to_unit or case.unit
    if to_unit is None or to_unit not in ctx.org:
        return []
    if clock is not None and any(o.open and o.clock == clock for o in case.orders):
        return []  # one open order per breached clock
    chain = supervision_chain(ctx.org, to_unit)
    level, issuer = chain[min(level_index, len(chain) - 1)]
    no = len(case.orders) + 1
    days = ctx.policy.order_feedback_days
    feedback = _internal(case, f"order:{no}", days, on, ACT + "第四十条：督办并要求书面反馈（反馈期限由集团规定）",
                         ctx.cal, unit=to_unit, kind="duty")
    order = ev.OrderIssued(case_id=case.case_id, order_no=no, ground=ground, level=level, issued_by=issued_by or issuer,
                           to_unit=to_unit, feedback_due_on=feedback.due_on, basis=ACT + "第四十条", clock=clock,
                           note_sealed=note_sealed, on=on)
    return [order, feedback]


def _urgent(case: CaseFile, by_unit: str, on: date, why: str, org: OrgTree, sealed: str | None) -> list[ev.Event]:
    """重大紧急 (Art 25): every level above is told at once."""
    unit = case.unit or case.receiving_unit or by_unit
    notified = [issuer for _, issuer in supervision_chain(org, unit)] if unit in org else []
    return [ev.UrgentFlagged(case_id=case.case_id, by_unit=by_unit, reason_sealed=sealed or why,
                             notified=notified, on=on)]


# -- what time does by itself -----------------------------------------------------------------------------------


def tick(case: CaseFile, today: date, ctx: Ctx) -> list[ev.Event]:
    """Pre-warnings, breaches, untouched cases, expired evaluations and escalations due by
    ``today``: each at most once, each dated by the rule (a breach happens the day after the last
    day, whenever the ticker notices it). Each clock's events are folded before the next clock is
    looked at (two breaches in one tick make two orders with two numbers)."""
    out: list[ev.Event] = []
    for name in sorted(case.clocks):
        events = _tick_clock(case, case.clocks[name], today, ctx)
        for e in events:
            case = evolve(case, e)
        out += events
    return out


def _tick_clock(case: CaseFile, c: Clock, today: date, ctx: Ctx) -> list[ev.Event]:
    if not c.running:
        return []
    name, policy = c.name, ctx.policy
    if c.breached_on is None and today > c.due_on:
        breach = ev.DeadlineBreached(case_id=case.case_id, clock=name, due_on=c.due_on, on=c.due_on + timedelta(days=1))
        out: list[ev.Event] = [breach]
        kind = name.split(":", 1)[0]
        if name == "evaluation":
            out += [ev.EvaluationExpired(case_id=case.case_id, target=t, on=breach.on)
                    for t in TARGETS if t not in case.evaluations and t not in case.expired]
        elif kind == "order":
            out += _escalate(case, int(name.split(":", 1)[1]), breach.on, ctx)
        elif kind == "execution":
            out += _order(case, "unexecuted", c.unit, breach.on, ctx, clock=name)
        elif kind in ORDERED_ON_BREACH:
            out += _order(case, "overdue", c.unit, breach.on, ctx, clock=name)
        return out
    out = []
    if c.breached_on is None:
        due_soon = [w for w in pending_warnings(c, policy.warn_days) if today >= c.due_on - timedelta(days=w)]
        if due_soon:
            out.append(ev.DeadlineWarned(case_id=case.case_id, clock=name, due_on=c.due_on,
                                         days_left=(c.due_on - today).days, on=today))
    if name in ("handling", "rehandling") and c.untouched_on is None \
            and today >= untouched_day(c, policy.untouched_share) \
            and (case.last_progress_on is None or case.last_progress_on < c.starts_on):
        span = max((c.due_on - c.starts_on).days, 1)
        out.append(ev.CaseUntouched(case_id=case.case_id, clock=name, share=min(1.0, (today - c.starts_on).days / span),
                                    last_progress_on=case.last_progress_on, on=today))
    return out


def _escalate(case: CaseFile, no: int, on: date, ctx: Ctx) -> list[ev.Event]:
    """An order left without feedback goes one level up, with a new feedback deadline."""
    order = next((o for o in case.orders if o.no == no), None)
    if order is None or not order.open:
        return []
    chain = supervision_chain(ctx.org, order.to_unit)
    levels = [lv for lv, _ in chain]
    i = levels.index(order.level) if order.level in levels else len(chain) - 1
    if i + 1 >= len(chain):
        return []  # already at headquarters: it stays overdue, in the accountability record
    level, issuer = chain[i + 1]
    feedback = _internal(case, f"order:{no}", ctx.policy.order_feedback_days, on,
                         ACT + "第四十条：督办并要求书面反馈（逐级升级督办）", ctx.cal, unit=order.to_unit, kind="duty")
    return [ev.OrderEscalated(case_id=case.case_id, order_no=no, level=level, issued_by=issuer,
                              feedback_due_on=feedback.due_on, on=on), feedback]


def next_check_on(case: CaseFile, policy: Policy) -> date | None:
    """The next day ``tick`` may have something to do for this case (None: nothing will)."""
    days = []
    for c in case.clocks.values():
        silent = c.name in ("handling", "rehandling") and (case.last_progress_on is None
                                                            or case.last_progress_on < c.starts_on)
        d = next_check(c, policy.warn_days, policy.untouched_share if silent else None)
        if d is not None:
            days.append(d)
    return min(days) if days else None


# -- commands people give ----------------------------------------------------------------------------------


def _require(ok: bool, message: str, **detail) -> None:
    if not ok:
        raise SupervisionError(message, **detail)


def _not_before(case: CaseFile, on: date, what: str = "日期") -> None:
    if case.received_on is not None and on < case.received_on:
        raise SupervisionError(f"{what} {on.isoformat()} 早于收到信访事项之日 {case.received_on.isoformat()}")


def _handling_clock(case: CaseFile) -> str:
    return "rehandling" if case.stage == "rehandling" else "handling"


def note_progress(case: CaseFile, note_sealed: str, by_unit: str, executed: bool, on: date) -> list[ev.Event]:
    _not_before(case, on)
    out: list[ev.Event] = [ev.ProgressNoted(case_id=case.case_id, note_sealed=note_sealed, by_unit=by_unit,
                                            executed=executed, on=on)]
    if executed:
        _require(case.open_clock("execution") is not None, "没有待执行的支持意见")
        out += _met(case, "execution", on)
    return out


def pause_clock(case: CaseFile, clock: str, reason: str, on: date) -> list[ev.Event]:
    _not_before(case, on)
    _require(clock in PAUSABLE, f"只有办理、复查、复核期限可以暂停（{'、'.join(PAUSABLE)}）")
    c = case.open_clock(clock)
    _require(c is not None, f"没有正在计算的 {clock} 期限")
    try:
        pause(c, on)
    except ClockError as e:
        raise SupervisionError(str(e)) from None
    return [ev.DeadlinePaused(case_id=case.case_id, clock=clock, reason=reason, on=on)]


def resume_clock(case: CaseFile, clock: str, on: date, cal: WorkCalendar) -> list[ev.Event]:
    c = case.open_clock(clock)
    _require(c is not None, f"没有 {clock} 期限")
    try:
        resumed, days = resume(c, on, cal)
    except ClockError as e:
        raise SupervisionError(str(e)) from None
    return [ev.DeadlineResumed(case_id=case.case_id, clock=clock, on=on, paused_days=days, due_on=resumed.due_on)]


def extend_handling(case: CaseFile, days: int, reason_sealed: str, approved_by: str, on: date,
                    cal: WorkCalendar) -> list[ev.Event]:
    """延期 (Art 34): once, at most 30 days, approved by the unit's head; the petitioner is told."""
    _not_before(case, on)
    c = case.open_clock("handling")
    _require(c is not None, "只有受理后正在办理的案件可以延期（《信访工作条例》第三十四条）")
    try:
        extended = extend(c, days, on, cal)
    except ClockError as e:
        raise SupervisionError(str(e), due_on=c.due_on.isoformat()) from None
    return [ev.DeadlineExtended(case_id=case.case_id, clock="handling", days=days, approved_by=approved_by,
                                reason_sealed=reason_sealed, approved_on=on, due_on=extended.due_on,
                                basis=ACT + "第三十四条：情况复杂的，经本单位负责人批准，可以适当延长办理期限，延长期限不得超过30日")]


def draft_reply(case: CaseFile, decision: str, template: str, content_sealed: str, by_unit: str, on: date) -> list[ev.Event]:
    """信访处理意见书 (Art 32): a draft, to be reviewed at the second level before it is served."""
    _not_before(case, on)
    _require(case.stage in ("accepted", "rehandling"), "只有受理后办理中（或重新办理中）的案件可以起草处理意见书",
             stage=case.stage)
    latest = case.latest_draft
    _require(latest is None or latest.served_on is not None or latest.approved is not None,
             f"第 {latest.no if latest else 0} 稿尚待审核")
    stage = "rehandling" if case.stage == "rehandling" else "handling"
    return [ev.ReplyDrafted(case_id=case.case_id, draft=len(case.drafts) + 1, stage=stage, decision=decision,
                            template=template, content_sealed=content_sealed, by_unit=by_unit, on=on)]


def review_draft(case: CaseFile, approved: bool, by: str, comment_sealed: str | None, on: date) -> list[ev.Event]:
    latest = case.latest_draft
    _require(latest is not None and latest.approved is None and latest.served_on is None, "没有待审核的处理意见书")
    _require(on >= latest.on, "审核日期早于起草日期")
    return [ev.ReplyReviewed(case_id=case.case_id, draft=latest.no, approved=approved, by=by,
                             comment_sealed=comment_sealed, on=on)]


def serve_reply(case: CaseFile, served_on: date, method: str, receipt: str, ctx: Ctx) -> list[ev.Event]:
    """送达: stops the handling clock, opens the 30-day window for 复查 (Art 35) and the evaluation."""
    latest = case.latest_draft
    _require(latest is not None and latest.approved is True and latest.served_on is None,
             "处理意见书须经审核同意后才能送达")
    _require(served_on >= latest.on, "送达日期早于起草日期")
    out: list[ev.Event] = [ev.ReplyServed(case_id=case.case_id, draft=latest.no, served_on=served_on, method=method,
                                          receipt=receipt)]
    out += _met(case, _handling_clock(case), served_on)
    out += _met(case, "track", served_on)
    out.append(_set(case, "review_request_window", "review_request_window", served_on, ctx.cal, unit=None,
                    kind="window"))
    out.append(_internal(case, "evaluation", ctx.policy.evaluation_window_days, served_on, EVALUATION_BASIS, ctx.cal,
                         unit=None, kind="window"))
    if latest.decision == "支持":
        out.append(_internal(case, "execution", ctx.policy.execution_days, served_on,
                             ACT + "第三十二条：支持信访请求的，应当督促有关机关、单位执行", ctx.cal, unit=case.unit))
    return out


def sign_agreement(case: CaseFile, kind: str, content_sealed: str, signed_on: date, ctx: Ctx) -> list[ev.Event]:
    """调解协议书 / 和解协议书 (Art 33): the parties settle instead of a written reply."""
    _not_before(case, signed_on)
    _require(case.stage in ("accepted", "rehandling"), "只有受理后办理中的案件可以调解、和解", stage=case.stage)
    out: list[ev.Event] = [ev.AgreementSigned(case_id=case.case_id, kind=kind, content_sealed=content_sealed,
                                              signed_on=signed_on)]
    out += _met(case, _handling_clock(case), signed_on)
    out += _met(case, "track", signed_on)
    out.append(_internal(case, "evaluation", ctx.policy.evaluation_window_days, signed_on, EVALUATION_BASIS, ctx.cal,
                         unit=None, kind="window"))
    return out


def close(case: CaseFile, approved_by: str, outcome: str, on: date) -> list[ev.Event]:
    """办结核准: a leader approves the closure, recording whether the petitioner accepts (息诉罢访)."""
    _require(case.stage == "replied", "答复送达（或达成协议）后才能办结", stage=case.stage)
    _require(on >= (case.served_on or case.agreement_on), "办结日期早于答复送达日期")
    return [ev.CaseClosed(case_id=case.case_id, approved_by=approved_by, outcome=outcome, on=on), *_met(case, "report", on)]


def evaluate(case: CaseFile, target: str, grade: str, via: str, collected_by: str, comment_sealed: str | None,
             on: date, ctx: Ctx) -> list[ev.Event]:
    """满意度评价 of one target (the petition office, or the responsible unit)."""
    _require(case.served_on is not None or case.agreement_on is not None, "答复送达后才能评价")
    window = case.clocks.get("evaluation")
    _require(window is not None and window.open and window.breached_on is None and on <= window.due_on,
             f"评价期限已过（截至{window.due_on.isoformat() if window else '—'}），状态为超期未评价")
    _require(target not in case.evaluations, "该对象已评价")
    _require(on >= (case.served_on or case.agreement_on), "评价日期早于答复送达日期")
    out: list[ev.Event] = [ev.EvaluationRecorded(case_id=case.case_id, target=target, grade=grade, via=via,
                                                 collected_by=collected_by, comment_sealed=comment_sealed, on=on)]
    if len({*case.evaluations, target}) == len(TARGETS):
        out += _met(case, "evaluation", on)
    if grade == "不满意":
        out += _followup(case, "不满意", on, ctx)
    return out


def _followup(case: CaseFile, ground: str, on: date, ctx: Ctx) -> list[ev.Event]:
    unit = case.unit or case.receiving_unit
    due = _internal(case, "followup", ctx.policy.followup_days, on, "回访：不满意评价和实名投诉须回访（集团规定）", ctx.cal,
                    unit=unit, kind="duty")
    return [ev.FollowUpRequired(case_id=case.case_id, ground=ground, unit=unit, due_on=due.due_on), due]


def record_followup(case: CaseFile, by_unit: str, outcome_sealed: str, satisfied_now: bool, on: date) -> list[ev.Event]:
    _require(case.open_clock("followup") is not None, "没有待回访的任务")
    return [ev.FollowUpRecorded(case_id=case.case_id, by_unit=by_unit, outcome_sealed=outcome_sealed,
                                satisfied_now=satisfied_now, on=on), *_met(case, "followup", on)]


def order_rehandling(case: CaseFile, by_unit: str, reason_sealed: str, on: date, ctx: Ctx) -> list[ev.Event]:
    """重办: back to the handling unit for a new reply; the formal 复查 stays open to the petitioner."""
    _require(case.stage in ("replied", "closed", "reviewed"), "只有已答复的案件可以重新办理", stage=case.stage)
    _require(case.unit is not None, "案件没有承办单位")
    clock = _internal(case, "rehandling", ctx.policy.rehandling_days, on, "重新办理（不满意评价后，集团规定期限）",
                      ctx.cal, unit=case.unit, kind="duty")
    return [ev.RehandlingOrdered(case_id=case.case_id, unit=case.unit, by_unit=by_unit, reason_sealed=reason_sealed,
                                 due_on=clock.due_on, on=on), clock]


def request_review(case: CaseFile, level: str, requested_on: date, ctx: Ctx) -> list[ev.Event]:
    """复查 within 30 days of the written reply (Art 35); 复核 within 30 days of the 复查 opinion
    (Art 36), each to the level above; a request past its window is refused with the dates."""
    org, cal = ctx.org, ctx.cal
    if level == "复查":
        _require(case.served_on is not None, "没有送达的书面处理意见书，不能请求复查（《信访工作条例》第三十五条）")
        _require(case.review("复查") is None or case.stage == "replied", "已请求过复查")
        window, article = case.clocks.get("review_request_window"), "第三十五条"
        handled_by = case.unit
        rule, clock, start_name = "review", "review", "收到书面答复"
        since = case.served_on
    else:
        first = case.review("复查")
        _require(first is not None and first.issued_on is not None,
                 "复核须在复查意见作出后请求（《信访工作条例》第三十六条）")
        _require(case.review("复核") is None, "已请求过复核")
        window, article = case.clocks.get("re_review_request_window"), "第三十六条第一款"
        handled_by = first.reviewing_unit
        rule, clock, start_name = "re_review", "re_review", "收到复查意见"
        since = first.issued_on
    _require(requested_on >= since, f"请求日期早于{start_name}之日")
    if window is None or requested_on > window.due_on:
        due = window.due_on if window else since + timedelta(days=30)
        raise SupervisionError(
            f"{level}请求应当自{start_name}之日起30日内提出（{ACT}{article}）：{start_name}之日为{since.isoformat()}，"
            f"期限至{due.isoformat()}，请求于{requested_on.isoformat()}提出，已超过期限",
            article=ACT + article, since=since.isoformat(), due_on=due.isoformat(), requested_on=requested_on.isoformat())
    reviewing = review_body(org, handled_by) if handled_by and handled_by in org else None
    external = None if reviewing else ctx.policy.external_review_body
    out: list[ev.Event] = [ev.ReviewRequested(case_id=case.case_id, level=level, requested_on=requested_on,
                                              reviewing_unit=reviewing, external_body=external,
                                              basis=ACT + article)]
    out += _met(case, window.name, requested_on)
    out.append(_set(case, clock, rule, requested_on, cal, unit=reviewing))
    return out


def issue_opinion(case: CaseFile, level: str, decision: str, content_sealed: str, by_unit: str, issued_on: date,
                  ctx: Ctx) -> list[ev.Event]:
    """复查意见书 / 复核意见书; after 复核 the matter is final (Art 36 ¶3)."""
    r = case.review(level)
    _require(r is not None and r.issued_on is None, f"没有待作出意见的{level}")
    _require(issued_on >= r.requested_on, "意见日期早于请求日期")
    clock = "review" if level == "复查" else "re_review"
    out: list[ev.Event] = [ev.ReviewOpinionIssued(case_id=case.case_id, level=level, decision=decision,
                                                  content_sealed=content_sealed, by_unit=by_unit, issued_on=issued_on)]
    out += _met(case, clock, issued_on)
    if level == "复查":
        out.append(_set(case, "re_review_request_window", "re_review_request_window", issued_on, ctx.cal, unit=None,
                        kind="window"))
        if decision == "责令重新办理" and case.unit is not None:
            rehandle = _internal(case, "rehandling", ctx.policy.rehandling_days, issued_on,
                                 "复查意见责令重新办理（集团规定期限）", ctx.cal, unit=case.unit, kind="duty")
            out += [ev.RehandlingOrdered(case_id=case.case_id, unit=case.unit, by_unit=by_unit,
                                         reason_sealed=content_sealed, due_on=rehandle.due_on, on=issued_on), rehandle]
    else:
        out.append(ev.CaseFinalised(case_id=case.case_id, on=issued_on, issue_type=case.issue_type,
                                    basis=ACT + "第三十六条第三款：信访人对复核意见不服，仍然以同一事实和理由提出投诉请求的，不再受理"))
    return out


def flag_urgent(case: CaseFile, by_unit: str, reason_sealed: str, on: date, org: OrgTree) -> list[ev.Event]:
    _require(case.urgent_on is None, "已标注重大紧急")
    return _urgent(case, by_unit, on, "", org, sealed=reason_sealed)


def issue_order(case: CaseFile, ground: str, by_unit: str, note_sealed: str | None, on: date, ctx: Ctx) -> list[ev.Event]:
    """A 督办 order given by hand (Art 40)."""
    _require(case.unit is not None, "案件没有承办单位")
    _require(case.stage not in ("final", "rejected"), "案件已终结，无需督办")
    chain = supervision_chain(ctx.org, case.unit)
    index = next((i for i, (_, issuer) in enumerate(chain) if ctx.org.is_within(issuer, by_unit)), len(chain) - 1)
    return _order(case, ground, case.unit, on, ctx, clock=None, level_index=index, note_sealed=note_sealed,
                  issued_by=chain[index][1] if ctx.org.is_within(chain[index][1], by_unit) else by_unit)


def order_feedback(case: CaseFile, no: int, by_unit: str, feedback_sealed: str, on: date) -> list[ev.Event]:
    order = next((o for o in case.orders if o.no == no), None)
    _require(order is not None, f"没有第 {no} 号督办")
    _require(order.open, "该督办已反馈")
    _require(on >= order.on, "反馈日期早于督办日期")
    late = on > order.feedback_due_on
    return [ev.OrderFeedback(case_id=case.case_id, order_no=no, by_unit=by_unit, feedback_sealed=feedback_sealed,
                             late=late, on=on), *_met(case, f"order:{no}", on)]
