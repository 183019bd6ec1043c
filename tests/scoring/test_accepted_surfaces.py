"""Accepted? is one decision on every surface (issue 19, case 7): ``collector explain``, the
dashboard sheet, its HTML page, the portal page and the weekly digest show, for accepted,
rejected, blocked, superseded and pending videos (all but the rejected one scored 1), what
docs/scoring.md says; the formula only where the score decided."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from scoring_world import T0, World

from collector.scoring.scores import explain, score_videos

WEEK = date(2026, 11, 16)  # T0's payout week (Monday, ET)
COLLECTOR = "ann@example.com"
# status -> (the answer, the formula shown with it or None)
EXPECTED = {
    "accepted": ("YES", '=IF(1>=0.75,"YES","NO")'),
    "rejected": ("NO", '=IF(0.5>=0.75,"YES","NO")'),
    "blocked": ("NO", None),
    "superseded": ("NO", None),
    "pending": ("PENDING", None),
}


@pytest.fixture
def videos(warehouse) -> dict[str, str]:
    """status -> video id, one collector, one week; every video but the rejected one has
    score 1, so a formula on a blocked, superseded or pending video would read YES."""
    world = World(warehouse)
    day = timedelta(days=1)
    made = {
        "accepted": world.video(collector=COLLECTOR, at=T0),
        "rejected": world.video(collector=COLLECTOR, at=T0 + day, labels=("incorrect_timing",) * 2),
        "blocked": world.video(collector=COLLECTOR, at=T0 + 2 * day, duration=5),
        "superseded": world.video(collector=COLLECTOR, at=T0 + 3 * day),
        "pending": world.video(
            collector=COLLECTOR, at=T0 + 4 * day + day / 2, subjects=("new@x.org",), consented=False
        ),
    }
    later = world.video(collector=COLLECTOR, at=T0 + 3 * day + timedelta(hours=1))
    score_videos(warehouse)
    for status, video in made.items():
        found = world.score(video)
        assert found["status"] == status, (status, found)
        assert found["score"] == (0.5 if status == "rejected" else 1), (status, found)
    assert world.score(later)["status"] == "accepted"
    return made


def _explained(text: str) -> tuple[str, str | None]:
    """The answer and formula of explain's "Accepted?" (on its status line)."""
    found = re.search(r"Accepted\? (YES|NO|PENDING)( =IF\([^)]*\))?\n", text)
    assert found, text
    assert text.count("Accepted?") == 1 and text.count("=IF(") == (1 if found[2] else 0)
    return found[1], found[2].strip() if found[2] else None


def test_collector_explain_shows_the_decision_and_the_formula_only_where_the_score_decided(
    videos, warehouse, capsys
):
    from collector_tools.cli import main

    for status, video in videos.items():
        assert main(["explain", video]) == 0
        printed = capsys.readouterr().out
        assert f": {status.upper()}, score" in printed
        assert _explained(printed) == EXPECTED[status], (status, printed)
        assert _explained(explain(video, warehouse) + "\n") == EXPECTED[status]


class _Cells(HTMLParser):
    """Rows of the table whose id or class is ``name``: [(text, class), ...] per row."""

    def __init__(self, name: str):
        super().__init__()
        self.name, self.depth, self.rows, self.cell = name, 0, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and self.name in (attrs.get("id"), attrs.get("class")):
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag == "td":
            self.cell = ["", attrs.get("class") or "", attrs.get("title")]
        elif self.depth and tag == "small" and self.cell:
            self.cell.append("small")

    def handle_data(self, data):
        if self.cell is not None and self.cell[-1] != "small":
            self.cell[0] += data

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1].append((self.cell[0].strip(), self.cell[1], self.cell[2]))
            self.cell = None
        elif tag == "table":
            self.depth = 0


def _accepted_column(page: str, table: str) -> dict[str, tuple[str, str, str | None]]:
    """Video id -> (shown text, class, title) of the Accepted? cell (7th column)."""
    parser = _Cells(table)
    parser.feed(page)
    return {row[0][0]: row[6] for row in parser.rows if row}


def test_the_sheet_and_its_html_page_show_the_same_decision(
    videos, warehouse, sheets_connection, sandbox_admin, monkeypatch, tmp_path
):
    from collector.dashboards.html import page_name
    from collector_airflow.hooks import sheets
    from collector_airflow.hooks.sheets import GoogleSheetsHook
    from collector_airflow.tasks.dashboards import refresh_collectors

    monkeypatch.setattr(sheets, "_sleep", lambda _: None)
    monkeypatch.setenv("COLLECTOR_DASHBOARD_HTML_URL", str(tmp_path / "pages"))
    assert refresh_collectors([COLLECTOR])["written"] == 1
    with warehouse.cursor() as cur:
        cur.execute(
            "SELECT spreadsheet_id FROM collector_dashboards WHERE collector_id = %s", (COLLECTOR,)
        )
        [sheet_id] = cur.fetchone()
    warehouse.commit()
    hook = GoogleSheetsHook()
    shown = {row[0]: row[6] for row in hook.get_rows(sheet_id, "Videos")[1:] if row}
    stored = {
        row[0]: row[6] for row in hook.get_rows(sheet_id, "Videos", render="FORMULA")[1:] if row
    }
    page = (tmp_path / "pages" / page_name(COLLECTOR)).read_text()
    html_cells = _accepted_column(page, "videos")
    for status, video in videos.items():
        answer, formula = EXPECTED[status]
        assert shown[video] == answer, (status, shown[video])  # the sheet evaluates the formula
        assert stored[video] == (formula or answer), (status, stored[video])
        assert html_cells[video][0] == answer, (status, html_cells[video])


def test_the_portal_page_shows_the_same_decision(videos, warehouse, warehouse_url):
    from portal_client import SECRET, member

    from portal.app import create_app

    client = member(
        create_app(warehouse_url, SECRET, "https://sheets.example/d/"), warehouse, COLLECTOR
    )
    answer = client.get("/dashboard")
    assert answer.status_code == 200
    cells = _accepted_column(answer.text, "videos")
    for status, video in videos.items():
        expected, formula = EXPECTED[status]
        text, css, title = cells[video]
        assert text == expected and css == f"accepted {expected.lower()}", (status, cells[video])
        assert title == formula, (status, cells[video])  # the formula only where score decided
    assert answer.text.count("=IF(") == 2 * 3  # title and small text of 3 scored-decided videos


def test_the_digest_counts_the_same_decisions(videos, warehouse, smtp_connection, monkeypatch):
    from collector_airflow.tasks.notify import enqueue, send_outbox

    monkeypatch.setenv("COLLECTOR_PORTAL_URL", "http://portal.test")
    monkeypatch.setenv("COLLECTOR_PORTAL_SECRET", "accepted-surfaces-secret")
    enqueue(WEEK)
    assert send_outbox()["sent"].get("digest") == 1
    [digest] = [m for m in smtp_connection() if "Your week of" in m["subject"]]
    # Accepted: the accepted video and the later one that superseded another (6 submitted).
    assert digest["subject"] == "Your week of November 16, 2026: 2 of 6 videos accepted"
    for part in (digest["text"], re.sub(r"<[^>]+>", "", digest["html"])):
        assert "You submitted 6 videos; 2 were accepted. 1 is pending: no decision yet." in part
