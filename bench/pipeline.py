"""Benchmark (not a test): the figures issue 5 asks for, from one run on one machine, as JSON.

    ./dev bench                 (installs wrk and bench/requirements.txt, then runs this)
    .venv/bin/python bench/pipeline.py [--steady-seconds 60] [--quick]

Everything runs in the same sitting on the same machine, one after another:
- load generator ceiling: wrk against a no-op FastAPI endpoint (the generator is not the bottleneck);
- PostgreSQL's single-row durable commit rate (one connection, autocommit);
- baseline: a plain FastAPI + one INSERT + COMMIT endpoint (bench/baselines/plain_app.py), wrk;
- peer: the same save path in the ``eventsourcing`` library on the same PostgreSQL
  (bench/baselines/es_app.py), wrk, same concurrency;
- registrations/s over HTTP (wrk, closed loop) while the whole pipeline runs (embedded stack);
- projection lag at a steady rate (open loop on a fixed schedule, bench/load/open_loop.py) for
  --steady-seconds: from the client receiving the acknowledgement to the moment reporting has
  written the petition's assignment and both deadlines; p50/p90/p99/max;
- the highest steady rate whose lag p99 stays under 1 s (rates tried in steps);
- catch-up after a broker restart with >= 100,000 events in the stores: seconds until a petition
  registered right after the restart is fully projected (relays republish, consumers re-read);
- a projection rebuild from the event stores (python -m reporting rebuild): events/s;
- CPU per petition of each process during the steady run, and resident memory after the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from stack.system import DEFAULT_PG, REPO, SERVICES, Stack, StackConfig, drop_database, ensure_database, free_port, wait_until

BENCH = REPO / "bench"
LOAD = BENCH / "load"
CONNECTIONS, THREADS = 16, 2
TOKEN = "Bearer demo-s1-registrar"
BODY = json.dumps({"channel": "网上信访", "received_at": datetime.fromtimestamp(time.time() - 3600, UTC).isoformat(),
                   "receiving_unit": "S1-XFB", "category": "申诉求决类", "issue_type": "wages",
                   "summary": "基准测试：探测", "petitioners": [{"name": "基准", "unit": "S1-U2"}]}, ensure_ascii=False)


class _Skip(Exception):
    pass


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


# -- load generators ---------------------------------------------------------------------------------


def cpu_speed() -> float:
    """Seconds one core takes for a fixed pure-Python loop (20 million additions): these machines'
    speed varies by half or more between sittings, so figures are compared with it beside them."""
    t = time.perf_counter()
    s = 0
    for i in range(20_000_000):
        s += i
    return round(time.perf_counter() - t, 2)


def wrk(url: str, seconds: int, script: Path | None = None) -> dict:
    cmd = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {"requests_per_s": round(rate, 1), "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "latency_p99_ms": round(float(p99.group(1)) * scale[p99.group(2)], 1) if p99 else None}


def open_loop(url: str, rate: int, seconds: int) -> dict:
    """``rate`` registrations/s for ``seconds`` on a fixed schedule (bench/load/open_loop.py, its own
    process); returns its report, the acknowledgements (case id, time) and its own CPU seconds."""
    p = subprocess.Popen([sys.executable, str(LOAD / "open_loop.py"), url, str(rate), str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    before = os.times()
    out, _ = p.communicate()
    after = os.times()  # children's CPU: the generator is the only child that ends here
    return json.loads(out) | {"generator_cpu_s": round(after.children_user + after.children_system
                                                       - before.children_user - before.children_system, 2)}


def uvicorn_app(module: str, port: int, env: dict) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", module, "--port", str(port), "--log-level", "warning",
                          "--no-access-log"], cwd=REPO, env={**os.environ, **env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/docs"), 60, module)
    return p


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


# -- measurements --------------------------------------------------------------------------------------


def pg_commit_rate(url: str, seconds: float) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, v text)")
        n, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            conn.execute("INSERT INTO bench_commit (v) VALUES ('x')")  # autocommit: one durable commit
            n += 1
        conn.execute("DROP TABLE bench_commit")
    return round(n / seconds, 1)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 1)


# what the headquarters view needs of a petition: its assignment, its notice clock and its handling clock
WANTED = ("case.assigned.v1", "deadline.set.v1:acceptance_notice", "deadline.set.v1:handling")
LAG = """
WITH a AS (SELECT * FROM json_to_recordset(%s::json) AS a(case_id uuid, acked float8))
SELECT a.case_id, extract(epoch FROM max(t.recorded_at)) * 1000 - a.acked * 1000 AS lag_ms,
       count(DISTINCT t.type || coalesce(':' || (t.body::json->'data'->>'clock'), '')) AS parts,
       extract(epoch FROM max(t.recorded_at) - min(e.occurred_at)) * 1000 AS server_lag_ms
  FROM a LEFT JOIN reporting.timeline t ON t.case_id = a.case_id AND (t.type = 'case.assigned.v1'
       OR (t.type = 'deadline.set.v1' AND t.body::json->'data'->>'clock' IN ('acceptance_notice', 'handling')))
  LEFT JOIN intake.events e ON e.stream_id = a.case_id::text AND e.version = 1
 GROUP BY a.case_id, a.acked
