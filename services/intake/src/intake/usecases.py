"""Intake's use cases: register a petition, read one, list them. Routes only adapt to these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from pydantic import ValidationError
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from backbone import bulk, telemetry, visibility
from backbone.auth import Principal
from backbone.contracts import PetitionMarked, PetitionRegistered
from backbone.eventstore import conflicts_detected
from backbone.envelope import Actor, Envelope, new_envelope
from backbone.errors import Invalid, NotAllowed, case_not_found, checked_case_id, field_error
from backbone.http import IdempotencyKey, require_role
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from . import detection
from .bootstrap import Intake

from .domain import (
    CATEGORY_PLAIN,
    DECLARATION,
    OnlineSubmission,
    PetitionInput,
    RegistrationRejected,
    check,
    format_receipt,
    petitioner_keys,
    receipt_code,
    registered_event,
)

_REGISTRATION = bulk.insert("registrations", ("case_id", "received_at", "issue_type", "keys", "receiving_unit", "channel",
                                              "competent", "petitioner_count", "involved_count", "sig", "bands",
                                              "sig_hash"))

_KEYS = bulk.insert("registration_keys", ("key", "received_at", "case_id"), "ON CONFLICT DO NOTHING")

IDENTITY_ROLES = ("registrar", "handler", "leader")  # may read who the petitioners are
CONTENT_ROLES = (*IDENTITY_ROLES, "supervisor")  # may read what the petition says


@dataclass(frozen=True)
class Registered:
    status: int
    body: dict[str, Any]
    replayed: bool = False


async def register(
    app: Intake, pool: AsyncConnectionPool, cmd: PetitionInput, by: Principal, scope: Scope, idempotency_key: str | None
) -> Registered:
    """登记 by a registrar, at a unit in the registrar's scope."""
    require_role(by, "registrar")
    if cmd.receiving_unit in app.ctx.org and not scope.allows(visibility.CaseUnits(cmd.receiving_unit, None, None)):
        raise NotAllowed("登记单位不在本账号的管辖范围内", field="receiving_unit")
    key = IdempotencyKey(by, idempotency_key, cmd.model_dump(mode="json")) if idempotency_key else None
    return await _record(app, pool, cmd, Actor(by.id, by.unit, by.role), key)


PORTAL = "portal"  # the actor of a petition a petitioner submitted online themselves


async def submit_online(app: Intake, pool: AsyncConnectionPool, sub: OnlineSubmission) -> Registered:
    """网上信访 through the platform's portal: the petitioner registers it, with the truthfulness
    declaration (Art 19 ¶2), and gets the case number and query code at once (Art 21 ¶2)."""
    org = app.ctx.org
    if sub.receiving_unit not in org or org.get(sub.receiving_unit).kind != "petition_office":
        raise Invalid("请求中有字段不合格", fields=[{"field": "receiving_unit", "type": "rule",
                                                "message": "请选择一个信访工作机构",
                                                "message_en": "choose a petition office"}])
    try:
        cmd = sub.petition(datetime.now(UTC), app.documents)
    except ValidationError as e:  # the person's fields, checked as a registrar's would be
        raise Invalid("请求中有字段不合格", fields=[
            field_error({**err, "loc": err["loc"][2:] or ("petitioner",)}) for err in e.errors(include_url=False)]) from None
    return await _record(app, pool, cmd, Actor(PORTAL, sub.receiving_unit, "petitioner"), None)


