"""Scale benchmark: one run, one JSON object (issue 9, item 6).

    nice -n 10 .venv/bin/python bench/scale.py --cases 100000            # generate + rebuild + queries
    .venv/bin/python bench/scale.py --skip-generate --skip-rebuild       # queries over what is there
    .venv/bin/python bench/scale.py --skip-generate --skip-rebuild --dashboard-url http://127.0.0.1:8004/dashboard

1. generation (bench/generate.py): cases, events, events/s, into the stores of a database of its own;
2. reporting's real rebuild, ``python -m reporting rebuild`` as its own process: events/s;
3. every KPI of deploy/seed/kpis.yaml by subsidiary for a month (``reporting.usecases.kpi``, the
   API's own use case: current month, 环比, 同比 — three queries), directly against the database
   with headquarters' scope and with a subsidiary's, over many different months: p50/p99;
4. reporting's API as its own process (``python -m reporting api``): GET /cases (first page) and
   /stats/by-subsidiary latency, and, with --dashboard-url, the dashboard's first load (the page,
   then every same-origin asset and API path it names, as a browser would fetch them);
5. table sizes (pg_total_relation_size) and each process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import generate as gen  # noqa: E402

SEED = REPO / "deploy" / "seed"
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable


def env_for(database_url: str, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XF_")}
    env.update({"XF_SERVICE": "reporting", "XF_DATABASE_URL": database_url,
                "XF_KAFKA_BOOTSTRAP": "127.0.0.1:9",  # no broker: the rebuild and the reads never publish
                "XF_SEED_DIR": str(SEED), "XF_AUTH_MODE": "demo", "XF_DEMO_TOKENS_PATH": str(SEED / "demo-tokens.yaml"),
                "XF_TRACE_SAMPLE_RATIO": "0"})
    if port:
        env["XF_HTTP_PORT"] = str(port)
    return env


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 2)


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "max_ms": round(max(ms), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def maxrss_mb(who=resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def vmhwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# -- 2. the rebuild --------------------------------------------------------------------------------------------


def run_rebuild(database_url: str) -> dict:
    started = time.monotonic()
    proc = subprocess.run([PY, "-m", "reporting", "rebuild"], env=env_for(database_url), cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"rebuild failed:\n{proc.stderr[-3000:]}")
    parts = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    seconds = time.monotonic() - started
    projector = next(p for p in parts if p["consumer"].endswith("projector"))
    return {"consumers": parts, "events": projector["events"], "events_per_s": projector["events_per_s"],
            "wall_seconds": round(seconds, 1), "peak_rss_mb": maxrss_mb(resource.RUSAGE_CHILDREN)}


# -- 3. KPI latency ------------------------------------------------------------------------------------------------


async def kpi_latency(database_url: str, repetitions: int, seed: int) -> dict:
    os.environ.update(env_for(database_url))
    from backbone.auth import DemoTokens
    from backbone.db import open_async_pool
    from backbone.runtime import context
    from backbone.visibility import Scope
    from reporting import usecases
    from reporting.bootstrap import reporting
    from reporting.config import Settings

    settings = Settings(service="reporting")
    ctx = context(settings)
    app = reporting(ctx)
    tokens = DemoTokens(SEED / "demo-tokens.yaml", ctx.org)
    scopes = {"headquarters": Scope.of(tokens.authenticate("demo-hq-analyst"), ctx.org),
              "subsidiary_S1": Scope.of(tokens.authenticate("demo-s1-xfb-supervisor"), ctx.org)}
    pool = await open_async_pool(database_url, "reporting", max_size=2, parallel_workers=0,
                                 random_page_cost=1.1)  # as the embedded API
    rng = random.Random(seed)
    try:
        async with pool.connection() as conn:
            lo, hi = (await (await conn.execute(
                "SELECT min(received_at), max(received_at) FROM case_view")).fetchone())
        months = []
        y, m = lo.year, lo.month
        while (y, m) <= (hi.year, hi.month):
            months.append(f"{y}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out: dict[str, dict] = {}
        every: list[float] = []
        for k in app.kpis.kpis:
            for scope_name, scope in scopes.items():
                ms = []
                await usecases.kpi(app, pool, scope, k.id, months[-1], "subsidiary")  # warm
                for _ in range(repetitions):
                    month = rng.choice(months)
                    t = time.perf_counter()
                    await usecases.kpi(app, pool, scope, k.id, month, "subsidiary")
                    ms.append((time.perf_counter() - t) * 1000)
                out[f"{k.id}/{scope_name}"] = summary(ms)
                every += ms
        # a sample answer, to show the figures are real
        sample = await usecases.kpi(app, pool, scopes["headquarters"], "on_time_completion", months[-3], "subsidiary")
        return {"by_kpi_and_scope": out, "all": summary(every), "months": len(months),
                "query": "usecases.kpi(group_by=subsidiary, period=<month>): current, 环比 and 同比 = 3 SQL queries",
                "sample": {"kpi": sample["kpi"], "period": sample["period"],
                           "items": [{x: i[x] for x in ("group", "value", "numerator", "denominator")}
                                     for i in sample["items"]]}}
    finally:
        await pool.close()


# -- 4. the API (and the dashboard hook) ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_latency(database_url: str, repetitions: int, dashboard_url: str | None, dashboard_token: str) -> dict:
    import httpx

    port = free_port()
    proc = subprocess.Popen([PY, "-m", "reporting", "api"], env=env_for(database_url, port), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    out: dict = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"reporting api did not start:\n{(proc.stderr.read() if proc.stderr else '')[-3000:]}")
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=60) as client:
            for token in ("demo-hq-analyst", "demo-s1-xfb-supervisor"):
                h = {"Authorization": f"Bearer {token}"}
                for path in ("/cases?limit=100", "/stats/by-subsidiary"):
                    ms = []
                    for i in range(repetitions + 1):
                        t = time.perf_counter()
                        r = client.get(path, headers=h)
                        r.raise_for_status()
                        if i:  # the first call warms the connection pool
                            ms.append((time.perf_counter() - t) * 1000)
                    out[f"GET {path} as {token}"] = summary(ms)
        out["api_peak_rss_mb"] = vmhwm_mb(proc.pid)
        if dashboard_url:
            out["dashboard"] = dashboard_first_load(dashboard_url, dashboard_token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def dashboard_first_load(url: str, token: str) -> dict:
    """The page, then every same-origin script, stylesheet and API path it names, fetched as a
    browser would (in parallel, 6 at a time); the time until the last one answered."""
    import httpx
    from urllib.parse import urljoin, urlparse

    h = {"Authorization": f"Bearer {token}"}
    origin = "{0.scheme}://{0.netloc}".format(urlparse(url))
    t0 = time.perf_counter()
    with httpx.Client(timeout=60, headers=h, follow_redirects=True) as client:
        page = client.get(url)
        page_ms = (time.perf_counter() - t0) * 1000
        refs = set(re.findall(r"""(?:src|href)=["']([^"'#]+)["']""", page.text))
        refs |= set(re.findall(r"""["'`](/(?:kpis|stats|cases|alerts|risk|dashboard/api|api)[^"'`\s]*)["'`]""", page.text))
        urls = sorted({urljoin(url, r) for r in refs if urljoin(url, r).startswith(origin) and "${" not in r})

        async def fetch_all() -> list[tuple[str, int, float]]:
            sem = asyncio.Semaphore(6)
            async with httpx.AsyncClient(timeout=60, headers=h) as ac:
                async def one(u: str):
                    async with sem:
                        t = time.perf_counter()
                        r = await ac.get(u)
                        return u, r.status_code, (time.perf_counter() - t) * 1000
                return await asyncio.gather(*(one(u) for u in urls))

        parts = asyncio.run(fetch_all())
    total = (time.perf_counter() - t0) * 1000
    return {"url": url, "status": page.status_code, "page_ms": round(page_ms, 1), "first_load_ms": round(total, 1),
            "requests": [{"url": u, "status": s, "ms": round(ms, 1)} for u, s, ms in parts]}


# -- 5. sizes -----------------------------------------------------------------------------------------------------


def analyze(database_url: str) -> None:
    import psycopg

    # VACUUM (not FULL) as well: since PostgreSQL 13 autovacuum vacuums a table after many inserts
    # too, which marks its pages all-visible (index-only scans skip the heap); this machine's
    # server runs with autovacuum off
    with psycopg.connect(database_url, autocommit=True) as conn:
        for t in ("case_view", "case_deadlines", "case_scope", "timeline", "kpi_exclusions", "kpi_contributions",
                  "kpi_cells", "kpi_scope_classes"):
            conn.execute(f"VACUUM (ANALYZE) reporting.{t}")


def table_sizes(database_url: str) -> dict:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid), c.reltuples::bigint"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname IN ('intake', 'routing', 'supervision', 'reporting')"
            " ORDER BY 2 DESC").fetchall()
        db = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"database_mb": round(db / 2**20, 1),
            "tables": {name: {"mb": round(size / 2**20, 1), "rows_estimate": n} for name, size, n in rows if size > 65536}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="generation, rebuild, KPI and API latency, sizes and memory: one JSON")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/xf_scale")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--years", type=float, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keys-dir", type=Path, default=REPO / ".data" / "scale" / "keys")
    ap.add_argument("--kpi-repetitions", type=int, default=40, help="per KPI and scope, each over a random month")
    ap.add_argument("--http-repetitions", type=int, default=30)
    ap.add_argument("--skip-generate", action="store_true", help="use the stores as they are")
    ap.add_argument("--skip-rebuild", action="store_true", help="use the read models as they are")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--dashboard-url", help="time the dashboard's first load, e.g. http://127.0.0.1:8004/dashboard")
    ap.add_argument("--dashboard-token", default="demo-hq-analyst")
    a = ap.parse_args(argv)
    result: dict = {"database": a.database_url.rsplit("/", 1)[-1], "machine": {"cpus": os.cpu_count()}}
    if not a.skip_generate:
        g = gen.generate(a.database_url, a.cases, a.seed, a.keys_dir, years=a.years)
        g.pop("event_types")
        result["generation"] = {**g, "peak_rss_mb": maxrss_mb()}
        print(json.dumps({"generation": result["generation"]}, ensure_ascii=False), file=sys.stderr, flush=True)
    if not a.skip_rebuild:
        result["rebuild"] = run_rebuild(a.database_url)
        print(json.dumps({"rebuild": result["rebuild"]}, ensure_ascii=False), file=sys.stderr, flush=True)
    analyze(a.database_url)  # what autovacuum does a little later; the rebuild leaves no statistics
    before = maxrss_mb()
    result["kpi"] = asyncio.run(kpi_latency(a.database_url, a.kpi_repetitions, a.seed))
    result["kpi"]["process_peak_rss_mb"] = maxrss_mb() if maxrss_mb() > before else before
    if not a.skip_http:
        result["http"] = http_latency(a.database_url, a.http_repetitions, a.dashboard_url, a.dashboard_token)
    elif a.dashboard_url:
        result["http"] = {"dashboard": dashboard_first_load(a.dashboard_url, a.dashboard_token)}
    result["sizes"] = table_sizes(a.database_url)
    result["scale_py_peak_rss_mb"] = maxrss_mb()
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    main()
