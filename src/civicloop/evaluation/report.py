"""The monthly evaluation report (月度效能评价报告): HTML with inline SVG charts, and PDF.

The report is built from the same reading functions the API serves (rollups only), so the
numbers in the document are the numbers on the console. Charts are SVG drawn here — a few
rectangles and a polyline need no charting library or JavaScript. The PDF is drawn with
reportlab and needs a CJK font: the WQY Micro Hei TrueType collection is looked for at run
time; without it the PDF is refused with a clear 503 (the HTML still works).
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from civicloop.core.errors import UnavailableError
from civicloop.evaluation import reading
from civicloop.org.model import Actor
from civicloop.runtime import Platform

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/local/share/fonts/wqy-microhei.ttc",
)

_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}
th{background:#f3f5f7}td.n{text-align:right}h2{margin-top:1.6em}
.g-A{color:#1b7d2f}.g-B{color:#2c6cb0}.g-C{color:#a07200}.g-D{color:#c05600}.g-E{color:#b00020}
</style></head><body>
<h1>{{ title }}</h1>
<p>统计周期 Period: {{ month }}（{{ first }} 至 {{ last }}），对比上月 {{ previous }}。
数据来源：案件台账汇总（rollups）。</p>
<h2>一、区级指标 District indicators</h2>
<table><tr><th>指标 Indicator</th><th>本月</th><th>上月</th><th>变化</th><th>分子/分母</th></tr>
{% for r in indicators %}<tr><td>{{ r.name_zh }} <small>{{ r.name_en }}</small></td>
<td class="n">{{ r.now }}</td><td class="n">{{ r.before }}</td><td class="n">{{ r.change }}</td>
<td class="n">{{ r.fraction }}</td></tr>{% endfor %}
</table>
<h2>二、按期结案率走势 On-time closure by day</h2>
{{ trend_svg }}
<h2>三、街镇综合评价 Streets by composite score</h2>
{{ streets_svg }}
<table><tr><th>排名</th><th>街镇</th><th>得分</th><th>等级</th></tr>
{% for r in streets %}<tr><td>{{ r.rank }}</td><td>{{ r.name }}</td>
<td class="n">{{ r.score }}</td><td class="g-{{ r.grade }}">{{ r.grade }}</td></tr>{% endfor %}
</table>
<h2>四、部门综合评价 Departments by composite score</h2>
{{ departments_svg }}
<table><tr><th>排名</th><th>部门</th><th>得分</th><th>等级</th></tr>
{% for r in departments %}<tr><td>{{ r.rank }}</td><td>{{ r.name }}</td>
<td class="n">{{ r.score }}</td><td class="g-{{ r.grade }}">{{ r.grade }}</td></tr>{% endfor %}
</table>
<p><small>评价等级 A ≥ 90，B 75–89，C 60–74，D 40–59，E &lt; 40。
缺少数据的部分不计入，其余权重按比例折算。</small></p>
</body></html>"""