async def _record(app: Intake, pool: AsyncConnectionPool, cmd: PetitionInput, actor: Actor,
                  key: IdempotencyKey | None) -> Registered:
    """One statement records the event, its outbox row, who may see the case, what detection
    matches on and the Idempotency-Key's answer: all or nothing, one round trip to PostgreSQL."""
    org = app.ctx.org
    try:
        check(cmd, org, app.issue_types, datetime.now(UTC))
    except RegistrationRejected as e:
        raise Invalid("请求中有字段不合格", fields=e.fields) from None
    case_id = str(uuid.uuid4())
    case_no = await app.numbers.next(pool, cmd.received_at)
    receipt = receipt_code(app.receipt_key, case_id)  # every petitioner follows the case with it
    keys = petitioner_keys(app.match_key, cmd.petitioners)
    event = registered_event(cmd, case_id=case_id, case_no=case_no, org=org, sealer=app.sealer, receipt=receipt,
                             keys=keys)
    env = new_envelope(event, subject=case_id, sequence=1, actor=actor, traceparent=telemetry.current_traceparent())
    # what is kept for an Idempotency-Key replay holds no receipt code: that is derived again
    answer = {"case_id": case_id, "case_no": case_no, "status_path": "/public/status"}
    text = detection.signature(cmd.summary, app.rules.duplicate_text)  # for 一信多投: the text itself is not kept here
    registration = (_REGISTRATION, [bulk.rows([{
        "case_id": case_id, "received_at": event.received_at, "issue_type": event.issue_type, "keys": keys,
        "receiving_unit": event.receiving_unit, "channel": event.channel,
        "competent": org.subsidiary_of(event.petitioner_unit) if event.petitioner_unit else None,
        "petitioner_count": event.petitioner_count, "involved_count": event.involved_count,
        "sig": list(text.values) or None, "bands": list(text.bands), "sig_hash": text.key}])])
    persons = [(_KEYS, [bulk.rows({"key": k, "received_at": event.received_at, "case_id": case_id} for k in keys)])] if keys else []
    also = ([key.insert(201, answer)] if key else []) + [registration, *persons] + visibility.statements([env])
    async with pool.connection() as conn:
        try:
            cur = await conn.execute(*app.ctx.store.write_statement([env], *also))
            positions = (await cur.fetchone())[0]
        except psycopg.errors.UniqueViolation as e:
            if key is None or e.diag.constraint_name != "idempotency_keys_pkey":
                raise
            stored = await key.stored(conn)  # a request with the same key committed first
            assert stored is not None
            return Registered(stored[0], _with_receipt(app, stored[1]), replayed=True)
    app.ctx.store.published([env], positions)
    return Registered(201, _with_receipt(app, answer))


def portal_options(app: Intake) -> dict:
    """What the portal's form offers: petition offices, issue types, categories, units."""
    org = app.ctx.org
    return {
        "offices": [{"id": u.id, "name": u.name} for u in org.units.values() if u.kind == "petition_office"],
        "issue_types": [{"id": i, "name": n} for i, n in app.issue_names.items()],
        "categories": [{"id": c, "name": n} for c, n in CATEGORY_PLAIN.items()],
        "units": [{"id": u.id, "name": u.name} for u in org.units.values() if u.kind not in ("union", "government")],
        "declaration": DECLARATION,
    }


# the registration's fields each shared field opens to a party (the rest is null)
_SHARED = {"case_no": ("case_no",), "subsidiary": ("subsidiary",), "issue_type": ("issue_type",),
           "category": ("category",), "channel": ("channel",), "received_at": ("received_at",),
           "involved_count": ("involved_count",), "petitioner_count": ("petitioner_count", "person_times")}


def _for_party(app: Intake, p: PetitionRegistered, out: dict, fields: frozenset[str]) -> dict:
    keep = {"case_id", "version", *(k for f in fields for k in _SHARED.get(f, ()))}
    shown = {k: (v if k in keep else None) for k, v in out.items()}
    shown["accused_principals"] = []
    shown["petitioner_keys"] = []
    shown["summary"] = app.sealer.open(p.case_id, p.summary_sealed) if "summary" in fields else None
    people = app.sealer.open(p.case_id, p.petitioners_sealed) if p.petitioners_sealed else []
    contact = ("name", "phone", "address") if "contact" in fields else ()
    ids = ("id_type", "id_number") if "id_number" in fields else ()
    shown["petitioners"] = [{k: x.get(k) for k in (*contact, *ids)} for x in people] if contact or ids else None
    shown["identity_shown"] = bool(contact or ids)
    return shown


def _with_receipt(app: Intake, answer: dict) -> dict:
    code = receipt_code(app.receipt_key, answer["case_id"]) if answer.get("status_path") else None
    return {**answer, "receipt_code": format_receipt(code) if code else None}


_READ = (
    "SELECT e.body::text, (SELECT max(version) FROM events v WHERE v.stream_id = e.stream_id) AS version, s.shared"
    " FROM events e JOIN case_scope s ON s.case_id = e.stream_id::uuid"
    " WHERE e.stream_id = %(case_id)s AND e.version = 1 AND {scope}"
)


