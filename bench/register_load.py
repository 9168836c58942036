"""Benchmark (not a test): durable registrations per second and intake -> reporting lag.

    .venv/bin/python bench/register_load.py [--seconds 10] [--rate 200] [--clients 8]

Starts the whole platform (embedded broker, four services, relays, consumers) on a fresh database
and prints one JSON object:
- pg_single_row_commits_per_s: PostgreSQL's own durable single-row commit rate, same machine, same run
- registrations_per_s: closed loop, `clients` concurrent HTTP clients, 201 answers per second
- lag at a steady `rate` registrations/s (open loop): from the registration's commit
  (event occurred_at) to reporting having applied it (timeline.recorded_at), p50/p99, for the
  registration itself and for the whole petition (assignment + both deadlines projected)
Targets: registrations_per_s >= 0.5 x pg_single_row_commits_per_s; lag p99 < 500 ms at 200/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

from stack.system import DEFAULT_PG, SERVICES, Stack, StackConfig, drop_database, ensure_database, free_port

BODY = {
    "channel": "网上信访",
    "received_at": "2026-11-20T09:30:00+08:00",
    "receiving_unit": "S1-XFB",
    "category": "申诉求决类",
    "issue_type": "wages",
    "summary": "基准测试：绩效工资未足额发放",
    "petitioners": [{"name": "基准", "unit": "S1-U2"}],
}
HEADERS = {"Authorization": "Bearer demo-s1-registrar"}


def pg_commit_rate(url: str, seconds: float) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, v text)")
        n, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            conn.execute("INSERT INTO bench_commit (v) VALUES ('x')")  # autocommit: one durable commit
            n += 1
        conn.execute("DROP TABLE bench_commit")
    return n / seconds


def closed_loop(url: str, seconds: float, clients: int) -> tuple[float, int]:
    ok = 0
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def worker():
        nonlocal ok
        with httpx.Client(base_url=url, timeout=30) as c:
            while time.monotonic() < end:
                if c.post("/petitions", json=BODY, headers=HEADERS).status_code == 201:
                    with lock:
                        ok += 1

    t0 = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(worker)
    return ok / (time.monotonic() - t0), ok


def open_loop(url: str, seconds: float, rate: float, clients: int) -> list[str]:
    ids: list[str] = []
    lock = threading.Lock()
    local = threading.local()

    def one():
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=url, timeout=30)
        r = local.c.post("/petitions", json=BODY, headers=HEADERS)
        if r.status_code == 201:
            with lock:
                ids.append(r.json()["case_id"])

    with ThreadPoolExecutor(clients) as pool:
        start = time.monotonic()
        for i in range(int(seconds * rate)):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one)
    return ids


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def lags(url: str, ids: list[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url) as conn:
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT count(DISTINCT case_id) FROM reporting.case_deadlines"
                " WHERE case_id = ANY(%s::uuid[]) AND clock = 'handling'",
                (ids,),
            ).fetchone()[0]
            if done == len(ids):
                break
            time.sleep(0.2)
        rows = conn.execute(
            "SELECT t.case_id, min(t.recorded_at) FILTER (WHERE t.type = 'petition.registered.v1') AS reg_seen,"
            " min(t.occurred_at) FILTER (WHERE t.type = 'petition.registered.v1') AS reg_at,"
            " max(t.recorded_at) AS all_seen, count(*) AS n"
            " FROM reporting.timeline t WHERE t.case_id = ANY(%s::uuid[]) GROUP BY t.case_id",
            (ids,),
        ).fetchall()
    reg = [(r[1] - r[2]).total_seconds() * 1000 for r in rows if r[1] and r[2]]
    full = [(r[3] - r[2]).total_seconds() * 1000 for r in rows if r[2] and r[4] >= 6]
    return {
        "cases": len(ids),
        "fully_projected": len(full),
        "registration_lag_ms": {"p50": round(pct(reg, 50), 1), "p99": round(pct(reg, 99), 1),
                                "max": round(max(reg), 1)} if reg else None,
        "petition_lag_ms": {"p50": round(pct(full, 50), 1), "p99": round(pct(full, 99), 1),
                            "max": round(max(full), 1)} if full else None,
        "mean_ms": round(statistics.mean(reg), 1) if reg else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    server = DEFAULT_PG
    name = f"xf_bench_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server, name)
    root = Path(tempfile.mkdtemp(prefix="xf-bench-"))
    stack = Stack(StackConfig(data_dir=root, database_url=url, broker_port=free_port(),
                              api_ports={s: free_port() for s in SERVICES}, partitions=3))
    try:
        stack.start()
        intake = stack.url("intake")
        commit_rate = pg_commit_rate(url, 3)
        closed_loop(intake, 2, args.clients)  # warm-up
        reg_rate, n = closed_loop(intake, args.seconds, args.clients)
        time.sleep(2)
        ids = open_loop(intake, args.seconds, args.rate, args.clients)
        lag = lags(url, ids)
        out = {
            "machine": "2 cores; broker, PostgreSQL, 11 service processes and the load generator share them",
            "pg_single_row_commits_per_s": round(commit_rate, 1),
            "registrations_per_s": round(reg_rate, 1),
            "registrations_in_closed_loop": n,
            "ratio_to_pg_commit_rate": round(reg_rate / commit_rate, 3),
            "target_ratio": 0.5,
            "steady_rate_per_s": args.rate,
            **lag,
            "target_lag_p99_ms": 500,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    finally:
        stack.stop()
        drop_database(server, name)


if __name__ == "__main__":
    main()
