"""Collector dashboards against the sandbox: created and shared once, rewritten only when
their content changed, with at most two write requests, surviving 429s and a failing collector."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from scoring_world import T0, World

from collector.scoring.scores import score_videos

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def boards(warehouse, sheets_connection, monkeypatch):
    from collector_airflow.hooks import sheets

    monkeypatch.setattr(sheets, "_sleep", lambda _: None)
    world = World(warehouse)
    alice = [
        world.video(
            at=T0 + timedelta(days=d),
            collector="alice@example.com",
            labels=(("good", "incorrect_label", "perfect")[d], "good"),
        )
        for d in range(3)
    ]
    world.video(at=T0, collector="bob@example.com", duration=5)
    score_videos(warehouse)
    return world, alice


def _refresh():
    from collector_airflow.tasks.dashboards import collectors_with_videos, refresh_collectors

    return refresh_collectors(collectors_with_videos())


def test_first_refresh_creates_shares_and_fills(boards, sandbox_admin, warehouse):
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    first = _refresh()
    assert (first["created"], first["written"], first["failed"]) == (2, 2, 0)
    with warehouse.cursor() as cur:
        cur.execute(
            "SELECT spreadsheet_id FROM collector_dashboards WHERE collector_id = 'alice@example.com'"
        )
        [sheet_id] = cur.fetchone()
    warehouse.commit()
    hook = GoogleSheetsHook()
    book = hook.open(sheet_id)
    assert "alice@example.com" in {p.get("emailAddress") for p in book.list_permissions()}
    videos = hook.get_rows(sheet_id, "Videos")
    assert videos[0][:7] == [
        "Video ID",
        "Submitted (ET)",
        "Collection",
        "Activities and ratings",
        "Score",
        "Threshold",
        "Accepted?",
    ]
    by_id = {row[0]: row for row in videos[1:] if row}
    _, alice = boards
    assert [row[0] for row in videos[1:4]] == list(reversed(alice))  # newest first
    assert by_id[alice[1]][6] == "NO" and by_id[alice[0]][6] == "YES"
    formulas = hook.get_rows(sheet_id, "Videos", render="FORMULA")
    assert formulas[3][6] == '=IF(1>=0.75,"YES","NO")'
    assert formulas[2][6] == '=IF(0.5>=0.75,"YES","NO")'
    summary = dict([*r, "", ""][:2] for r in hook.get_rows(sheet_id, "Summary")[1:])
    assert summary["Acceptance rate (decided videos)"].endswith("%")


def test_unchanged_costs_nothing_and_a_change_costs_at_most_two(boards, sandbox_admin, warehouse):
    _refresh()
    sandbox_admin("reset-stats", {})
    again = _refresh()
    assert (again["written"], again["unchanged"]) == (0, 2)
    assert sandbox_admin("stats")["requests"] == 0
    world, alice = boards
    world.rate(alice[2], 0, "r1@x.org", "incorrect_label")
    score_videos(warehouse)
    sandbox_admin("reset-stats", {})
    changed = _refresh()
    assert (changed["written"], changed["unchanged"]) == (1, 1)
    assert sandbox_admin("stats")["requests"] <= 2


def test_429_storm_and_a_failing_collector_lose_nothing(boards, sandbox_admin, warehouse):
    _refresh()
    world, alice = boards
    for video in alice:
        world.rate(video, 1, "r1@x.org", "perfect")
    world.video(at=T0 + timedelta(days=5), collector="bob@example.com")
    score_videos(warehouse)
    with warehouse.cursor() as cur:
        cur.execute("SELECT collector_id, spreadsheet_id FROM collector_dashboards")
        ids = dict(cur.fetchall())
    warehouse.commit()
    sandbox_admin("faults", {"status": 429, "count": 3, "path_contains": "values:batchUpdate"})
    sandbox_admin("faults", {"status": 500, "count": 20, "path_contains": ids["bob@example.com"]})
    stormy = _refresh()
    assert stormy["written"] == 1 and stormy["failed"] == 1
    assert "bob@example.com" in stormy["failures"][0]
    sandbox_admin("reset-stats", {})  # clears the remaining faults
    recovered = _refresh()
    assert (recovered["written"], recovered["failed"]) == (1, 0)  # bob, retried


@pytest.mark.airflow
def test_the_dag_refreshes_every_collector(airflow_db, boards, warehouse):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS / "dashboard_refresh.py")).get_dag("dashboard_refresh")
    run = dag.test(run_conf={"chunk_size": 1})
    assert str(run.state) == "success"
    with warehouse.cursor() as cur:
        cur.execute("SELECT count(*) FROM collector_dashboards WHERE content_hash IS NOT NULL")
        assert cur.fetchone()[0] == 2
        cur.execute("SELECT spreadsheet_id FROM managed_spreadsheets WHERE purpose = 'ops_summary'")
        [ops_sheet] = cur.fetchone()
    warehouse.commit()
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    by_day = GoogleSheetsHook().get_rows(ops_sheet, "By day")
    assert by_day[0] == [
        "Day (ET)",
        "Collection",
        "Submitted",
        "Rated",
        "Accepted",
        "Pending",
        "Acceptance rate",
    ]
    assert sum(int(row[2]) for row in by_day[1:]) == 4  # every video counted once
    lag = dict(GoogleSheetsHook().get_rows(ops_sheet, "Lag")[1:])
    assert lag["Last dashboard refresh"].endswith("h ago)")


@pytest.mark.slow  # a browser
def test_static_html_dashboard_in_a_real_browser(boards, tmp_path, monkeypatch):
    """The web login's page, rendered by Chromium (installed by the test set-up)."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    from collector.dashboards.html import page_name

    monkeypatch.setenv("COLLECTOR_DASHBOARD_HTML_URL", str(tmp_path / "pages"))
    _refresh()
    page_file = tmp_path / "pages" / page_name("alice@example.com")
    assert page_file.exists()
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "pages")
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    artifacts = Path(__file__).resolve().parents[2] / ".local" / "test" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{page_file.name}")
            assert page.title() == "Your collector dashboard"
            _, alice = boards
            video_rows = page.locator("table.videos tbody tr")
            assert video_rows.count() == 3
            assert video_rows.first.locator("td").first.inner_text() == alice[2]  # newest first
            assert page.locator("table.videos").inner_text().count("YES") == 2
            bars = page.locator("svg.chart rect.bar")
            assert bars.count() >= 1 and bars.first.bounding_box()["height"] > 0
            page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
    assert (artifacts / "dashboard.png").stat().st_size > 10_000