async def petition(app: Intake, pool: AsyncConnectionPool, case_id: str, by: Principal, scope: Scope) -> dict:
    """The registration as entered; identity and content only for the roles that need them."""
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    async with pool.connection() as conn:
        cur = await conn.execute(sql.SQL(_READ).format(scope=pred), {**params, "case_id": case_id})
        row = await cur.fetchone()
    if row is None:
        raise case_not_found(case_id)  # 404, not 403: do not confirm that it exists
    p: PetitionRegistered = Envelope.decode(row[0]).payload
    out = p.model_dump(mode="json", exclude={"petitioners_sealed", "summary_sealed", "receipt_code_hash",
                                             "details_sealed"})
    out["version"] = row[1]
    fields = scope.shared_fields(row[2])
    if fields is not None:  # 厂地联动: a party gets the shared fields only, in the same shape
        return _for_party(app, p, out, fields)
    content = by.role in CONTENT_ROLES or by.role == "admin"
    out["summary"] = app.sealer.open(case_id, p.summary_sealed) if content else None
    out["details"] = app.sealer.open(case_id, p.details_sealed) if content and p.details_sealed else None
    identity = by.role in IDENTITY_ROLES or by.role == "admin"
    out["petitioners"] = app.sealer.open(case_id, p.petitioners_sealed) if identity and p.petitioners_sealed else None
    out["identity_shown"] = identity
    return out


_LIST = (
    "SELECT s.case_id, s.received_at, e.body::text, s.shared FROM case_scope s JOIN events e ON e.stream_id = s.case_id::text"
    " AND e.version = 1 WHERE s.received_at IS NOT NULL AND {scope} {after}"
    " ORDER BY s.received_at DESC, s.case_id DESC LIMIT %(limit)s"
)


async def petitions(app: Intake, pool: AsyncConnectionPool, scope: Scope, limit: int, after: str | None) -> dict:
    """Registrations in the principal's scope, newest first; never identity or content."""
    cursor = decode_cursor(after)
    pred, params = scope.where("s")
    page = sql.SQL("AND (s.received_at, s.case_id) < (%(at)s, %(id)s::uuid)") if cursor else sql.SQL("")
    params.update(limit=min(limit, MAX_LIMIT), at=cursor[0] if cursor else None, id=cursor[1] if cursor else None)
    async with pool.connection() as conn:
        cur = await conn.execute(sql.SQL(_LIST).format(scope=pred, after=page), params)
        rows = await cur.fetchall()
    items = []
    for _, _, body, shared in rows:
        p = Envelope.decode(body).payload
        item = p.model_dump(mode="json", include={"case_id", "case_no", "channel", "received_at", "receiving_unit",
                                                  "subsidiary", "category", "issue_type", "anonymous",
                                                  "petitioner_count", "involved_count"})
        fields = scope.shared_fields(shared)
        if fields is not None:
            keep = {"case_id", *(k for f in fields for k in _SHARED.get(f, ()))}
            item = {k: (v if k in keep else None) for k, v in item.items()}
        items.append(item)
    return {"count": len(items), "items": items, "next": next_cursor(rows, params["limit"], lambda r: (r[1], r[0]))}



async def mark(app: Intake, pool: AsyncConnectionPool, case_id: str, mark_: str, value: bool, reason: str,
               by: Principal, scope: Scope) -> dict:
    """扬言: staff set or clear the mark, with a reason (sealed), on a case they may see."""
    require_role(by, *IDENTITY_ROLES)
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    async with pool.connection() as conn:
        cur = await conn.execute(sql.SQL(
            "SELECT max(e.version) FROM events e JOIN case_scope s ON s.case_id = e.stream_id::uuid"
            " WHERE e.stream_id = %(case_id)s AND {scope}").format(scope=pred), {**params, "case_id": case_id})
        version = (await cur.fetchone())[0]
        if version is None:
            raise case_not_found(case_id)
        event = PetitionMarked(case_id=case_id, mark=mark_, value=value, reason_sealed=app.sealer.seal(case_id, reason))
        env = new_envelope(event, subject=case_id, sequence=version + 1, actor=Actor(by.id, by.unit, by.role),
                           traceparent=telemetry.current_traceparent())
        with conflicts_detected():
            cur = await conn.execute(*app.ctx.store.write_statement([env]))
            positions = (await cur.fetchone())[0]
    app.ctx.store.published([env], positions)
    return {"case_id": case_id, "mark": mark_, "value": value, "version": version + 1}


def classification_suggestion(app: Intake, summary: str, by: Principal) -> dict:
    """依法分类: the issue type and category the summary suggests, for the registrar to confirm."""
    require_role(by, *IDENTITY_ROLES)
    guess = app.classifier.suggest(summary)
    return {"issue_type": [{"id": g.value, "name": app.issue_names.get(g.value, g.value), "probability": g.probability}
                           for g in guess["issue_type"]],
            "category": [{"id": g.value, "probability": g.probability} for g in guess["category"]],
            "note": "系统建议，须登记人确认（不作为决定）"}
