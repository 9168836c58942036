"""Detection rules over the register: repeats, the same matter higher up, after 复核, 一信多投,
joint letters and collective visits, skip-level petitions and frequent petitioners. Pure: the
detector (bootstrap) feeds it registrations read from intake's ``registrations`` table.

The rules are data (deploy/seed/detection.yaml, ``Rules``). Every finding names the rule, links
the earlier case(s) and, where the statute says so, suggests a decision a person confirms.

Order does not matter: a pair of matching registrations flags the later one (by time received,
then time registered), whichever of the two the detector sees second.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from backbone.auth import OrgTree
from backbone.contracts import PetitionFlagged

ACT = "《信访工作条例》"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepeatRule(_Rule):
    window_days: int = Field(default=90, ge=1, le=3650)
    while_open: bool = True
    min_similarity: float = Field(default=0.0, ge=0, le=1)


class SameMatterRule(_Rule):
    enabled: bool = True
    min_similarity: float = Field(default=0.0, ge=0, le=1)


class DuplicateTextRule(_Rule):
    threshold: float = Field(default=0.22, gt=0, le=1)
    window_days: int = Field(default=180, ge=1, le=3650)
    min_words: int = Field(default=4, ge=1)
    num_perm: int = Field(default=128, ge=16, le=512)
    band_rows: int = Field(default=2, ge=1, le=16)


class CollectiveRule(_Rule):
    involved_at_least: int = Field(default=5, ge=2)
    joint_letter_signatures_at_least: int = Field(default=2, ge=2)
    visit_channels: list[str] = ["来访", "领导接访"]


class SkipLevelRule(_Rule):
    levels_above_allowed: int = Field(default=0, ge=0, le=5)
    channels: list[str] = ["来访", "领导接访", "来信", "来电", "传真", "网上信访", "领导信箱"]
    exempt_issue_types: list[str] = []


class FrequentRule(_Rule):
    cases_at_least: int = Field(default=5, ge=2)
    period_days: int = Field(default=365, ge=1, le=3650)


class Rules(_Rule):
    repeat: RepeatRule = RepeatRule()
    same_matter_in_handling: SameMatterRule = SameMatterRule()
    final_after_re_review: SameMatterRule = SameMatterRule()
    duplicate_text: DuplicateTextRule = DuplicateTextRule()
    collective: CollectiveRule = CollectiveRule()
    skip_level: SkipLevelRule = SkipLevelRule()
    frequent_petitioner: FrequentRule = FrequentRule()


# -- text: words (jieba), MinHash (datasketch), LSH band keys -------------------------------------

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    """The text's words (jieba), without punctuation or spaces; digits kept (amounts, dates matter)."""
    return [w for w in (_PUNCT.sub("", t) for t in _jieba().lcut(text, HMM=False)) if w]


def shingles(w: list[str]) -> set[str]:
    """Words and adjacent word pairs: pairs keep some order, words survive light rewording."""
    return set(w) | {f"{a} {b}" for a, b in zip(w, w[1:])}


