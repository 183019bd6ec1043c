"""`collector show ...` and `collector db shell`: what the demo and scripts read from the
warehouse without psql (issue 17, item 7), against a real warehouse."""

from __future__ import annotations

import re
from pathlib import Path

from collector_tools.cli import main
from scoring_world import World

ROOT = Path(__file__).resolve().parents[2]


def _show(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["show", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_nothing_yet_exits_1_with_a_reason_and_prints_nothing(warehouse, capsys):
    for args, reason in [
        (["sheet", "review_queue"], "no review_queue sheet yet"),
        (["sheet", "ops_summary"], "no ops_summary sheet yet"),
        (["dashboard"], "no dashboard sheet yet"),
        (["dashboard", "nobody@x.org"], "no dashboard sheet yet for nobody@x.org"),
        (["scored-video"], "no scored video yet"),
        (["payee"], "no collector has payment details yet"),
    ]:
        code, out, err = _show(capsys, *args)
        assert (code, out) == (1, ""), args
        assert reason in err, err


def test_each_lookup_prints_one_value(seeded_warehouse, capsys):
    from collector.payouts.profiles import set_payment_profile
    from collector.scoring.scores import score_videos

    world = World(seeded_warehouse)
    good = world.video(collector="b@x.org", labels=("good", "good"))
    bad = world.video(collector="a@x.org", labels=("box_too_big", "incorrect_timing"))
    score_videos(seeded_warehouse, None)
    set_payment_profile(seeded_warehouse, "b@x.org", "paypal", "b.pay@x.org", "test")
    set_payment_profile(seeded_warehouse, "a@x.org", "paypal", "a.pay@x.org", "test")
    with seeded_warehouse.cursor() as cur:
        cur.execute(
            "INSERT INTO managed_spreadsheets (purpose, spreadsheet_id, title) VALUES "
            "('review_queue', 'sheet-rq', 'Review queue'), ('ops_summary', 'sheet-ops', 'Ops')"
        )
        for collector, sheet in [("b@x.org", "dash-b"), ("a@x.org", "dash-a")]:
            cur.execute(
                "INSERT INTO collector_dashboards (collector_id, spreadsheet_id, sheet_ids) "
                "VALUES (%s, %s, '{}')",
                (collector, sheet),
            )
    seeded_warehouse.commit()

    assert _show(capsys, "sheet", "review_queue")[:2] == (0, "sheet-rq\n")
    assert _show(capsys, "sheet", "ops_summary")[:2] == (0, "sheet-ops\n")
    assert _show(capsys, "dashboard")[:2] == (0, "dash-a\n")  # the first collector's
    assert _show(capsys, "dashboard", "B@x.org ")[:2] == (0, "dash-b\n")
    assert _show(capsys, "payee")[:2] == (0, "a@x.org\n")
    with seeded_warehouse.cursor() as cur:
        cur.execute("SELECT video_id, status FROM video_scores")
        status = dict(cur.fetchall())
    seeded_warehouse.commit()
    assert status[bad] == "rejected" and status[good] != "rejected"
    assert _show(capsys, "scored-video")[:2] == (0, f"{bad}\n")  # a rejected one first


def test_db_shell_without_psql_says_where_the_warehouse_is(
    warehouse_url, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no psql on PATH
    assert main(["db", "shell"]) == 1
    err = capsys.readouterr().err
    assert "psql is not installed" in err and warehouse_url in err


def test_next_release_version(warehouse):
    from psycopg2.extras import Json

    from collector.release.plan import next_release_version

    assert next_release_version(warehouse, "pip") == "1.0"
    with warehouse.cursor() as cur:
        for version in ("1.0", "1.9", "1.10"):
            cur.execute(
                "INSERT INTO dataset_releases (name, version, status, params, output_uri) "
                "VALUES ('pip', %s, 'building', %s, '/tmp')",
                (version, Json({})),
            )
    warehouse.commit()
    assert next_release_version(warehouse, "pip") == "1.11"
    assert next_release_version(warehouse, "other") == "1.0"


def test_scripts_never_call_psql():
    """The README installs Python only: scripts use the project's CLI, not PostgreSQL's client."""
    offenders = []
    for script in sorted((ROOT / "scripts").glob("*.sh")):
        for number, line in enumerate(script.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"(^|[\s;|&(`$])psql(\s|$|\))", code):
                offenders.append(f"{script.name}:{number}: {line.strip()}")
    assert offenders == []
