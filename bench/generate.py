"""A realistic group's petition history, written into the four services' event stores.

    .venv/bin/python bench/generate.py --database-url postgresql://postgres@127.0.0.1:5432/xf_scale \
        --cases 1000000 --seed 7

The group is deploy/seed/org.yaml's (subsidiaries S1-S3 and their units; a few matters reach
headquarters' petition office directly), the issue types deploy/seed/taxonomy.yaml's, the channels
those of ``backbone.contracts.intake.Channel``, over five years ending today, with seasonality
(Spring Festival wage settlement, 两会, the summer, 国庆, year end) and a few hot issue types that
rise and fall. Each case lives ~20 events: registration, detection flags, routing (rule assignment,
acceptance or rejection, 转送/交办 and reassignments, track, handler), and supervision (every clock
with its article from supervision's own rules and calendar, progress, extension, reply drafts,
review and service, agreement, closure, evaluations by different collectors or their expiry,
follow-ups, 复查/复核 and finality, breached clocks and 督办 orders, escalations). A case received
recently is cut at now: it is still open, its clocks running.

Every event is a contract class (pydantic, extra=forbid) wrapped by ``backbone.envelope.new_envelope``
and encoded by ``Envelope.encode`` — the bytes the real write path stores; sealed fields are sealed
with each service's key by ``backbone.sealing.Sealer`` (case id as associated data), identity hashes
and query codes derived from intake's key as intake derives them. The events go with COPY into each
service's ``events`` table in time order (the columns of ``EventStore.write_statement``); not into
the outbox: generated history counts as already published. Ids, times and choices come from
``--seed`` (the AES-GCM nonces are random, as in the services).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
import uuid
from bisect import bisect
from dataclasses import replace
from datetime import UTC, date, datetime, time as dtime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo

import orjson
import psycopg
import yaml

REPO = Path(__file__).resolve().parents[1]
SEED_DIR = REPO / "deploy" / "seed"
for _p in ("backbone", "intake", "routing", "supervision", "reporting"):
    sys.path.insert(0, str(REPO / "services" / _p / "src"))

from backbone import contracts as ev  # noqa: E402
from backbone.auth import OrgTree  # noqa: E402
from backbone.db import migrate  # noqa: E402
from backbone.envelope import SYSTEM, Actor, Envelope, new_envelope  # noqa: E402
from backbone.sealing import Sealer  # noqa: E402
from intake.domain import Petitioner, case_number, petitioner_keys, receipt_code  # noqa: E402
from supervision.domain.calendar import WorkCalendar  # noqa: E402
from supervision.domain.clocks import RULES, ClockRule, compute  # noqa: E402
from supervision.domain.policy import Policy  # noqa: E402

CHINA = ZoneInfo("Asia/Shanghai")
ACT = "《信访工作条例》"
EVALUATION_BASIS = "国信发〔2022〕11号《信访事项办理群众满意度评价工作办法（试行）》（集团评价期限）"
SERVICES = ("intake", "routing", "supervision", "reporting")
STORES = ("intake", "routing", "supervision")
COLUMNS = ("stream_id", "version", "event_id", "event_type", "occurred_at", "traceparent", "body")

# -- proportions (what the group's statistics look like) ----------------------------------------------------

CHANNELS = dict(zip(get_args(ev.Channel), (30, 22, 16, 18, 1, 4, 2, 4, 2, 1), strict=True))
# issue types: base weight; the hot ones rise and fall over the five years (see _issue_weights)
ISSUES = {"wages": 16, "retirement_benefits": 12, "social_insurance_transfer": 7, "labour_contract": 9,
          "work_injury": 6, "housing": 8, "three_supplies": 5, "commuting": 5, "children_employment": 4,
          "cadre_conduct": 5, "discipline_violation": 4, "party_branch_election": 1, "historical_legacy": 7,
          "hardship_relief": 6, "other": 5}
DISCIPLINE_ISSUES = {"cadre_conduct", "discipline_violation"}
# months: Jan-Feb (year-end wage settlement before the Spring Festival), Mar (两会), Jul, Sep-Oct (国庆), Dec
MONTH = (1.35, 1.15, 1.2, 0.95, 0.9, 0.95, 1.1, 0.9, 1.05, 1.1, 0.9, 1.25)
WEEKDAY = (1.15, 1.1, 1.05, 1.05, 1.0, 0.35, 0.25)
GRADES = ("满意", "基本满意", "不满意")
COLLECTORS = {"handling_unit": (0.40, (0.74, 0.20, 0.06)), "petition_office": (0.28, (0.66, 0.24, 0.10)),
              "hq_callback": (0.12, (0.52, 0.28, 0.20)), "petitioner": (0.20, (0.58, 0.25, 0.17))}
VIA = {"handling_unit": "电话", "petition_office": "电话", "hq_callback": "电话", "petitioner": "查询码"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"
SUMMARIES = {
    "wages": "绩效工资未足额发放，要求补发", "retirement_benefits": "退休待遇核定有误，要求重新核算",
    "social_insurance_transfer": "社保移交地方后待遇衔接问题", "labour_contract": "劳动合同到期未续签，要求说明理由",
    "work_injury": "工伤认定迟迟未办，要求落实待遇", "housing": "职工住房维修与产权问题",
    "three_supplies": "三供一业移交后供暖供水问题", "commuting": "站段合并后通勤班车取消，上下班困难",
    "children_employment": "职工子女就业安置政策咨询", "cadre_conduct": "反映车间干部作风粗暴",
    "discipline_violation": "反映有关人员违规发放补贴", "party_branch_election": "党支部换届选举程序问题",
    "historical_legacy": "历史遗留身份认定问题", "hardship_relief": "家庭困难申请帮扶", "other": "其他诉求",
}


def _weighted(rng: random.Random, table: dict):
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


class Generator:
    """One group's history: ``cases(n)`` yields each case's envelopes, in registration order."""

    def __init__(self, seed: int, keys: dict[str, str], end: datetime | None = None, years: float = 5):
        self.rng = random.Random(seed)
        self.org = OrgTree.load(SEED_DIR / "org.yaml")
        taxonomy = yaml.safe_load((SEED_DIR / "taxonomy.yaml").read_text(encoding="utf-8"))
        self.route_kind = {t["id"]: t["route"] for t in taxonomy["issue_types"]}
        rules = yaml.safe_load((SEED_DIR / "routing-rules.yaml").read_text(encoding="utf-8"))["rules"]
        self.rule = {r["id"]: r for r in rules}
        self.cal = WorkCalendar.load(SEED_DIR / "calendar.yaml")
        self.policy = Policy.load(SEED_DIR / "handling.yaml")
        self.sealers = {s: Sealer(keys[s]) for s in STORES}
        self.receipt_key = self.sealers["intake"].derive("receipt-code")
        self.match_key = self.sealers["intake"].derive("petitioner-match")
        self.end = (end or datetime.now(UTC)).astimezone(UTC)
        self.start = self.end - timedelta(days=round(365.25 * years))
        subs = [s for s in ("S1", "S2", "S3") if s in self.org]
        self.subsidiaries = {s: self.org.get(s).employees or 1 for s in subs}
        self.persons: list[tuple[Petitioner, str, str, str]] = []  # (person, subsidiary, issue, last case id)
        self.recent: dict[tuple[str, str], list[str]] = {}  # (subsidiary, issue) -> recent case ids
        self.seq = 0
        self._day_times: dict[date, datetime] = {}

    # -- helpers -----------------------------------------------------------------------------------------
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def at(self, d: date, hour: float | None = None) -> datetime:
        """A moment of day ``d`` (Beijing): at ``hour``, or the case's one working-hours moment of that day
        (so that an act and what it causes at ``at(d) + 1 s`` stay in order)."""
        if hour is None:
            if d not in self._day_times:
                self._day_times[d] = self.at(d, self.rng.uniform(8.5, 17.5))
            return self._day_times[d]
        h = hour
        return datetime.combine(d, dtime(int(h), int(h % 1 * 60), self.rng.randrange(60)), CHINA).astimezone(UTC)

    @lru_cache(maxsize=100_000)  # noqa: B019 - one generator per run
    def _due(self, rule: str, starts_on: date, days: int | None):
        r = RULES[rule] if days is None else ClockRule(rule, max(days, 1), "calendar_days", "")
        return compute(r, starts_on, self.cal)

    def statutory(self, cid: str, clock: str, starts_on: date, unit: str | None, kind: str = "duty",
                  basis: str | None = None) -> ev.DeadlineSet:
        d = self._due(clock, starts_on, None)
        return ev.DeadlineSet(case_id=cid, clock=clock, kind=kind, starts_on=starts_on, period=d.period,
                              unit_of_period=d.unit, due_on=d.due_on, basis=basis or d.basis, rolled_from=d.rolled_from,
                              unit=unit)

    def internal(self, cid: str, clock: str, days: int, starts_on: date, basis: str, unit: str | None,
                 kind: str = "internal") -> ev.DeadlineSet:
        d = self._due(clock.split(":")[0], starts_on, days)
        return ev.DeadlineSet(case_id=cid, clock=clock, kind=kind, starts_on=starts_on, period=d.period,
                              unit_of_period=d.unit, due_on=d.due_on, basis=basis, rolled_from=d.rolled_from, unit=unit)

    def _issue_weights(self, t: datetime) -> dict[str, float]:
        years = (t - self.start).days / 365.0
        w = dict(ISSUES)
        w["social_insurance_transfer"] *= 0.6 + 0.5 * years  # hand-over to local government: rising
        w["three_supplies"] *= 2.2 if 1.0 <= years < 2.5 else 0.8  # 三供一业: a two-year wave
        w["commuting"] *= 2.5 if 3.0 <= years < 4.0 else 0.9  # station mergers
        if t.astimezone(CHINA).month in (12, 1, 2):
            w["wages"] *= 1.8  # year-end wage settlement
        return w

    def received_times(self, n: int) -> list[datetime]:
        """n registration times over the period, by month, weekday and a slight growth."""
        days = (self.end - self.start).days
        day0 = self.start.astimezone(CHINA).date()
        weights = []
        for i in range(days + 1):
            d = day0 + timedelta(days=i)
            weights.append(MONTH[d.month - 1] * WEEKDAY[d.weekday()] * (0.85 + 0.3 * i / days))
        cum = list(accumulate(weights))
        out = []
        for _ in range(n):
            i = bisect(cum, self.rng.random() * cum[-1])
            out.append(self.at(day0 + timedelta(days=min(i, days)), self.rng.uniform(8.0, 18.5)))
        out.sort()
        return [t for t in out if t < self.end] or [self.end - timedelta(hours=1)]

    def person(self, sub: str, unit: str) -> Petitioner:
        r = self.rng
        body = f"{r.randrange(110000, 659999)}{r.randrange(1950, 2003)}{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}" \
               f"{r.randrange(1000):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
        return Petitioner(name=r.choice(SURNAMES) + "".join(r.choices(GIVEN, k=r.choice((1, 2)))),
                          id_number=body + check, phone=f"13{r.randrange(10**9):09d}", unit=unit)

    # -- one case --------------------------------------------------------------------------------------------
    def case(self, received_at: datetime) -> list[Envelope]:
        r, org = self.rng, self.org
        self._day_times: dict[date, datetime] = {}
        cid = self.uuid()
        day = received_at.astimezone(CHINA).date()
        sub = _weighted(r, self.subsidiaries)
        issue = _weighted(r, self._issue_weights(received_at))
        if issue in DISCIPLINE_ISSUES:
            category = "检举控告类" if r.random() < 0.8 else "建议意见类"
        else:
            category = r.choices(("申诉求决类", "建议意见类", "咨询类", "检举控告类"), (70, 10, 17, 3))[0]
        channel = _weighted(r, CHANNELS)
        grassroots = [u for u in org.subtree(sub) if org.get(u).kind == "grassroots"]
        petitioner_unit = (org.child_of_kind(sub, "retiree") if issue == "retirement_benefits"
                           else r.choice(grassroots) if r.random() < 0.75 else r.choice(org.subtree(sub)[1:]))
        office = org.child_of_kind(sub, "petition_office")
        x = r.random()
        receiving = "HQ-XFB" if x < 0.04 else (r.choice(grassroots) if x < 0.10 else office)
        if channel == "领导接访":
            receiving = office
        anonymous = channel == "匿名举报箱" or (category == "检举控告类" and r.random() < 0.4) or r.random() < 0.02
        collective = not anonymous and r.random() < 0.04
        # a person who petitioned before (same subsidiary), or a new one
        again = None
        if not anonymous and self.persons and r.random() < 0.16:
            again = r.choice(self.persons[-5000:])
            if again[1] == sub:
                issue = again[2] if r.random() < 0.8 else issue
            else:
                again = None
        petitioners = [] if anonymous else [again[0] if again else self.person(sub, petitioner_unit)]
        involved = None
        if collective:
            involved = r.choice((5, 6, 8, 10, 12, 15, 20, 30, 50))
            petitioners += [self.person(sub, petitioner_unit) for _ in range(r.randrange(1, 5))]
        elif not anonymous and channel == "来信" and r.random() < 0.03:
            petitioners += [self.person(sub, petitioner_unit) for _ in range(r.randrange(1, 4))]  # 联名
        if petitioners:
            petitioner_unit = petitioners[0].unit
        accused = petitioner_unit if category == "检举控告类" and r.random() < 0.5 else None
        visit = channel in ("来访", "领导接访")
        visitors = (min(5, len(petitioners)) if collective else 1) if visit else None
        details = {"来信": {"postmark_on": str(day - timedelta(days=r.randrange(1, 6)))},
                   "来访": {"reception_place": "信访接待室", "receptionist": "接谈人", "visitor_count": visitors},
                   "来电": {"duration_s": r.randrange(60, 1500)},
                   "网上信访": {"declared_truthful": True}}.get(channel)
        self.seq += 1
        seal_i, seal_r, seal_s = (self.sealers[s].seal for s in STORES)
        receipt = receipt_code(self.receipt_key, cid)
        reg = ev.PetitionRegistered(
            case_id=cid, case_no=case_number(received_at, self.seq), channel=channel, received_at=received_at,
            receiving_unit=receiving, subsidiary=sub, anonymous=anonymous, petitioner_count=len(petitioners),
            involved_count=involved, petitioner_unit=None if anonymous else petitioner_unit,
            petitioners_sealed=seal_i(cid, [p.model_dump() for p in petitioners]) if petitioners else None,
            category=category, issue_type=issue, summary_sealed=seal_i(cid, SUMMARIES[issue]), accused_unit=accused,
            receipt_code_hash=ev.receipt_code_hash(receipt), petitioner_keys=petitioner_keys(self.match_key, petitioners),
            urgent=r.random() < 0.004, threat=r.random() < 0.008,
            details_sealed=seal_i(cid, details) if details else None, visitor_count=visitors,
            person_times=max(1, visitors or len(petitioners)), declared_truthful=channel == "网上信访")
        out: list[tuple[datetime, str, ev.Event, Actor, int | None]] = []  # time, producer, event, actor, cause index

        def add(t: datetime, producer: str, event: ev.Event, actor: Actor = SYSTEM, cause: int | None = 0) -> int:
            out.append((t, producer, event, actor, cause))
            return len(out) - 1

        registrar = Actor(f"{receiving.lower()}-registrar", receiving, "registrar")
        t0 = received_at + timedelta(minutes=r.randrange(5, 90))
        add(t0, "intake", reg, registrar, None)

        def at(d: date, hour: float | None = None) -> datetime:
            return max(self.at(d, hour), t0 + timedelta(minutes=10))  # acts on the day come after the registration

        # -- intake's detection
        s = timedelta(seconds=1)
        recent = self.recent.setdefault((sub, issue), [])
        if again is not None:
            add(t0 + s, "intake", ev.PetitionFlagged(case_id=cid, flag="repeat", rule="same-person-same-issue",
                                                     linked_case_ids=[again[3]], basis="同一信访人同一事项：90日内再次提出或前案尚在办理"))
        if involved:
            add(t0 + s, "intake", ev.PetitionFlagged(
                case_id=cid, flag="collective", rule="collective-visit" if visit else "collective-petition",
                basis=f"涉及{involved}人（5人以上为集体信访）"))
        elif len(petitioners) >= 2:
            add(t0 + s, "intake", ev.PetitionFlagged(case_id=cid, flag="collective", rule="joint-letter",
                                                     basis=f"{len(petitioners)}人联名"))
        if receiving == "HQ-XFB":
            add(t0 + s, "intake", ev.PetitionFlagged(
                case_id=cid, flag="skip_level", rule="above-competent-level",
                basis=ACT + "第二十条第一款：信访人应当向有权处理的本级或者上一级机关、单位提出（未依法逐级走访）",
                guidance=f"引导信访人向{org.name(office)}（{office}）反映"))
        if recent and r.random() < 0.025:
            add(t0 + s, "intake", ev.PetitionFlagged(case_id=cid, flag="duplicate_text", rule="one-letter-many-offices",
                                                     linked_case_ids=[recent[-1]], score=round(r.uniform(0.22, 0.9), 3),
                                                     basis="一信多投：同一信件向多个机关、单位提出"))
        if again is not None and r.random() < 0.1:
            add(t0 + s, "intake", ev.PetitionFlagged(case_id=cid, flag="frequent_petitioner", rule="cases-in-period",
                                                     linked_case_ids=[again[3]], basis="365日内信访5件（5件以上）"))
        recent.append(cid)
        del recent[:-20]
        if petitioners:
            self.persons.append((petitioners[0], sub, issue, cid))
            if len(self.persons) > 50_000:
                del self.persons[:10_000]
        # -- supervision: the notice clock of the receiving unit (Art 22 + 23 ¶2, or 23 ¶2)
        holder_office = org.get(receiving).kind == "petition_office"
        notice = self.statutory(cid, "acceptance_notice", day, receiving,
                                basis=ACT + "第二十二条第一款、第二十三条第二款" if holder_office else None)
        add(t0 + 2 * s, "supervision", notice)
        if reg.urgent:
            chain = [u for u in (office, "HQ-XFB") if u != receiving]
            add(t0 + 2 * s, "supervision", ev.UrgentFlagged(case_id=cid, by_unit=receiving, reason_sealed=seal_s(cid, "登记时标注重大紧急"),
                                                             notified=chain, on=day))
        # -- routing by the rule table
        if category == "检举控告类":
            rule, unit = self.rule["accusation-to-discipline"], org.child_of_kind(sub, "discipline") or "HQ-JJ"
        elif category == "咨询类":
            rule, unit = self.rule["inquiry-to-petition-office"], office
        else:
            rule, unit = self.rule["by-issue-type"], org.child_of_kind(sub, self.route_kind[issue]) or office
        ta = t0 + 3 * s
        assigned = add(ta, "routing", ev.CaseAssigned(case_id=cid, unit=unit, subsidiary=sub, rule_id=rule["id"],
                                                      basis=rule["basis"], first_unit=unit, on=day))
        moves, cur = 0, unit
        decide_day = day
        leader = Actor(f"{sub.lower()}-leader", sub, "leader")

        def handler(u: str) -> Actor:
            return Actor(f"{u.lower()}-handler", u, "handler")

        # 转送 / 交办 to a grassroots unit (another organisation: it accepts anew), sometimes bounced
        if r.random() < 0.10 and category != "检举控告类":
            hops = 1 if r.random() < 0.85 else r.randrange(2, 6)
            on = day + timedelta(days=r.randrange(1, 8))
            for _ in range(hops):
                to = r.choice([g for g in grassroots if g != cur] or grassroots)
                if moves and r.random() < 0.5:
                    to = unit  # back up to the department: 推诿 pattern
                mode = r.choice(("转送", "交办"))
                moves += 1
                report_due = on + timedelta(days=30) if mode == "交办" else None
                t = at(on)
                by = handler(cur)
                i = add(t, "routing", ev.CaseAssigned(
                    case_id=cid, unit=to, subsidiary=sub, rule_id="manual", basis=ACT + "第二十二条",
                    previous_unit=cur, reason_sealed=seal_r(cid, "属于基层单位职责"), mode=mode, first_unit=unit,
                    moves=moves, on=on, report_due_on=report_due, needs_acceptance=org.organ_of(to) != org.organ_of(cur)),
                    by, None)
                away = org.organ_of(to) != org.organ_of(cur)
                if away:
                    if moves == 1:
                        add(t + s, "supervision", ev.DeadlineMet(case_id=cid, clock="acceptance_notice", on=on,
                                                                 late=on > notice.due_on), cause=i)
                    add(t + s, "supervision", self.statutory(cid, "transferred_notice", on, to), cause=i)
                    add(t + s, "supervision", self.statutory(cid, "objection", on, to), cause=i)
                if report_due:
                    add(t + s, "supervision", self.internal(cid, "report", 30, on, ACT + "第二十二条：交办事项应当在规定期限内报送办理结果",
                                                            to, kind="duty"), cause=i)
                if moves > self.policy.max_moves:
                    self._order(add, cid, "推诿", to, on, None, i)
                cur = to
                on += timedelta(days=r.randrange(1, 6))
            decide_day = on
        elif rule["auto_accept"]:
            decide_day = day
        else:
            decide_day = day + timedelta(days=r.choice((1, 2, 3, 5, 8, 12, 14, 17)))
        automatic = rule["auto_accept"] and moves == 0
        if r.random() < 0.03:  # the handling unit corrects the classification
            new_issue = r.choice(list(ISSUES))
            add(at(decide_day), "routing", ev.CaseClassified(case_id=cid, category=category, issue_type=new_issue,
                                                                  by_unit=cur, on=decide_day), handler(cur), None)
        # 不予受理: another statutory channel (litigation, arbitration ...)
        if category != "咨询类" and r.random() < 0.05:
            t = at(decide_day)
            i = add(t, "routing", ev.CaseRejected(case_id=cid, unit=cur, reason_sealed=seal_r(cid, "属于劳动人事争议仲裁范围"),
                                                  legal_channel=r.choice(("劳动人事争议仲裁", "诉讼", "其他法定途径")),
                                                  ground="legal_channel", basis=ACT + "第三十一条", rejected_on=decide_day),
                    handler(cur), None)
            self._notice_met(add, cid, t + s, decide_day, notice, moves, i)
            if moves:
                add(t + s, "supervision", ev.DeadlineCancelled(case_id=cid, clock="objection", on=decide_day,
                                                               reason="不予受理"), cause=i)
            return self._wrap(out)
        t = at(decide_day) if not automatic else ta + s
        acc = add(t, "routing", ev.CaseAccepted(case_id=cid, unit=cur, accepted_on=decide_day, automatic=automatic,
                                                category=category), SYSTEM if automatic else handler(cur),
                  assigned if automatic else None)
        self._notice_met(add, cid, t + s, decide_day, notice, moves, acc)
        if moves:
            add(t + s, "supervision", ev.DeadlineCancelled(case_id=cid, clock="objection", on=decide_day, reason="已受理"),
                cause=acc)
        period = self.policy.handling_period(category)
        handling = self.internal(cid, "handling", period.days, decide_day, period.basis, cur, kind="duty")
        add(t + s, "supervision", handling, cause=acc)
        # track (分类办理) and handler
        track = "简单马上办" if category == "咨询类" else r.choices(("简单马上办", "一般快速办", "疑难监督办"), (25, 55, 20))[0]
        track_days = self.policy.tracks.get(track, 30)
        tt = t + timedelta(minutes=r.randrange(10, 300))
        i = add(tt, "routing", ev.TrackSet(case_id=cid, track=track, target_days=track_days, on=decide_day),
                handler(cur), None)
        add(tt + s, "supervision", self.internal(cid, "track", track_days, decide_day, f"集团分类办理时限（{track}）", cur),
            cause=i)
        add(tt + 2 * s, "routing", ev.HandlerAssigned(case_id=cid, handler=f"{cur.lower()}-h{r.randrange(1, 9)}", unit=cur,
                                                      on=decide_day), handler(cur), None)
        if track == "疑难监督办" and r.random() < 0.3:
            add(tt + 3 * s, "routing", ev.LeaderTookCase(case_id=cid, leader=f"{sub.lower()}-leader", unit=sub,
                                                         on=decide_day), leader, None)
        # -- handling: progress, maybe an extension, late or on time
        late = r.random() < 0.07
        due = handling.due_on
        if late:
            reply_day = due + timedelta(days=r.randrange(1, 40))
        else:
            span = max(1, min(track_days + 10, (due - decide_day).days))
            reply_day = decide_day + timedelta(days=max(1, int(r.triangular(1, span, span * 0.35))))
        extended = None
        if not late and category == "申诉求决类" and r.random() < 0.06:
            extended = due + timedelta(days=r.choice((15, 20, 30)))
            ext_on = due - timedelta(days=r.randrange(2, 10))
            add(at(ext_on), "supervision", ev.DeadlineExtended(
                case_id=cid, clock="handling", days=(extended - due).days, approved_by=f"{sub.lower()}-leader",
                reason_sealed=seal_s(cid, "情况复杂需进一步调查"), approved_on=ext_on, due_on=extended,
                basis=ACT + "第三十四条"), leader, None)
            reply_day = due + timedelta(days=r.randrange(1, (extended - due).days))
        for k in range(r.choice((0, 1, 1, 2))):
            pd = decide_day + timedelta(days=max(1, (reply_day - decide_day).days * (k + 1) // 4))
            add(at(pd), "supervision", ev.ProgressNoted(case_id=cid, note_sealed=seal_s(cid, "已约谈信访人了解情况"),
                                                             by_unit=cur, on=pd), handler(cur), None)
        if (due - decide_day).days > 10 and (late or r.random() < 0.25) and not extended:
            wd = due - timedelta(days=5)
            add(at(wd, 0.2), "supervision", ev.DeadlineWarned(case_id=cid, clock="handling", due_on=due, days_left=5,
                                                                   on=wd), cause=None)
        if late:
            bd = due + timedelta(days=1)
            add(at(bd, 0.1), "supervision", ev.DeadlineBreached(case_id=cid, clock="handling", due_on=due, on=bd),
                cause=None)
            no = self._order(add, cid, "overdue", cur, bd, "handling", None)
            if no is not None and r.random() < 0.7:
                fd = bd + timedelta(days=r.randrange(2, 12))
                add(at(fd), "supervision", ev.OrderFeedback(case_id=cid, order_no=no, by_unit=cur,
                                                                 feedback_sealed=seal_s(cid, "已督促办理"), late=fd > bd + timedelta(days=10),
                                                                 on=fd), handler(cur), None)
                add(at(fd) + s, "supervision", ev.DeadlineMet(case_id=cid, clock=f"order:{no}", on=fd,
                                                                   late=fd > bd + timedelta(days=10)), cause=None)
            elif no is not None:
                ed = bd + timedelta(days=11)
                eb = self._due("order", bd, 10).due_on + timedelta(days=1)
                add(at(eb, 0.1), "supervision", ev.DeadlineBreached(case_id=cid, clock=f"order:{no}",
                                                                         due_on=eb - timedelta(days=1), on=eb), cause=None)
                fb = self.internal(cid, f"order:{no}", 10, eb, ACT + "第四十条：督办并要求书面反馈（逐级升级督办）", cur, kind="duty")
                add(at(eb, 0.1) + s, "supervision", ev.OrderEscalated(
                    case_id=cid, order_no=no, level="subsidiary" if org.organ_of(cur) != sub else "headquarters",
                    issued_by=office if org.organ_of(cur) != sub else "HQ-XFB", feedback_due_on=fb.due_on, on=eb), cause=None)
                add(at(eb, 0.1) + 2 * s, "supervision", fb, cause=None)
                del ed
        # -- the reply (or a settlement), served
        td = at(reply_day - timedelta(days=r.randrange(1, 4)) if reply_day > decide_day + timedelta(days=3) else reply_day, 9)
        if category != "咨询类" and r.random() < 0.05:
            kind = r.choice(("调解协议书", "和解协议书"))
            i = add(at(reply_day), "supervision", ev.AgreementSigned(case_id=cid, kind=kind,
                                                                          content_sealed=seal_s(cid, "双方达成协议"), signed_on=reply_day),
                    handler(cur), None)
            decision = None
        else:
            decision = r.choices(("支持", "解释", "不支持"), (35, 50, 15))[0]
            drafts = 1 if r.random() < 0.85 else 2
            for dn in range(1, drafts + 1):
                add(td + timedelta(hours=dn), "supervision", ev.ReplyDrafted(
                    case_id=cid, draft=dn, decision=decision, template=f"reply-{decision}",
                    content_sealed=seal_s(cid, "处理意见"), by_unit=cur, on=td.astimezone(CHINA).date()), handler(cur), None)
                add(td + timedelta(hours=dn, minutes=30), "supervision", ev.ReplyReviewed(
                    case_id=cid, draft=dn, approved=dn == drafts, by=f"{sub.lower()}-leader",
                    comment_sealed=None if dn == drafts else seal_s(cid, "请补充政策依据"),
                    on=td.astimezone(CHINA).date()), leader, None)
            i = add(at(reply_day, 15), "supervision", ev.ReplyServed(
                case_id=cid, draft=drafts, served_on=reply_day, method=r.choice(("当面", "邮寄", "电子送达")),
                receipt="签收" if r.random() < 0.97 else "拒收"), handler(cur), None)
        ts = at(reply_day, 15) + s
        add(ts, "supervision", ev.DeadlineMet(case_id=cid, clock="handling", on=reply_day,
                                              late=reply_day > (extended or due)), cause=i)
        track_due = self._due("track", decide_day, track_days).due_on
        add(ts, "supervision", ev.DeadlineMet(case_id=cid, clock="track", on=reply_day, late=reply_day > track_due), cause=i)
        if decision is not None:
            window = self.statutory(cid, "review_request_window", reply_day, None, kind="window")
            add(ts + s, "supervision", window, cause=i)
        evaluation = self.internal(cid, "evaluation", self.policy.evaluation_window_days, reply_day, EVALUATION_BASIS,
                                   None, kind="window")
        add(ts + s, "supervision", evaluation, cause=i)
        if decision == "支持":
            execution = self.internal(cid, "execution", self.policy.execution_days, reply_day,
                                      ACT + "第三十二条：支持信访请求的，应当督促有关机关、单位执行", cur)
            add(ts + s, "supervision", execution, cause=i)
            xd = reply_day + timedelta(days=r.randrange(3, 35))
            ip = add(at(xd), "supervision", ev.ProgressNoted(case_id=cid, note_sealed=seal_s(cid, "已落实"), by_unit=cur,
                                                                  executed=True, on=xd), handler(cur), None)
            add(at(xd) + s, "supervision", ev.DeadlineMet(case_id=cid, clock="execution", on=xd,
                                                               late=xd > execution.due_on), cause=ip)
        # -- evaluation, by whom it was collected, or its expiry
        grades = {}
        if r.random() < 0.78:
            collector = r.choices(list(COLLECTORS), [c[0] for c in COLLECTORS.values()])[0]
            if collector == "hq_callback" and r.random() < 0.5:
                collector = "petition_office"
            ed = reply_day + timedelta(days=r.randrange(1, 28))
            for target in ("responsible_unit", "petition_office"):
                g = r.choices(GRADES, COLLECTORS[collector][1])[0]
                grades[target] = g
                who = {"handling_unit": handler(cur), "petition_office": Actor(f"{office.lower()}-supervisor", office, "supervisor"),
                       "hq_callback": Actor("hq-supervisor", "HQ-XFB", "supervisor"),
                       "petitioner": Actor("petitioner", "public", "petitioner")}[collector]
                add(at(ed), "supervision", ev.EvaluationRecorded(
                    case_id=cid, target=target, grade=g, via=VIA[collector], collected_by=collector, on=ed), who, None)
            add(at(ed) + s, "supervision", ev.DeadlineMet(case_id=cid, clock="evaluation", on=ed, late=False), cause=None)
            if "不满意" in grades.values():
                fu = self.internal(cid, "followup", self.policy.followup_days, ed, "回访：不满意评价和实名投诉须回访（集团规定）",
                                   cur, kind="duty")
                add(at(ed) + 2 * s, "supervision", ev.FollowUpRequired(case_id=cid, ground="不满意", unit=cur,
                                                                             due_on=fu.due_on), cause=None)
                add(at(ed) + 2 * s, "supervision", fu, cause=None)
                fd = ed + timedelta(days=r.randrange(2, 14))
                add(at(fd), "supervision", ev.FollowUpRecorded(case_id=cid, by_unit=cur, outcome_sealed=seal_s(cid, "已回访"),
                                                                    satisfied_now=r.random() < 0.4, on=fd), handler(cur), None)
                add(at(fd) + s, "supervision", ev.DeadlineMet(case_id=cid, clock="followup", on=fd,
                                                                   late=fd > fu.due_on), cause=None)
        else:
            bd = evaluation.due_on + timedelta(days=1)
            add(at(bd, 0.1), "supervision", ev.DeadlineBreached(case_id=cid, clock="evaluation",
                                                                     due_on=evaluation.due_on, on=bd), cause=None)
            for target in ("petition_office", "responsible_unit"):
                add(at(bd, 0.1) + s, "supervision", ev.EvaluationExpired(case_id=cid, target=target, on=bd), cause=None)
        # -- closure, and the review chain
        cd = reply_day + timedelta(days=r.randrange(1, 20))
        unhappy = "不满意" in grades.values()
        outcome = r.choices(("息诉罢访", "未息诉罢访", "不明确"), (40, 45, 15) if unhappy else (85, 5, 10))[0]
        add(at(cd), "supervision", ev.CaseClosed(case_id=cid, approved_by=f"{sub.lower()}-leader", outcome=outcome, on=cd),
            leader, None)
        if decision is not None:
            review = r.random() < (0.25 if unhappy else 0.025)
            if not review:
                bd = window.due_on + timedelta(days=1)
                add(at(bd, 0.1), "supervision", ev.DeadlineBreached(case_id=cid, clock="review_request_window",
                                                                         due_on=window.due_on, on=bd), cause=None)
            else:
                reviewer = office if org.organ_of(cur) != sub else "HQ-XFB"
                rd = reply_day + timedelta(days=r.randrange(3, 29))
                self._review(add, cid, "复查", rd, reviewer, window, r, seal_s, cur)
        return self._wrap(out)

    def _review(self, add, cid, level, rd, reviewer, window, r, seal_s, cur):
        s = timedelta(seconds=1)
        art = "第三十五条" if level == "复查" else "第三十六条第一款"
        clock = "review" if level == "复查" else "re_review"
        i = add(self.at(rd), "supervision", ev.ReviewRequested(case_id=cid, level=level, requested_on=rd,
                                                               reviewing_unit=reviewer, basis=ACT + art),
                Actor(f"{reviewer.lower()}-registrar", reviewer, "registrar"), None)
        add(self.at(rd) + s, "supervision", ev.DeadlineMet(case_id=cid, clock=window.clock, on=rd, late=False), cause=i)
        rc = self.statutory(cid, clock, rd, reviewer)
        add(self.at(rd) + s, "supervision", rc, cause=i)
        od = rd + timedelta(days=r.randrange(5, 34))
        add(self.at(od), "supervision", ev.ReviewOpinionIssued(
            case_id=cid, level=level, decision=r.choices(("维持", "撤销", "变更", "责令重新办理"), (80, 5, 8, 7))[0],
            content_sealed=seal_s(cid, f"{level}意见"), by_unit=reviewer, issued_on=od),
            Actor(f"{reviewer.lower()}-handler", reviewer, "handler"), None)
        add(self.at(od) + s, "supervision", ev.DeadlineMet(case_id=cid, clock=clock, on=od, late=od > rc.due_on), cause=None)
        if level == "复查":
            w2 = self.statutory(cid, "re_review_request_window", od, None, kind="window")
            add(self.at(od) + 2 * s, "supervision", w2, cause=None)
            if r.random() < 0.3:
                self._review(add, cid, "复核", od + timedelta(days=r.randrange(3, 29)), "HQ-XFB", w2, r, seal_s, cur)
            else:
                bd = w2.due_on + timedelta(days=1)
                add(self.at(bd, 0.1), "supervision", ev.DeadlineBreached(case_id=cid, clock=w2.clock, due_on=w2.due_on,
                                                                         on=bd), cause=None)
        else:
            add(self.at(od) + 2 * s, "supervision", ev.CaseFinalised(case_id=cid, on=od, basis=ACT + "第三十六条第三款"), cause=None)

    def _notice_met(self, add, cid, t, on, notice, moves, cause):
        clock = "transferred_notice" if moves else "acceptance_notice"
        due = self._due(clock, on, None).due_on if moves else notice.due_on
        late = on > due if not moves else False
        add(t, "supervision", ev.DeadlineMet(case_id=cid, clock=clock, on=on, late=late), cause=cause)

    def _order(self, add, cid, ground, to_unit, on, clock, cause):
        self._orders = getattr(self, "_orders", {})
        no = self._orders.get(cid, 0) + 1
        self._orders[cid] = no
        issuer = self.org.child_of_kind(self.org.organ_of(to_unit), "petition_office")
        if issuer is None or issuer == to_unit:
            issuer = self.org.child_of_kind(self.org.subsidiary_of(to_unit) or "HQ", "petition_office") or "HQ-XFB"
        if issuer == to_unit:
            issuer = "HQ-XFB"
        fb = self.internal(cid, f"order:{no}", self.policy.order_feedback_days, on,
                           ACT + "第四十条：督办并要求书面反馈（反馈期限由集团规定）", to_unit, kind="duty")
        t = self.at(on, 0.1)
        add(t, "supervision", ev.OrderIssued(case_id=cid, order_no=no, ground=ground, level="unit", issued_by=issuer,
                                              to_unit=to_unit, feedback_due_on=fb.due_on, basis=ACT + "第四十条",
                                              clock=clock, on=on), cause=cause)
        add(t + timedelta(seconds=1), "supervision", fb, cause=cause)
        return no

    def _wrap(self, out: list) -> list[Envelope]:
        """The case's events up to now, in time order, as envelopes: versions per store, ids from the seed,
        one correlation (the registration), causation for the events a consumer caused."""
        order = sorted(range(len(out)), key=lambda k: out[k][0])
        versions = {s: 0 for s in STORES}
        ids = {}
        envs = []
        corr = None
        for k in order:
            t, producer, payload, actor, cause = out[k]
            if t >= self.end:
                continue  # the future has not happened: the case is still open
            versions[producer] += 1
            eid = self.uuid()
            ids[k] = eid
            corr = corr or eid
            tp = f"00-{self.rng.getrandbits(128):032x}-{self.rng.getrandbits(64):016x}-00"
            env = new_envelope(payload, subject=payload.case_id, sequence=versions[producer], actor=actor,
                               causationid=ids.get(cause) if cause is not None else None, traceparent=tp, time=t)
            envs.append(replace(env, id=eid, correlationid=corr))
        return envs


# -- writing ---------------------------------------------------------------------------------------------------


def _escape(b: bytes) -> bytes:
    return b.replace(b"\\", b"\\\\")  # orjson never writes tabs or newlines raw


def copy_line(env: Envelope) -> bytes:
    return b"\t".join((env.subject.encode(), str(env.sequence).encode(), env.id.encode(), env.type.encode(),
                       env.time.isoformat().encode(), (env.traceparent or "\\N").encode(), _escape(env.encode()))) + b"\n"


def keys_for(keys_dir: Path) -> dict[str, str]:
    """Each sealing service's key, kept like the embedded launcher keeps them (data dir/keys/<service>.key)."""
    import secrets

    out = {}
    keys_dir.mkdir(parents=True, exist_ok=True)
    for s in STORES:
        p = keys_dir / f"{s}.key"
        if not p.exists():
            p.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            p.chmod(0o600)
        out[s] = p.read_text().strip()
    return out