@dataclass(frozen=True)
class Signature:
    values: tuple[int, ...]  # MinHash values (one per permutation)
    bands: tuple[int, ...]  # LSH band keys: two texts sharing one are compared

    @property
    def empty(self) -> bool:
        return not self.values

    @property
    def key(self) -> int | None:
        """One number for the whole signature: the same text has the same key (a bounded lookup)."""
        if not self.values:
            return None
        digest = hashlib.blake2b(np.asarray(self.values, dtype=np.int64).tobytes(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)


NO_SIGNATURE = Signature((), ())


@cache
def _permutations(num_perm: int):
    from datasketch import MinHash

    return MinHash(num_perm=num_perm).permutations  # datasketch's fixed seed: signatures stay comparable


def signature(text: str, rule: DuplicateTextRule) -> Signature:
    from datasketch import MinHash

    w = words(text)
    if len(w) < rule.min_words:
        return NO_SIGNATURE
    s = shingles(w)
    m = MinHash(num_perm=rule.num_perm, permutations=_permutations(rule.num_perm), scheme="affine32")
    m.update_batch([x.encode() for x in s])
    hv = m.hashvalues.astype(np.uint64)
    r = rule.band_rows
    n = len(hv) // r
    # each band's r values folded into one 64-bit key, its band number mixed in (wrapping arithmetic)
    with np.errstate(over="ignore"):
        key = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        for j in range(r):
            key = key * np.uint64(0x100000001B3) + hv[j:n * r:r]
    values = tuple(hv.astype(np.int64).tolist())
    bands = tuple(key.view(np.int64).tolist())
    return Signature(values, bands)


def similarity(a: Sequence[int] | None, b: Sequence[int] | None) -> float | None:
    """MinHash estimate of the Jaccard similarity of two texts; None when either has no signature."""
    if not a or not b or len(a) != len(b):
        return None
    if a is b:  # a match of the very same text carries the registration's own signature
        return 1.0
    return float(np.mean(np.asarray(a) == np.asarray(b)))


# -- registrations and findings ------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """One registration as the rules see it: no identity, no text (keyed hashes, a signature)."""

    case_id: str
    received_at: datetime
    receiving_unit: str
    channel: str
    issue_type: str
    keys: frozenset[str] = frozenset()
    competent: str | None = None  # the petitioner's own organisation (subsidiary), when known
    petitioner_count: int = 0
    involved_count: int | None = None
    sig: tuple[int, ...] | None = None
    closed: bool = False  # closed (办结) or not accepted: no longer being handled
    final: bool = False  # final after 复核
    flagged: frozenset[str] = frozenset()
    registered_at: datetime | None = None
    detected: bool = True  # the detector has examined it (False: it will, and find its earlier cases itself)

    @property
    def order(self) -> tuple[datetime, datetime, str]:
        """Earlier means received earlier; received at the same time, registered earlier."""
        return (self.received_at, self.registered_at or self.received_at, self.case_id)

    @property
    def open(self) -> bool:
        return not (self.closed or self.final)


@dataclass
class Finding:
    case_id: str
    flag: str
    rule: str
    linked: list[str] = field(default_factory=list)
    suggestion: str | None = None
    basis: str = ""
    score: float | None = None
    guidance: str | None = None

    def event(self) -> PetitionFlagged:
        return PetitionFlagged(case_id=self.case_id, flag=self.flag, rule=self.rule, linked_case_ids=self.linked[:100],
                               suggestion=self.suggestion, basis=self.basis, score=self.score, guidance=self.guidance)


def _level(org: OrgTree, unit: str) -> int:
    """How far the unit's organisation is from the root (headquarters 0, a subsidiary 1, ...)."""
    return len(org.ancestors_or_self(org.organ_of(unit))) - 1 if unit in org else 0


def _same_matter(a: Registration, b: Registration, min_similarity: float) -> bool:
    if not (a.keys & b.keys) or a.issue_type != b.issue_type:
        return False
    if min_similarity <= 0:
        return True
    s = similarity(a.sig, b.sig)
    return s is not None and s >= min_similarity


def pair(later: Registration, earlier: Registration, org: OrgTree, rules: Rules) -> list[Finding]:
    """What ``later`` is, given ``earlier``: a repeat, the same matter higher up, after 复核, the same text."""
    out: list[Finding] = []
    gap = later.received_at - earlier.received_at
    r = rules.repeat
    if _same_matter(later, earlier, r.min_similarity) and (
            gap <= timedelta(days=r.window_days) or (r.while_open and earlier.open)):
        out.append(Finding(later.case_id, "repeat", "same-person-same-issue", [earlier.case_id],
                           basis=f"同一信访人同一事项：{r.window_days}日内再次提出或前案尚在办理"))
    s = rules.same_matter_in_handling
    if (s.enabled and earlier.open and not earlier.final and _same_matter(later, earlier, s.min_similarity)
            and _level(org, later.receiving_unit) < _level(org, earlier.receiving_unit)):
        out.append(Finding(later.case_id, "same_matter_in_handling", "higher-level-while-handled", [earlier.case_id],
                           suggestion="不予受理", basis=ACT + "第十九条第三款：下级正在办理的同一信访事项向上级提出的，上级不予受理"))
    f = rules.final_after_re_review
    if f.enabled and earlier.final and _same_matter(later, earlier, f.min_similarity):
        out.append(final_finding(later.case_id, [earlier.case_id]))
    d = rules.duplicate_text
    sim = similarity(later.sig, earlier.sig)
    if sim is not None and sim >= d.threshold and gap <= timedelta(days=d.window_days):
        elsewhere = org.organ_of(later.receiving_unit) != org.organ_of(earlier.receiving_unit) \
            if later.receiving_unit in org and earlier.receiving_unit in org else True
        out.append(Finding(later.case_id, "duplicate_text", "one-letter-many-offices" if elsewhere else "same-letter-twice",
                           [earlier.case_id], score=round(sim, 3),
                           basis="一信多投：同一信件向多个机关、单位提出" if elsewhere else "同一信件重复来信"))
    return out


def final_finding(case_id: str, final_case_ids: list[str]) -> Finding:
    return Finding(case_id, "final_after_re_review", "final-same-issue", list(final_case_ids), suggestion="不再受理",
                   basis=ACT + "第三十六条第三款：复核终结后以同一事实和理由再次提出的，不再受理")


def single(new: Registration, others: Iterable[Registration], org: OrgTree, rules: Rules) -> list[Finding]:
    """What ``new`` is by itself (collective) or given its person's history (skip-level, frequent)."""
    out: list[Finding] = []
    c = rules.collective
    people = max(new.petitioner_count, new.involved_count or 0)
    if people >= c.involved_at_least:
        kind = "collective-visit" if new.channel in c.visit_channels else "collective-petition"
        out.append(Finding(new.case_id, "collective", kind, basis=f"涉及{people}人（{c.involved_at_least}人以上为集体信访）"))
    elif new.channel not in c.visit_channels and new.petitioner_count >= c.joint_letter_signatures_at_least:
        out.append(Finding(new.case_id, "collective", "joint-letter", basis=f"{new.petitioner_count}人联名"))
    earlier = [o for o in others if o.order < new.order and o.keys & new.keys]
    k = rules.skip_level
    competent = new.competent
    if (competent and competent in org and new.receiving_unit in org and new.channel in k.channels
            and new.issue_type not in k.exempt_issue_types):
        here, there = org.organ_of(new.receiving_unit), competent
        above = there in org.subtree(here) and _level(org, here) < _level(org, there) - k.levels_above_allowed
        had_it = any(o.issue_type == new.issue_type and o.receiving_unit in org and org.is_within(o.receiving_unit, there)
                     for o in earlier)
        if above and not had_it:
            office = org.child_of_kind(there, "petition_office") or there
            out.append(Finding(new.case_id, "skip_level", "above-competent-level",
                               basis=ACT + "第二十条第一款：信访人应当向有权处理的本级或者上一级机关、单位提出（未依法逐级走访）",
                               guidance=f"引导信访人向{org.name(office)}（{office}）反映"))
    q = rules.frequent_petitioner
    since = new.received_at - timedelta(days=q.period_days)
    recent = [o for o in earlier if o.received_at >= since]
    if len(recent) + 1 >= q.cases_at_least:
        out.append(Finding(new.case_id, "frequent_petitioner", "cases-in-period", [o.case_id for o in recent][-100:],
                           basis=f"{q.period_days}日内信访{len(recent) + 1}件（{q.cases_at_least}件以上）"))
    return out


def detect(new: Registration, others: Iterable[Registration], org: OrgTree, rules: Rules) -> list[Finding]:
    """Every finding that ``new`` brings: its own, and those of later registrations it is the
    earlier case of (the detector saw them first). One finding per case and flag, links merged."""
    others = [o for o in others if o.case_id != new.case_id]
    found = single(new, others, org, rules)
    for o in others:
        if o.order < new.order:
            found += pair(new, o, org, rules)
        elif o.detected:  # one not yet examined will find all its earlier cases itself, links and all
            found += pair(o, new, org, rules)
    return merge(found)


def merge(findings: Iterable[Finding]) -> list[Finding]:
    out: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.case_id, f.flag)
        if key in out:
            g = out[key]
            g.linked += [c for c in f.linked if c not in g.linked]
            if f.score is not None and (g.score is None or f.score > g.score):
                g.score = f.score
        else:
            out[key] = Finding(**{**f.__dict__, "linked": list(f.linked)})
    return list(out.values())