def _fmt(value: float | None, kind: str, unit: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    return f"{value:.2f} {unit}".strip()


def bar_svg(items: list[tuple[str, float | None]], *, width: int = 640) -> Markup:
    """Horizontal bars 0–100 (composite scores), one per labelled item."""
    bar_h, gap, left = 16, 6, 160
    height = max(1, len(items)) * (bar_h + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' role="img" aria-label="bar chart">'
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * (bar_h + gap)
        w = 0 if value is None else (width - left - 50) * max(0.0, min(100.0, value)) / 100
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_h - 3}" font-size="12" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#3b7dd8"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}" font-size="11">'
            f"{'—' if value is None else f'{value:.1f}'}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_svg(
    points: list[tuple[str, float | None]], *, width: int = 640, height: int = 200
) -> Markup:
    """A 0–100 % line over labelled points (daily trend); gaps where there is no value."""
    pad = 30
    n = max(1, len(points) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' role="img" aria-label="trend">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 5}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="5" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="2" y="12" font-size="10">100%</text>'
        f'<text x="8" y="{height - pad}" font-size="10">0</text>',
    ]
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, v) in enumerate(points):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x = pad + (width - pad - 10) * i / n
        y = (height - pad) - (height - pad - 5) * max(0.0, min(1.0, v))
        segment.append(f"{x:.1f},{y:.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline fill="none" stroke="#d83b3b" stroke-width="2" points="{" ".join(seg)}"/>'
        )
    for i, (label, _) in enumerate(points):
        if i % max(1, len(points) // 6) == 0:
            x = pad + (width - pad - 10) * i / n
            parts.append(
                f'<text x="{x:.1f}" y="{height - pad + 14}" font-size="10">{escape(label[5:])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def collect(p: Platform, actor: Actor, month: str, names: dict[str, str]) -> dict[str, Any]:
    """Everything the report shows, as plain data."""
    per = reading.period_of(month)
    if per.label != month or len(month) != 7:
        from civicloop.core.errors import InputError

        raise InputError("month is YYYY-MM", field="month", rule="month_format")
    indicators = []
    for ind in reading.indicators_list():
        c = reading.compare(p, actor, ind["code"], month, "district")
        now, before = c["current"]["value"], c["previous"]["value"]
        change = c["change"]
        indicators.append(
            {
                "code": ind["code"],
                "name_zh": ind["name_zh"],
                "name_en": ind["name_en"],
                "now": _fmt(now, ind["kind"], ind["unit"]),
                "before": _fmt(before, ind["kind"], ind["unit"]),
                "change": "—"
                if change is None
                else (f"{change * 100:+.1f} pt" if ind["kind"] == "rate" else f"{change:+.2f}"),
                "fraction": f"{c['current']['numerator']:g} / {c['current']['denominator']:g}",
            }
        )
    trend = reading.trend(p, actor, "on_time_closure", month, "day")
    streets = reading.rankings(p, actor, month, "street")["items"]
    departments = reading.rankings(p, actor, month, "department")["items"]
    for r in streets + departments:
        r["name"] = names.get(r["code"], r["code"])
    return {
        "title": f"月度效能评价报告 Monthly evaluation report {month}",
        "month": month,
        "first": per.first,
        "last": per.last,
        "previous": per.previous().label,
        "indicators": indicators,
        "trend": [(pt["label"], pt["value"]) for pt in trend["points"]],
        "streets": streets,
        "departments": departments,
    }


def render_html(data: dict[str, Any]) -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(_TEMPLATE).render(
        **data,
        trend_svg=line_svg(data["trend"]),
        streets_svg=bar_svg([(r["name"], r["score"]) for r in data["streets"]]),
        departments_svg=bar_svg([(r["name"], r["score"]) for r in data["departments"]]),
    )


def find_font() -> Path | None:
    for c in FONT_CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    return None


def render_pdf(data: dict[str, Any]) -> bytes:
    """The same report as PDF (reportlab; WQY Micro Hei for Chinese)."""
    font = find_font()
    if font is None:
        raise UnavailableError(
            "the PDF report needs the WQY Micro Hei font (apt install fonts-wqy-microhei);"
            " the HTML report works without it"
        )
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", str(font), subfontIndex=0))
    h1 = ParagraphStyle("h1", fontName="WQY", fontSize=16, leading=22)
    h2 = ParagraphStyle("h2", fontName="WQY", fontSize=12, leading=18, spaceBefore=10)
    body = ParagraphStyle("b", fontName="WQY", fontSize=9, leading=13)
    style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), "WQY"),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f5f7")),
        ]
    )

    def bars(rows: list[dict[str, Any]]) -> Drawing:
        rows = rows[:20]
        d = Drawing(460, 16 * max(1, len(rows)) + 20)
        ch = HorizontalBarChart()
        ch.x, ch.y, ch.width, ch.height = 110, 10, 330, 16 * max(1, len(rows))
        ch.data = [[float(r["score"] or 0) for r in reversed(rows)] or [0.0]]
        ch.valueAxis.valueMin, ch.valueAxis.valueMax = 0, 100
        ch.categoryAxis.categoryNames = [str(r["name"])[:14] for r in reversed(rows)] or [""]
        ch.categoryAxis.labels.fontName = "WQY"
        ch.categoryAxis.labels.fontSize = 7
        ch.valueAxis.labels.fontSize = 7
        ch.bars[0].fillColor = colors.HexColor("#3b7dd8")
        d.add(ch)
        return d

    story: list[Any] = [
        Paragraph(data["title"], h1),
        Paragraph(
            f"统计周期 {data['first']} 至 {data['last']}，对比上月 {data['previous']}。", body
        ),
        Paragraph("一、区级指标", h2),
        Table(
            [["指标", "本月", "上月", "变化", "分子/分母"]]
            + [
                [r["name_zh"], r["now"], r["before"], r["change"], r["fraction"]]
                for r in data["indicators"]
            ],
            style=style,
        ),
    ]
    for title, rows in (
        ("二、街镇综合评价", data["streets"]),
        ("三、部门综合评价", data["departments"]),
    ):
        story += [
            Paragraph(title, h2),
            bars(rows),
            Spacer(1, 6),
            Table(
                [["排名", "对象", "得分", "等级"]]
                + [[r["rank"], r["name"], r["score"], r["grade"]] for r in rows],
                style=style,
            ),
        ]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=data["title"]).build(story)
    return out.getvalue()


def display_names(p: Platform) -> dict[str, str]:
    """Region and department names by code (org service), for labels."""
    from civicloop.org import service as org

    with p.db.read() as conn:
        names = {r.code: r.name for r in org.list_regions(conn)}
        names.update({str(d["code"]): str(d["name"]) for d in org.list_departments(conn)})
    return names


def monthly_report(p: Platform, actor: Actor, month: str, fmt: str) -> bytes:
    data = collect(p, actor, month, display_names(p))
    if fmt == "pdf":
        return render_pdf(data)
    return render_html(data).encode("utf-8")
