"""Open-loop load: registrations sent on a fixed schedule (request i at start + i / rate), whatever
the answers' latency, each acknowledgement's time recorded with the case id it returned.

    python bench/load/open_loop.py URL RATE SECONDS > acks.jsonl

hey's -q paces each worker with its own ticker, all started together: its "200/s" arrives as bursts
of 50 every 250 ms, which measures burst handling, not a steady rate. This keeps the schedule.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import aiohttp

TOKEN = "Bearer demo-s1-registrar"
# received an hour ago whatever day the benchmark runs: no clock is overdue, no 督办 follows
BODY = {"channel": "网上信访", "received_at": datetime.fromtimestamp(time.time() - 3600, UTC).isoformat(timespec="seconds"),
        "receiving_unit": "S1-XFB",
        "category": "申诉求决类", "issue_type": "wages", "summary": "基准测试：三季度绩效工资未足额发放",
        "petitioners": [{"name": "基准", "unit": "S1-U2"}]}


async def run(url: str, rate: float, seconds: float) -> dict:
    acks: list[tuple[str, float]] = []
    errors: dict[str, int] = {}
    late = 0
    payload = json.dumps(BODY, ensure_ascii=False).encode()
    headers = {"Authorization": TOKEN, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            try:
                async with session.post(url, data=payload, headers=headers) as r:
                    body = await r.read()
                    if r.status == 201:
                        acks.append((json.loads(body)["case_id"], time.time()))
                    else:
                        errors[str(r.status)] = errors.get(str(r.status), 0) + 1
            except aiohttp.ClientError as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1

        tasks = []
        start = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                late += 1  # the generator itself fell behind its schedule
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
    return {"sent": n, "acknowledged": len(acks), "errors": errors, "achieved_rate_per_s": round(len(acks) / elapsed, 1),
            "sent_late_by_generator": late, "acks": acks}


def main() -> None:
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(asyncio.run(run(url, rate, seconds))))


if __name__ == "__main__":
    main()