@pytest.mark.slow  # ~60 s measured (the DAG, the share and the welcome mail through the sandbox)
def test_a_collector_is_her_address_dashboard_and_mail_never_a_folded_one(
    seeded_warehouse, demo_area, landing, tmp_path, sheets_connection, smtp_connection, monkeypatch
):
    """Issue 19, case 2: the app's ``Maria.Weiß@example.de`` is the collector
    ``maria.weiß@example.de`` (ASCII case only), not ``maria.weiss@example.de``, who is someone
    else; her dashboard is shared with her address and her welcome is sent there."""
    import json
    from datetime import UTC, datetime

    from collector.accounts import logins
    from collector.intake.ingest import ingest_landing_area
    from collector_airflow.hooks.sheets import GoogleSheetsHook
    from collector_airflow.tasks.notify import enqueue, send_outbox

    monkeypatch.setenv("COLLECTOR_PORTAL_URL", "http://portal.test")
    originals = [
        f
        for f in demo_area.files
        if f.expect == "ingested" and f.file_name.endswith(f"{f.video_id}.json")
    ]
    written_as = ["Maria.Weiß@example.de", "maria.weiss@example.de"]
    for demo_file, written in zip(originals[:2], written_as, strict=True):
        path = landing / demo_file.file_name
        document = json.loads(path.read_text())
        document["metadata"]["collector_id"] = f" {written}\u200b"
        path.write_text(json.dumps(document, ensure_ascii=False))
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ingest_landing_area(
        seeded_warehouse, landing, tmp_path / "q", mp4_wait=timedelta(hours=24), now=now
    )
    with seeded_warehouse.cursor() as cur:
        cur.execute("SELECT collector_id, email FROM collectors WHERE collector_id LIKE 'maria%'")
        found = sorted(cur.fetchall())
    seeded_warehouse.commit()
    maria, other = "maria.weiß@example.de", "maria.weiss@example.de"
    assert found == sorted([(maria, maria), (other, other)])

    assert _refresh()["failed"] == 0
    with seeded_warehouse.cursor() as cur:
        cur.execute("SELECT collector_id, spreadsheet_id FROM collector_dashboards")
        sheets = dict(cur.fetchall())
    seeded_warehouse.commit()
    hook = GoogleSheetsHook()
    for collector in (maria, other):
        readers = {p.get("emailAddress") for p in hook.open(sheets[collector]).list_permissions()}
        assert collector in readers and ({maria, other} - {collector}).isdisjoint(readers)

    logins.create_account(seeded_warehouse, maria)  # `collector portal invite`
    seeded_warehouse.commit()
    enqueue()
    assert send_outbox()["sent"] == {"welcome": 1}
    assert [m["to"] for m in smtp_connection()] == [maria]


