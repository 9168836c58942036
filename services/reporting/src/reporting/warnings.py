"""Early warnings over the stream of registrations (deploy/seed/warnings.yaml).

集体访苗头: N petitions on one issue type from one unit (the petitioners' own) within a window of
days, by the time each was received. The windows live in memory, as a stream processor's state
does, and are written to ``warning_window`` with every batch, from which they are read back when
the consumer starts: the consumer's transaction keeps the state, the alerts and the positions
together (see the README on why this is not a faust agent).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from backbone import bulk
from backbone.contracts import AlertRaised, PetitionRegistered
from backbone.envelope import Envelope

CHINA = ZoneInfo("Asia/Shanghai")
NAMESPACE = uuid.UUID("5b0c3a8e-63a4-4c8e-9a4c-2f6f0d6d8a11")


class CollectiveSign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    petitions_at_least: int = Field(default=5, ge=2, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)


class WarningRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collective_sign: CollectiveSign = CollectiveSign()


def collective_sign(window: list[tuple[datetime, str]], rule: CollectiveSign) -> list[str] | None:
    """The cases of the densest stretch of ``window_days`` ending at the latest one, if it holds
    the threshold (pure)."""
    if not window:
        return None
    latest = max(t for t, _ in window)
    inside = sorted((t, c) for t, c in window if latest - timedelta(days=rule.window_days) < t <= latest)
    return [c for _, c in inside] if len(inside) >= rule.petitions_at_least else None


_SAVE = bulk.insert("warning_window", ("case_id", "unit", "issue_type", "received_at"), "ON CONFLICT DO NOTHING")
_ALERTS = bulk.insert("alerts", ("alert_id", "kind", "unit", "case_id", "raised_at", "message"), "ON CONFLICT DO NOTHING")


class Warnings:
    emits = True
    wants = (PetitionRegistered,)

    def __init__(self, rules: WarningRules, petition_office_of):
        self.rules = rules
        self.office_of = petition_office_of  # the unit whose people must act on a warning
        self.windows: dict[tuple[str, str], list[tuple[datetime, str]]] | None = None
        self.raised: set[str] = set()  # alert ids committed (read again with every batch)
        self._new: list[dict] = []
        self._alerts: list[dict] = []
        # a rebuild does not decide warnings again: they are facts in reporting's store (RESTORE)
        self.rebuilding = False

    def load(self, case_ids):
        """Every batch reads which warnings are committed (so a batch rolled back and tried again
        raises its warning again); the first also reads the windows back."""
        self._new, self._alerts = [], []
        days = self.rules.collective_sign.window_days * 4
        out = [("SELECT alert_id::text FROM alerts WHERE kind = 'collective_sign'"
                f" AND raised_at > now() - interval '{days} days'", [])]
        if self.windows is None:
            out.append((f"SELECT unit, issue_type, received_at, case_id::text FROM warning_window"
                        f" WHERE received_at > now() - interval '{days} days'", []))
        return out

    def states(self, rows):
        self.raised = {r[0] for r in rows[0]}
        if self.windows is None:
            self.windows = defaultdict(list)
            for unit, issue, at, case_id in rows[1]:
                self.windows[(unit, issue)].append((at, case_id))
        return {}

    def apply(self, state, env: Envelope):
        p: PetitionRegistered = env.payload
        unit = p.petitioner_unit
        if unit is None:
            return state, []
        key = (unit, p.issue_type)
        window = self.windows[key]
        if not any(c == env.subject for _, c in window):
            window.append((p.received_at, env.subject))
        # written again on a retried batch (ON CONFLICT DO NOTHING); a new state makes the consumer save
        self._new.append({"case_id": env.subject, "unit": unit, "issue_type": p.issue_type, "received_at": p.received_at})
        state = {"counted": True}
        rule = self.rules.collective_sign
        cases = collective_sign(window, rule)
        if not cases:
            return state, []
        # one warning per burst: named by its first case, so a longer burst does not raise it again
        alert_id = str(uuid.uuid5(NAMESPACE, f"collective_sign:{unit}:{p.issue_type}:{cases[0]}"))
        if alert_id in self.raised or any(a["alert_id"] == alert_id for a in self._alerts):
            return state, []
        first = min(t for t, c in window if c == cases[0])
        message = (f"集体访苗头：{unit} 单位「{p.issue_type}」问题 {len(cases)} 件（{rule.window_days}日内"
                   f"{rule.petitions_at_least}件即预警，自{first.astimezone(CHINA).date()}起）")
        act = self.office_of(unit)
        self.raised.add(alert_id)
        alert = AlertRaised(alert_id=alert_id, kind="collective_sign", unit=act, case_ids=cases[-1000:],
                            raised_at=p.received_at, message=message)
        self._alerts.append({"alert_id": alert_id, "kind": "collective_sign", "unit": act, "case_id": env.subject,
                             "raised_at": p.received_at, "message": message})
        return state, [alert]

    def save(self, states):
        out = []
        if self._new:
            out.append((_SAVE, [bulk.rows(self._new)]))
        if self._alerts and not self.rebuilding:
            out.append((_ALERTS, [bulk.rows(self._alerts)]))
        return out


# what a rebuild starts from: the windows empty, and the warnings raised as reporting's store has them
RESTORE = (
    "TRUNCATE warning_window;"
    " DELETE FROM alerts WHERE kind = 'collective_sign';"
    " INSERT INTO alerts (alert_id, kind, unit, case_id, raised_at, message)"
    " SELECT (body->'data'->>'alert_id')::uuid, 'collective_sign', body->'data'->>'unit', stream_id::uuid,"
    "        (body->'data'->>'raised_at')::timestamptz, body->'data'->>'message'"
    "   FROM events WHERE event_type = 'alert.raised.v1' AND body->'data'->>'kind' = 'collective_sign'"
    " ON CONFLICT DO NOTHING"
)
