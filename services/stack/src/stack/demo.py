"""A small demo data set, registered over HTTP like any client would.

Each petition carries a fixed Idempotency-Key and fixed dates (see ``anchor_day``), so running the
system again, on any later day, registers nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

CHINA = ZoneInfo("Asia/Shanghai")

# (registrar token, days ago, body without received_at)
PETITIONS = [
    ("demo-s1-registrar", 40, {"channel": "来信", "receiving_unit": "S1-XFB", "category": "申诉求决类",
     "issue_type": "wages", "summary": "机修车间2026年三季度绩效工资未按时足额发放。",
     "petitioners": [{"name": "王建国", "phone": "13800000001", "unit": "S1-U2"}]}),
    ("demo-s1-registrar", 20, {"channel": "来访", "receiving_unit": "S1-XFB", "category": "申诉求决类",
     "issue_type": "commuting", "summary": "站段合并后职工通勤距离增加，请求开通班车。",
     "petitioners": [{"name": "李强", "unit": "S1-U1"}, {"name": "赵敏", "unit": "S1-U1"}], "involved_count": 46}),
    ("demo-s1-registrar", 3, {"channel": "匿名举报箱", "receiving_unit": "S1-XFB", "category": "检举控告类",
     "issue_type": "discipline_violation", "summary": "反映北京站段负责人违规报销差旅费。", "anonymous": True,
     "accused_unit": "S1-U1"}),
    ("demo-s2-registrar", 12, {"channel": "网上信访", "receiving_unit": "S2-XFB", "category": "申诉求决类",
     "issue_type": "retirement_benefits", "summary": "退休人员取暖费补贴标准低于同地区其他单位。",
     "petitioners": [{"name": "孙桂兰"}]}),
    ("demo-s2-registrar", 8, {"channel": "来电", "receiving_unit": "S2-XFB", "category": "咨询类",
     "issue_type": "social_insurance_transfer", "summary": "咨询社保关系移交地方后的医保报销办理流程。",
     "petitioners": [{"name": "周立新", "unit": "S2-U1"}]}),
    ("demo-s2-registrar", 1, {"channel": "来信", "receiving_unit": "S2-XFB", "category": "建议意见类",
     "issue_type": "housing", "summary": "建议对老旧职工住宅加装电梯。",
     "petitioners": [{"name": "吴海燕", "unit": "S2-U2"}]}),
    ("demo-s3-registrar", 25, {"channel": "来访", "receiving_unit": "S3-XFB", "category": "申诉求决类",
     "issue_type": "work_injury", "summary": "总装车间职工工伤认定后伤残津贴未落实。",
     "petitioners": [{"name": "郑伟", "unit": "S3-U1"}]}),
    ("demo-s3-registrar", 5, {"channel": "来信", "receiving_unit": "S3-XFB", "category": "申诉求决类",
     "issue_type": "three_supplies", "summary": "三供一业移交后家属区供暖不达标。",
     "petitioners": [{"name": "冯秀英"}], "involved_count": 120}),
    ("demo-hq-registrar", 2, {"channel": "领导信箱", "receiving_unit": "HQ-XFB", "category": "检举控告类",
     "issue_type": "cadre_conduct", "summary": "反映第二运输有限公司领导班子成员违规干预招标。",
     "anonymous": True, "accused_unit": "S2"}),
    # S4 has no retiree office and no petition office yet: no rule can route this one (unroutable queue)
    ("demo-hq-registrar", 4, {"channel": "来信", "receiving_unit": "HQ-XFB", "category": "申诉求决类",
     "issue_type": "retirement_benefits", "summary": "原四公司退休职工反映并入集团后养老金调整未落实。",
     "petitioners": [{"name": "钱玉梅", "unit": "S4-U1"}]}),
]


def anchor_day(data_dir: Path) -> date:
    """The day the demo was first registered, kept in the data directory: received dates count back
    from it, so running again on a later day sends the very same requests (replayed, not refused)."""
    path = data_dir / "demo-anchor"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(datetime.now(CHINA).date().isoformat())
    return date.fromisoformat(path.read_text().strip())


def seed(intake_url: str, data_dir: Path) -> list[dict]:
    anchor = anchor_day(data_dir)
    out = []
    with httpx.Client(base_url=intake_url, timeout=30) as client:
        for i, (token, days_ago, body) in enumerate(PETITIONS):
            payload = {**body, "received_at": (anchor - timedelta(days=days_ago)).isoformat() + "T09:30:00+08:00"}
            r = client.post(
                "/petitions",
                json=payload,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"demo-{anchor}-{i}"},
            )
            r.raise_for_status()
            out.append(r.json())
    return out