def _share_modes(warehouse) -> dict[str, str | None]:
    with warehouse.cursor() as cur:
        cur.execute("SELECT collector_id, share_mode FROM collector_dashboards")
        modes = dict(cur.fetchall())
    warehouse.commit()
    return modes


def test_without_a_shared_drive_folder_creation_fails_naming_it_and_is_not_retried(
    boards, sandbox_admin, sheets_connection, warehouse
):
    """Issue 20: a service account has no Drive storage. Without `drive_folder_id` every
    dashboard fails as in production (403 storageQuotaExceeded), in one request each, with a
    sentence naming the setting; once the folder is configured, the next run creates them."""
    sheets_connection(drive_folder_id="")
    sandbox_admin("reset-stats", {})
    refused = _refresh()
    assert (refused["created"], refused["written"], refused["failed"]) == (0, 0, 2)
    for failure in refused["failures"]:
        assert "The user's Drive storage quota has been exceeded" in failure
        assert "set the extra `drive_folder_id`" in failure and "`subject`" in failure
    assert sandbox_admin("stats")["requests"] == 2  # one files.create each, no retry
    assert _share_modes(warehouse) == {}
    sheets_connection()  # the shared-drive folder configured
    created = _refresh()
    assert (created["created"], created["written"], created["failed"]) == (2, 2, 0)


def test_a_google_account_is_shared_directly_and_an_other_address_by_invitation(
    boards, sandbox_admin, warehouse
):
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    sandbox_admin("google-accounts", {"emails": ["alice@example.com"], "replace": True})
    before = len(sandbox_admin("invitations")["invitations"])
    first = _refresh()
    assert (first["created"], first["failed"]) == (2, 0)
    assert _share_modes(warehouse) == {
        "alice@example.com": "direct",
        "bob@example.com": "invitation",
    }
    invited = sandbox_admin("invitations")["invitations"][before:]
    assert [i["email"] for i in invited] == ["bob@example.com"]
    assert "Google account" in invited[0]["message"]
    with warehouse.cursor() as cur:
        cur.execute("SELECT collector_id, spreadsheet_id FROM collector_dashboards")
        ids = dict(cur.fetchall())
    warehouse.commit()
    hook = GoogleSheetsHook()
    for collector, sheet_id in ids.items():
        readers = {
            p.get("emailAddress")
            for p in hook.open(sheet_id).list_permissions()
            if p["role"] == "reader"
        }
        assert readers == {collector}


@pytest.mark.airflow
def test_the_dag_shares_by_invitation_or_directly_and_records_it(
    airflow_db, boards, sandbox_admin, warehouse
):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS / "dashboard_refresh.py")).get_dag("dashboard_refresh")
    sandbox_admin("google-accounts", {"emails": ["bob@example.com"], "replace": True})
    run = dag.test(run_conf={"chunk_size": 1})
    assert str(run.state) == "success"
    assert _share_modes(warehouse) == {
        "alice@example.com": "invitation",
        "bob@example.com": "direct",
    }