def ensure_database(database_url: str, fresh: bool) -> None:
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    name = info["dbname"]
    if name.startswith("xf_test_"):
        raise SystemExit("refusing to touch a test database")
    admin = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def migrate_all(database_url: str) -> None:
    from importlib import import_module

    for s in SERVICES:
        migrate(database_url, s, import_module(f"{s}.bootstrap").MIGRATIONS)


def generate(database_url: str, cases: int, seed: int, keys_dir: Path, fresh: bool = True, years: float = 5,
             progress: bool = True) -> dict:
    """Create (or empty) the database, migrate every schema, write ``cases`` cases; the figures."""
    ensure_database(database_url, fresh)
    migrate_all(database_url)
    gen = Generator(seed, keys_for(keys_dir), years=years)
    started = time.monotonic()
    times = gen.received_times(cases)
    conns = {s: psycopg.connect(database_url, options=f"-c search_path={s}") for s in STORES}
    copies, ctxs, counts = {}, {}, {s: 0 for s in STORES}
    by_type: dict[str, int] = {}
    try:
        for s, c in conns.items():
            if c.execute("SELECT count(*) FROM events").fetchone()[0]:
                raise SystemExit(f"{s}'s store is not empty: use --fresh")
            c.execute("SET synchronous_commit = off")
            ctxs[s] = c.cursor().copy(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN")
            copies[s] = ctxs[s].__enter__()
        pending: dict[date, list[tuple[datetime, int, str, bytes]]] = {}
        chunks = {s: [] for s in STORES}
        k = 0

        def flush_until(day: date | None) -> None:
            for d in sorted(x for x in pending if day is None or x <= day):
                for _, _, store, line in sorted(pending.pop(d), key=lambda e: (e[0], e[1])):
                    chunks[store].append(line)
            for s, lines in chunks.items():
                if lines:
                    copies[s].write(b"".join(lines))
                    lines.clear()

        last_day = None
        for n, t in enumerate(times):
            day = t.astimezone(CHINA).date()
            if day != last_day and last_day is not None:
                flush_until(last_day)  # nothing later generated can happen before this day ends
            last_day = day
            for env in gen.case(t):
                k += 1
                pending.setdefault(env.time.astimezone(CHINA).date(), []).append(
                    (env.time, k, env.producer, copy_line(env)))
                counts[env.producer] += 1
                by_type[env.type] = by_type.get(env.type, 0) + 1
            if progress and n and n % 50_000 == 0:
                el = time.monotonic() - started
                print(f"  {n:,} cases, {sum(counts.values()):,} events, {sum(counts.values()) / el:,.0f} events/s",
                      file=sys.stderr, flush=True)
        flush_until(None)
        for s in STORES:
            ctxs[s].__exit__(None, None, None)
            conns[s].commit()
        copied = time.monotonic() - started
        with psycopg.connect(database_url, autocommit=True) as c:
            c.execute("SELECT setval('intake.case_no_seq', %s)", (gen.seq,))
            for s in STORES:
                c.execute(f"ANALYZE {s}.events")
    finally:
        for c in conns.values():
            c.close()
    seconds = time.monotonic() - started
    total = sum(counts.values())
    return {"cases": len(times), "events": total, "events_by_store": counts, "events_per_case": round(total / len(times), 2),
            "seconds": round(seconds, 1), "copy_seconds": round(copied, 1), "events_per_s": round(total / seconds, 1),
            "event_types": dict(sorted(by_type.items(), key=lambda x: -x[1])),
            "first_received": times[0].isoformat(), "last_received": times[-1].isoformat()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/xf_scale")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--years", type=float, default=5, help="the period the cases are received in, ending now")
    ap.add_argument("--keys-dir", type=Path, default=REPO / ".data" / "scale" / "keys",
                    help="the services' seal keys (created if absent): give the services the same ones")
    ap.add_argument("--keep", action="store_true", help="do not drop and recreate the database")
    a = ap.parse_args(argv)
    print(json.dumps(generate(a.database_url, a.cases, a.seed, a.keys_dir, fresh=not a.keep, years=a.years),
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