"""


def lags(db: str, acks: list, timeout: float = 90) -> dict:
    """From each acknowledgement to the moment reporting had the petition's assignment, its notice
    clock and its handling clock (WANTED)."""
    param = json.dumps([{"case_id": c, "acked": t} for c, t in acks])
    deadline = time.monotonic() + timeout
    with psycopg.connect(db, autocommit=True) as conn:
        while True:
            rows = conn.execute(LAG, (param,)).fetchall()
            done = [r for r in rows if r[2] >= len(WANTED)]
            if len(done) == len(rows) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    xs = [max(0.0, float(r[1])) for r in done]
    server = [float(r[3]) for r in done]
    return {"petitions": len(rows), "fully_projected": len(done),
            "lag_ms": {"p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99), "max": round(max(xs), 1)} if xs else None,
            # the same, from the registration event's time (stamped in intake just before its commit)
            "server_lag_ms": {"p50": pct(server, 50), "p99": pct(server, 99)} if server else None}


def store_events(db: str) -> int:
    with psycopg.connect(db) as conn:
        return sum(conn.execute(f"SELECT count(*) FROM {s}.events").fetchone()[0] for s in SERVICES)


def drained(db: str) -> bool:
    """Reporting has applied every event the three producing stores hold."""
    with psycopg.connect(db) as conn:
        produced = sum(conn.execute(f"SELECT count(*) FROM {s}.events").fetchone()[0]
                       for s in ("intake", "routing", "supervision"))
        applied = conn.execute("SELECT count(*) FROM reporting.timeline").fetchone()[0]
    return applied >= produced


# each consumer and the stores whose events it reads (at least: the detector also reads supervision's
# milestones, a part of its store)
CONSUMES = {"intake.detector": ("intake", "routing"), "routing.router": ("intake",),
            "supervision.clocks": ("intake", "routing"), "reporting.projector": ("intake", "routing", "supervision"),
            "reporting.warnings": ("intake", "supervision")}


def relay_epochs(db: str) -> set[str]:
    with psycopg.connect(db) as conn:
        return {r[0] for s in ("intake", "routing", "supervision")
                for r in conn.execute(f"SELECT broker_epoch FROM {s}.relay_state").fetchall()}


def caught_up(db: str, before: set[str], stored: dict[str, int]) -> bool:
    """Every relay has republished to the new broker, and every consumer has read, in its epoch,
    as many records as its source stores held at the restart (the republished history)."""
    epochs = relay_epochs(db)
    if len(epochs) != 1 or epochs & before:
        return False
    epoch = epochs.pop()
    with psycopg.connect(db) as conn:
        for consumer, sources in CONSUMES.items():
            read = conn.execute(f"SELECT coalesce(sum(next_offset), 0) FROM {consumer.split('.')[0]}.consumer_positions"
                                " WHERE consumer = %s AND epoch = %s", (consumer, epoch)).fetchone()[0]
            if read < sum(stored[s] for s in sources):
                return False
    return True


def store_counts(db: str) -> dict[str, int]:
    with psycopg.connect(db) as conn:
        return {s: conn.execute(f"SELECT count(*) FROM {s}.events").fetchone()[0] for s in SERVICES}


def cpu_seconds(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:
        return 0.0


def postgres_cpu() -> float:
    pids = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout.split()
    return sum(cpu_seconds(int(p)) for p in pids)


def postgres_cpu_by_role(db: str) -> dict[str, float]:
    """PostgreSQL's CPU so far per connection role (application_name, e.g. xf-reporting-api): which
    service's statements the server spends its time on. Backends of pooled connections live long."""
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT pid, coalesce(nullif(application_name, ''), backend_type) FROM pg_stat_activity"
                            " WHERE pid <> pg_backend_pid()").fetchall()
    out: dict[str, float] = {}
    for pid, role in rows:
        out[role] = out.get(role, 0.0) + cpu_seconds(pid)
    return out


