"""Nothing lost, nothing applied twice: consumer crashes, broker restarts, one trace per petition."""

from __future__ import annotations

import json
import time

import psycopg


def _spans(stack) -> list[dict]:
    """Every finished span so far (the exporters may be writing a last line right now)."""
    out = []
    for f in stack.cfg.traces_dir.glob("*.jsonl"):
        for line in f.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def _applied_twice(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM (SELECT event_id FROM reporting.timeline GROUP BY event_id HAVING count(*) > 1) x"
        ).fetchone()[0]


def _register_many(api, petition, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        r = api.register(petition(summary=f"{tag} {i}"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["case_id"])
    return ids


def _all_projected(api, ids: list[str], timeout: float = 60) -> None:
    def check():
        for case_id in ids:
            r = api.call("reporting", "GET", f"/cases/{case_id}", "demo-hq-analyst")
            assert r.status_code == 200, (case_id, r.text)
            c = r.json()
            assert c["status"] == "accepted" and len(c["deadlines"]) == 2, c

    api.eventually(check, timeout=timeout)


def test_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice(api, stack, petition, database_url):
    reporting = stack.procs["reporting"]
    ids = _register_many(api, petition, 40, "kill")
    reporting.kill()  # SIGKILL while the stream is flowing; the launcher starts it again
    ids += _register_many(api, petition, 20, "after-kill")
    _all_projected(api, ids)
    assert reporting.restarts >= 1
    assert _applied_twice(database_url) == 0
    with psycopg.connect(database_url) as conn:
        per_case = conn.execute(
            "SELECT case_id, count(*) FROM reporting.timeline WHERE case_id = ANY(%s::uuid[]) GROUP BY case_id",
            (ids,),
        ).fetchall()
    # registered, assigned, accepted, notice set and met (Art 22, 23), handling set (Art 34):
    # six events per case
    assert sorted({n for _, n in per_case}) == [6]


def test_broker_restart_loses_nothing(api, stack, petition, database_url):
    before = _register_many(api, petition, 10, "before-restart")
    _all_projected(api, before)
    stack.restart_broker()  # memory-only: comes back with no topics, records or offsets
    after = _register_many(api, petition, 10, "after-restart")
    _all_projected(api, before + after, timeout=90)
    assert _applied_twice(database_url) == 0


def test_one_trace_holds_spans_from_all_four_services(api, stack, petition):
    r = api.register(petition())
    case_id = r.json()["case_id"]
    c = api.case_in_reporting(case_id, want=lambda c: len(c["timeline"]) >= 6)
    trace_ids = {t["trace_id"] for t in c["timeline"]}
    assert len(trace_ids) == 1, trace_ids  # every event of the petition carries the same trace
    (trace_id,) = trace_ids

    def spans():
        found = [s for s in _spans(stack) if s["trace_id"] == trace_id]
        services = {s["service"] for s in found}
        assert services == {"intake", "routing", "supervision", "reporting"}, services
        return found

    found = api.eventually(spans)
    kinds = {(s["service"], s["kind"]) for s in found}
    assert {("intake", "SERVER"), ("routing", "CONSUMER"), ("supervision", "CONSUMER"),
            ("reporting", "CONSUMER")} <= kinds, kinds
    # events are published in batches: one PRODUCER span per batch, in or linked to each petition's trace

    def linked():
        published = {s["service"] for s in _spans(stack)
                     if s["kind"] == "PRODUCER" and (s["trace_id"] == trace_id or trace_id in s["links"])}
        assert published == {"intake", "routing", "supervision"}, published

    api.eventually(linked)
    # no personal data in spans
    assert "测试人" not in json.dumps(found, ensure_ascii=False)


def test_supervised_system_survives_services_and_the_broker_being_killed_under_load(api, stack, petition, database_url):
    """Registrations keep arriving (with Idempotency-Keys, retried like a real client would) while a
    service process is SIGKILLed every 2 s and the broker once: the launcher restarts each, and
    every acknowledged petition ends fully projected, once."""
    import random
    import threading
    import time
    import uuid

    import httpx

    stop = threading.Event()
    killed: list[str] = []

    def chaos() -> None:
        rng = random.Random(7)
        started = time.monotonic()
        while not stop.wait(2.0):
            if "broker" not in killed and time.monotonic() - started > 5:
                stack.broker.kill()
                killed.append("broker")
            else:
                name = rng.choice(sorted(stack.procs))
                stack.procs[name].kill()
                killed.append(name)

    tag = uuid.uuid4().hex[:8]
    acked: dict[str, str] = {}
    t = threading.Thread(target=chaos)
    t.start()
    try:
        for i in range(240):  # about 20 s at up to 12/s, longer while intake restarts
            key = f"chaos-{tag}-{i}"
            body = petition(summary=f"chaos {i}")  # a retry sends the very same request
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = api.register(body, headers={"Idempotency-Key": key})
                    if r.status_code == 201:
                        acked[key] = r.json()["case_id"]
                        break
                    assert r.status_code >= 500, r.text  # only the system being down may refuse
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"intake did not come back for {key}"
                time.sleep(0.2)
            time.sleep(0.08)
    finally:
        stop.set()
        t.join()
    assert "broker" in killed and len(killed) >= 5, killed
    assert len(set(acked.values())) == len(acked) == 240
    _all_projected(api, list(acked.values()), timeout=180)
    with psycopg.connect(database_url) as conn:
        per_case = conn.execute(
            "SELECT count(*) FROM reporting.timeline WHERE case_id = ANY(%s::uuid[]) GROUP BY case_id",
            (list(acked.values()),),
        ).fetchall()
        odd = conn.execute(
            "SELECT case_id, array_agg(type || ':' || coalesce(body::json->'data'->>'clock', '') ORDER BY occurred_at) FROM reporting.timeline"
            " WHERE case_id = ANY(%s::uuid[]) GROUP BY case_id HAVING count(*) <> 6", (list(acked.values()),)).fetchall()
    assert sorted({n for (n,) in per_case}) == [6], odd  # nothing applied twice, nothing caused twice


def test_reporting_rebuilt_from_the_event_stores_equals_what_its_consumer_built(api, stack, petition, database_url):
    import subprocess
    import sys

    ids = _register_many(api, petition, 5, "rebuild")
    _all_projected(api, ids)

    def snapshot():
        with psycopg.connect(database_url) as conn:
            views = conn.execute(
                "SELECT to_jsonb(v) - 'updated_at' FROM reporting.case_view v ORDER BY case_id").fetchall()
            rest = [conn.execute(q).fetchall() for q in (
                "SELECT * FROM reporting.case_deadlines ORDER BY case_id, clock",
                # the event as it arrived: the broker's bytes live, the store's text rebuilt; one value
                "SELECT event_id, case_id, type, version, detail, body::jsonb FROM reporting.timeline ORDER BY event_id",
                "SELECT * FROM reporting.alerts ORDER BY alert_id",
                "SELECT * FROM reporting.case_scope ORDER BY case_id",
                # the indicators' counts: kept case by case by the live projector, counted whole by
                # the rebuild (reporting/rollup.py), the same
                "SELECT * FROM reporting.kpi_contributions ORDER BY case_id, kpi_id",
                "SELECT * FROM reporting.kpi_cells WHERE (cases, numerator, denominator, excluded) <> (0, 0, 0, 0)"
                " ORDER BY kpi_id, dim, month, value, class_key",
                "SELECT kpi_id, digest FROM reporting.kpi_definitions ORDER BY kpi_id")]
        return views, rest

    def quiet():  # earlier tests' last events (and supervision's ticks) applied: two snapshots a second apart agree
        first = snapshot()
        time.sleep(1)
        assert snapshot() == first
        return first

    before = api.eventually(quiet, timeout=60)
    assert len(before[1][-1]) >= 9 and before[1][-2]  # every indicator counted, by the live projector
    # chunks of 40 events: the stores are read in many pages, a case's events across two of them,
    # and many chunks written; the default: one chunk. The same read models either way
    for chunk in ("40", "5000"):
        env = {**stack.service_env("reporting"), "XF_REBUILD_CHUNK": chunk}
        r = subprocess.run([sys.executable, "-m", "reporting", "rebuild"], env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert '"events_per_s"' in r.stdout
        after = snapshot()
        assert after[0] == before[0], chunk
        for name, a, b in zip(("deadlines", "timeline", "alerts", "scope", "contributions", "cells", "definitions"),
                              after[1], before[1]):
            assert a == b, (chunk, name, [x for x in a if x not in b][:3], [x for x in b if x not in a][:3])
