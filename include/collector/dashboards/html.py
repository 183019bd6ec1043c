"""The collector's dashboard as one static HTML page (for the web login, FAQ 8/14), rendered
from the same frames as the Google Sheet, with a chart of weekly earnings as inline SVG (no
script, so it renders anywhere, including e-mail previews)."""

from __future__ import annotations

import hashlib
import html
from decimal import Decimal

from collector.dashboards.content import Dashboard
from collector.scoring.accepted import Accepted


def page_name(collector_id: str) -> str:
    """A file name that does not reveal the collector's email."""
    return hashlib.sha256(collector_id.encode()).hexdigest()[:20] + ".html"


def _table(header: list[str], rows: list[list], css: str) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell_text(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cell_text(value) -> str:
    """A frame cell as a page shows it: the Accepted? answer (the sheet shows its formula's
    result, the same answer), anything else as its text."""
    if isinstance(value, Accepted):
        return value.answer
    return "" if value is None else str(value)


def weekly_chart(payments: list[list]) -> str:
    """Bars of weekly earnings, oldest left; amounts are the Payments tab's."""
    weeks = list(reversed(payments))[-12:]
    amounts = [Decimal(str(row[2]).lstrip("$")) for row in weeks]
    top = max(amounts, default=Decimal(0)) or Decimal(1)
    width, height, bar = 40 * max(len(weeks), 1) + 20, 160, 28
    bars = []
    for i, (row, amount) in enumerate(zip(weeks, amounts, strict=True)):
        h = int(Decimal(120) * amount / top)
        x = 15 + i * 40
        bars.append(
            f'<rect class="bar" x="{x}" y="{135 - h}" width="{bar}" height="{h}" fill="#2e7d32">'
            f"<title>{html.escape(str(row[0]))}: {html.escape(str(row[2]))}</title></rect>"
            f'<text x="{x + bar / 2}" y="152" font-size="9" text-anchor="middle">'
            f"{html.escape(str(row[0])[5:])}</text>"
        )
    return (
        f'<svg class="chart" role="img" aria-label="Weekly earnings" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    )


def render_html(board: Dashboard) -> str:
    tabs = board.frames()
    videos_header, videos = tabs["Videos"]
    payments_header, payments = tabs["Payments"]
    summary_header, summary = tabs["Summary"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Your collector dashboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; font-size: 14px; }}
th, td {{ border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f1f3f4; }}
</style></head><body>
<h1>Your collector dashboard</h1>
<p>{html.escape(board.collector_id)}: updated every few hours (FAQ 8).</p>
<h2>Weekly earnings</h2>
{weekly_chart(payments)}
<h2>Summary</h2>
{_table(summary_header, summary, "summary")}
<h2>Videos</h2>
{_table(videos_header, videos, "videos")}
<h2>Payments</h2>
{_table(payments_header, payments, "payments")}
</body></html>
"""