def profile(pids: dict[str, int], into: Path, seconds: int) -> list[subprocess.Popen]:
    """py-spy on each service process (not the broker) for the steady run: into/<process>.txt, one
    collapsed stack per line with its sample count (py-spy's raw format)."""
    into.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return [subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "50", "-f", "raw", "--nonblocking", "--gil",
                              "-o", str(into / f"{name}.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items() if name != "broker"]


def processes(stack: Stack) -> dict[str, int]:
    out = {name: p.popen.pid for name, p in stack.procs.items()}
    out["broker"] = stack.broker.popen.pid
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        return None
    return None


def probe_projected(api: str, reporting: str) -> float:
    """Register one petition now; seconds until reporting shows it with assignment and both deadlines."""
    t0 = time.monotonic()
    while True:  # the API may itself still be reconnecting
        try:
            r = httpx.post(api + "/petitions", content=BODY, headers={"Authorization": TOKEN,
                                                                      "Content-Type": "application/json"}, timeout=10)
            if r.status_code == 201:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    case_id = r.json()["case_id"]
    while True:
        c = httpx.get(f"{reporting}/cases/{case_id}", headers={"Authorization": "Bearer demo-hq-analyst"}, timeout=10)
        if c.status_code == 200 and c.json()["assigned_unit"] and {"acceptance_notice", "handling"} <= {
                d["clock"] for d in c.json()["deadlines"]}:
            return time.monotonic() - t0
        time.sleep(0.1)


# -- the run ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steady-rate", type=int, default=200)
    ap.add_argument("--steady-seconds", type=int, default=60)
    ap.add_argument("--closed-seconds", type=int, default=10)
    ap.add_argument("--ramp", default="250,300,350,400,450,500,600", help="rates tried for the p99 < 1 s search")
    ap.add_argument("--ramp-seconds", type=int, default=20)
    ap.add_argument("--store-events", type=int, default=100_000, help="events in the stores before the broker restart")
    ap.add_argument("--quick", action="store_true", help="short runs, to check the harness")
    ap.add_argument("--partitions", type=int, default=3, help="partitions per topic (the embedded default is 3)")
    ap.add_argument("--profile", type=Path, help="py-spy raw profiles of every service process during the steady run, here")
    ap.add_argument("--env", action="append", default=[], help="XF_NAME=value given to every service (experiments)")
    ap.add_argument("--only", default="baselines,registrations,steady,ramp,restart,rebuild",
                    help="comma-separated sections to run")
    ap.add_argument("--keep-database", action="store_true", help="leave the run's database behind (its name on stderr)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if args.quick:
        args.steady_seconds, args.closed_seconds, args.ramp, args.ramp_seconds, args.store_events = 10, 4, "300", 8, 5000
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: run ./dev bench (it installs wrk from Debian)")
    out: dict = {"machine": f"{os.cpu_count()} cores; PostgreSQL, the broker, the services and the load generator share them",
                 "python_loop_s_before": cpu_speed(),
                 "load_generator": f"wrk -t{THREADS} -c{CONNECTIONS} (closed loop); bench/load/open_loop.py (open loop, fixed schedule)"}
    name = f"xf_bench_{uuid.uuid4().hex[:8]}"
    db = ensure_database(DEFAULT_PG, name)
    root = Path(tempfile.mkdtemp(prefix="xf-bench-"))
    try:
        # 1. baselines, nothing else running
        plain_port, es_port = free_port(), free_port()
        if "baselines" not in only:
            plain_port = None
        plain = uvicorn_app("bench.baselines.plain_app:app", plain_port, {"BENCH_DATABASE_URL": db}) if plain_port else None
        try:
            if plain is None:
                raise _Skip
            out["generator_ceiling_noop"] = wrk(f"http://127.0.0.1:{plain_port}/noop", 5)
            log("no-op", out["generator_ceiling_noop"])
            out["pg_single_row_commits_per_s"] = pg_commit_rate(db, 5)
            log("pg", out["pg_single_row_commits_per_s"])
            out["plain_fastapi_insert_commit"] = wrk(f"http://127.0.0.1:{plain_port}/items", 10, LOAD / "plain.lua")
            log("plain", out["plain_fastapi_insert_commit"])
            es = uvicorn_app("bench.baselines.es_app:app", es_port, {"BENCH_DATABASE_URL": db})
            try:
                out["eventsourcing_library_save"] = wrk(f"http://127.0.0.1:{es_port}/petitions", 10, LOAD / "es.lua")
                log("eventsourcing", out["eventsourcing_library_save"])
            finally:
                stop(es)
        except _Skip:
            pass
        finally:
            if plain is not None:
                stop(plain)

        # 2. the platform, embedded defaults
        extra = dict(kv.split("=", 1) for kv in args.env)
        stack = Stack(StackConfig(data_dir=root, database_url=db, broker_port=free_port(), extra_env=extra,
                                  api_ports={s: free_port() for s in SERVICES}, partitions=args.partitions,
                                  traces_dir=root / "traces"))
        stack.start()
        try:
            api, reporting = stack.url("intake"), stack.url("reporting")
            probe_projected(api, reporting)  # consumers have joined their groups
            wrk(api + "/petitions", 3, LOAD / "register.lua")  # warm-up
            wait_until(lambda: drained(db), 120, "the warm-up to drain")
            out["targets"] = {"ratio_to_plain_fastapi": 0.5, "ratio_to_eventsourcing": 2.0, "steady_lag_p50_ms": 100,
                              "steady_lag_p99_ms": 500, "max_rate_p99_under_1s": 300, "rebuild_events_per_s": 20_000}
            if "registrations" in only:
                t0 = time.time()
                reg = wrk(api + "/petitions", args.closed_seconds, LOAD / "register.lua")
                wait_until(lambda: drained(db), 300, "the pipeline to drain")
                reg["pipeline_drained_after_s"] = round(time.time() - t0 - args.closed_seconds, 1)
                out["registrations_while_pipeline_runs"] = reg
                log("registrations", reg)
                if "plain_fastapi_insert_commit" in out:
                    base = out["plain_fastapi_insert_commit"]["requests_per_s"]
                    out["ratio_to_plain_fastapi"] = round(reg["requests_per_s"] / base, 3)
                    out["ratio_to_pg_commit_rate"] = round(reg["requests_per_s"] / out["pg_single_row_commits_per_s"], 3)
                    out["ratio_to_eventsourcing"] = round(
                        reg["requests_per_s"] / out["eventsourcing_library_save"]["requests_per_s"], 2)

            # 3. steady rate, open loop
            pids = processes(stack)
            if "steady" not in only:
                args.steady_seconds = 0
            cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
            pg0 = postgres_cpu()
            roles0 = postgres_cpu_by_role(db)
            spies = profile(pids, args.profile, args.steady_seconds) if args.profile and args.steady_seconds else []
            steady = open_loop(api + "/petitions", args.steady_rate, args.steady_seconds) if args.steady_seconds else {}
            steady.update(lags(db, steady.pop("acks", [])) if args.steady_seconds else {"fully_projected": 0})
            n = steady["fully_projected"] or 1
            cpu = {k: round((cpu_seconds(p) - cpu0[k]) / n * 1000, 2) for k, p in pids.items()}
            cpu["postgres"] = round((postgres_cpu() - pg0) / n * 1000, 2)
            steady["cpu_ms_per_petition"] = {**cpu, "total": round(sum(cpu.values()), 2)}
            for spy in spies:
                spy.wait(timeout=60)
            roles = {k: round((v - roles0.get(k, 0.0)) / n * 1000, 2) for k, v in postgres_cpu_by_role(db).items()}
            steady["postgres_cpu_ms_per_petition_by_connection"] = dict(sorted(
                ((k, v) for k, v in roles.items() if v >= 0.01), key=lambda kv: -kv[1]))
            if args.steady_seconds:
                out[f"steady_{args.steady_rate}_per_s"] = steady
                log("steady", steady)

            # 4. the highest steady rate with p99 < 1 s
            best = None
            ramp = []
            for rate in [int(r) for r in args.ramp.split(",")] if "ramp" in only else []:
                wait_until(lambda: drained(db), 300, "the pipeline to drain")
                load = open_loop(api + "/petitions", rate, args.ramp_seconds)
                acks = load.pop("acks")
                res = {"rate": rate, **load, **lags(db, acks, timeout=60)}
                ramp.append(res)
                log("ramp", res)
                ok = res["lag_ms"] and res["lag_ms"]["p99"] < 1000 and res["fully_projected"] == res["petitions"]
                ok = ok and load["acknowledged"] == load["sent"] and load["sent_late_by_generator"] < 0.01 * load["sent"]
                if not ok:
                    break
                best = rate
            out["ramp"] = ramp
            out["max_steady_rate_with_p99_under_1s"] = best

            # 5. catch-up after a broker restart with >= store_events events in the stores
            if "restart" not in only:
                args.store_events = 0
            wait_until(lambda: drained(db), 300, "the pipeline to drain")
            while store_events(db) < args.store_events:
                wrk(api + "/petitions", 10, LOAD / "register.lua")
                wait_until(lambda: drained(db), 600, "the pipeline to drain")
            if "restart" in only:
                with psycopg.connect(db) as conn:
                    missing = [c for c in CONSUMES if not conn.execute(
                        f"SELECT 1 FROM {c.split('.')[0]}.consumer_positions WHERE consumer = %s LIMIT 1", (c,)).fetchone()]
                if missing:  # a consumer renamed or gone: its catch-up would be waited for in vain
                    raise SystemExit(f"bench/pipeline.py CONSUMES names consumers that never ran: {missing}")
                counts, before = store_counts(db), relay_epochs(db)
                events = sum(counts.values())
                log("stores hold", events, "events; restarting the broker")
                t0 = time.monotonic()
                stack.restart_broker()
                first = probe_projected(api, reporting)
                first_at = time.monotonic() - t0
                wait_until(lambda: caught_up(db, before, counts), 900, "every consumer to read the republished history")
                out["broker_restart_catch_up"] = {
                    "events_in_stores": events,
                    "seconds_until_every_consumer_has_read_the_whole_history": round(time.monotonic() - t0, 1),
                    "seconds_until_a_new_petition_is_fully_projected": round(first_at, 1),
                    "that_petition_took_s": round(first, 1),
                }
                log("catch-up", out["broker_restart_catch_up"])

            # 6. rebuild reporting from the event stores, with the system running
            if "rebuild" in only:
                env = stack.service_env("reporting")
                r = subprocess.run([sys.executable, "-m", "reporting", "rebuild"], env=env, cwd=REPO,
                                   capture_output=True, text=True, check=True)
                # one line per consumer rebuilt: the projector (the figure), then the warnings' windows
                lines = [json.loads(x) for x in r.stdout.strip().splitlines() if x.startswith("{")]
                out["rebuild_reporting"] = {**lines[0], "then": lines[1:]}
                log("rebuild", out["rebuild_reporting"])

            out["rss_mb_after_run"] = {k: rss_mb(p) for k, p in processes(stack).items()}
        finally:
            stack.stop()
    finally:
        if args.keep_database:
            log("database kept:", db)
        else:
            drop_database(DEFAULT_PG, name)
        shutil.rmtree(root, ignore_errors=True)
    out["python_loop_s_after"] = cpu_speed()
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
