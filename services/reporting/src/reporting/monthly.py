"""The monthly statistical report (月报) as an Excel workbook (openpyxl): the group's summary sheet,
one sheet per subsidiary, the indicators with their numerators, denominators and formulas, the
month's hot issues (top 10), and the overdue and 督办 lists — in the caller's scope."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

HEAD = PatternFill("solid", fgColor="A4161A")
THIN = Side(style="thin", color="BBBBBB")
KPI_HEADER = ("指标", "数值", "分子", "分母", "上月", "环比变化", "去年同期", "同比变化", "计算公式", "口径选择")


def _percent(value) -> Any:
    return value if value is None else round(value, 4)


def _table(ws, row: int, header: tuple[str, ...], rows: list[tuple], widths: dict[int, int] | None = None) -> int:
    for col, h in enumerate(header, start=1):
        c = ws.cell(row=row, column=col, value=h)
        c.font, c.fill, c.alignment = Font(bold=True, color="FFFFFF"), HEAD, Alignment(horizontal="center")
    for r in rows:
        row += 1
        for col, v in enumerate(r, start=1):
            c = ws.cell(row=row, column=col, value=v)
            c.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    for col, w in (widths or {}).items():
        ws.column_dimensions[get_column_letter(col)].width = w
    return row + 2


def kpi_rows(figures: list[dict], group) -> list[tuple]:
    out = []
    for f in figures:
        item = next((i for i in f["items"] if i["group"] == group), None)
        if item is None:
            out.append((f["name"], None, 0, 0, None, None, None, None, f["formula"], "；".join(
                f"{k}：{v}" for k, v in f["choices"].items())))
            continue
        out.append((f["name"], _percent(item["value"]), item["numerator"], item["denominator"],
                    _percent(item["previous"]["value"]), item["change_vs_previous"], _percent(item["last_year"]["value"]),
                    item["change_vs_last_year"], f["formula"], "；".join(f"{k}：{v}" for k, v in f["choices"].items())))
    return out


def workbook(month: str, scope_name: str, totals: list[dict], by_subsidiary: dict[str, list[dict]],
             names: dict[str | None, str], volumes: list[dict], hot: list[dict], overdue: list[dict],
             orders: list[dict]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    year, mon = month.split("-")
    ws["A1"] = f"信访工作月报（{year}年{int(mon)}月）"
    ws["A1"].font = Font(bold=True, size=16)
    ws["A2"] = f"范围：{scope_name}　　数据来源：信访事项事件库（报表服务投影）"
    row = 4
    ws.cell(row=row - 1, column=1, value="一、主要指标").font = Font(bold=True)
    row = _table(ws, row, KPI_HEADER, kpi_rows(totals, None), {1: 26, 2: 10, 3: 8, 4: 8, 9: 60, 10: 24})
    ws.cell(row=row - 1, column=1, value="二、信访量（件次、人次）").font = Font(bold=True)
    row = _table(ws, row, ("单位", "件次", "人次", "涉及人数"),
                 [(names.get(v["subsidiary"], v["subsidiary"]), v["cases"], v["person_times"], v["involved"])
                  for v in volumes])
    ws.cell(row=row - 1, column=1, value="三、热点问题（前十）").font = Font(bold=True)
    _table(ws, row, ("序号", "问题类型", "件次"), [(i, h["issue_type"], h["n"]) for i, h in enumerate(hot, start=1)])

    for sub, figures in by_subsidiary.items():
        s = wb.create_sheet(title=(names.get(sub) or sub or "总部本级")[:31])
        s["A1"] = f"{names.get(sub) or sub}　{year}年{int(mon)}月"
        s["A1"].font = Font(bold=True, size=14)
        _table(s, 3, KPI_HEADER, kpi_rows(figures, sub), {1: 26, 9: 60, 10: 24})

    o = wb.create_sheet(title="超期与督办")
    o["A1"] = "超期未办结（本月到期）"
    o["A1"].font = Font(bold=True)
    row = _table(o, 2, ("信访件编号", "时限", "责任单位", "到期日", "依据"),
                 [(d["case_no"], d["clock"], names.get(d["unit"], d["unit"]), d["due_on"], d["basis"]) for d in overdue],
                 {1: 18, 2: 22, 3: 24, 4: 12, 5: 60})
    o.cell(row=row - 1, column=1, value="督办（本月）").font = Font(bold=True)
    _table(o, row, ("信访件编号", "督办单", "反馈单位", "反馈期限", "已反馈"),
           [(d["case_no"], d["clock"], names.get(d["unit"], d["unit"]), d["due_on"], "是" if d["met_on"] else "否")
            for d in orders])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
