"""CSV and XLSX exports of KPI tables (values per object, rankings, trends, drill-downs).

Departments and supervisors take the numbers into spreadsheets; both formats carry the same
header row (Chinese label first, the code in brackets) so a sheet can be read without the API.
openpyxl writes the XLSX (no spreadsheet program needed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

HEADERS = {
    "rank": "排名",
    "code": "对象",
    "name": "名称",
    "score": "得分",
    "grade": "等级",
    "value": "数值",
    "numerator": "分子",
    "denominator": "分母",
    "label": "时段",
    "case_id": "案件ID",
    "number": "案件编号",
    "day": "日期",
    "street_code": "街镇",
    "community_code": "居村",
    "grid_code": "网格",
    "department_code": "部门",
    "element_code": "要素",
    "channel": "渠道",
}


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    head = [f"{HEADERS.get(c, c)} ({c})" for c in columns]
    return [head] + [[_cell(r.get(c)) for c in columns] for r in rows]


def _cell(v: Any) -> Any:
    if isinstance(v, dict | list):
        return str(v)
    return v


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    for line in table(rows, columns):
        w.writerow(["" if x is None else x for x in line])
    # a BOM, so spreadsheet programs open the Chinese header as UTF-8
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31] or "KPI"
    for line in table(rows, columns):
        ws.append(line)
    for i, _ in enumerate(columns, 1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = 18
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
