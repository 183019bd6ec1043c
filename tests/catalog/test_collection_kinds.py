"""Paid, practice and self-serve collections on a real PostgreSQL: who sees them, who reviews
them, what is scored, shown and paid."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from collector_tools.demo_files import DEMO_EPOCH, demo_collections
from scoring_world import T0, World

from collector.catalog.collections import load_catalog
from collector.catalog.master_sheet import MASTER_HEADER, definition_row
from collector.catalog.self_serve import (
    SelfServeError,
    SpecError,
    define_collection,
    list_collections,
    owner_project_id,
    promote_collection,
    publish_owner_catalog,
    retire_collection,
)
from collector.catalog.updates import apply_master_sheet, build_catalogs
from collector.dashboards.content import PRACTICE_PAYMENT, build_dashboards
from collector.payouts.ledger import freeze_week
from collector.payouts.profiles import set_payment_profile
from collector.review.queue import pending_rows
from collector.scoring.scores import affected_videos, score_videos

WEEK = date(2026, 11, 16)  # T0 is Monday 2026-11-16 18:00 ET
ANN = "ann@x.org"
OWNER = "owner@example.com"
SPEC = """\
name: Open my own door
description: At home, open and close the front door.
activity_shortnames: [Open, Close]
activity_categories: [person_opens_door, person_closes_door]
required_activity_count: 2
pay_per_video_usd: 9.00
"""


def rows(conn, sql: str, *args) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        found = cur.fetchall()
    conn.commit()
    return found


def _worlds(conn) -> tuple[World, World, World]:
    """A paid campaign, a practice collection and a self-serve one, all paying on paper."""
    paid = World(conn, pay_per_video_cents=300)
    practice = World(
        conn,
        collection_id="P000C002",
        project_id="P000",
        kind="practice",
        pay_per_video_cents=500,
        perfect_bonus_cents=100,
    )
    own = World(
        conn,
        collection_id="S0A1B2C3D",
        project_id=owner_project_id(ANN),
        kind="self_serve",
        owner_email=ANN,
        pay_per_video_cents=700,
    )
    return paid, practice, own


def test_the_warehouse_checks_kind_and_owner(warehouse):
    World(warehouse)
    with pytest.raises(psycopg2.errors.CheckViolation):
        with warehouse.cursor() as cur:
            cur.execute(
                "UPDATE collection_versions SET kind = 'self_serve' WHERE collection_id = 'P004C009'"
            )
    warehouse.rollback()
    with pytest.raises(psycopg2.errors.CheckViolation):
        with warehouse.cursor() as cur:
            cur.execute("UPDATE collection_versions SET owner_email = 'a@b.org'")
    warehouse.rollback()
    assert rows(warehouse, "SELECT DISTINCT kind FROM collection_versions") == [("paid",)]


def test_practice_is_scored_shown_unpaid_and_never_rate_limited(warehouse):
    paid, practice, own = _worlds(warehouse)
    early = paid.video(collector=ANN, at=T0)
    late = paid.video(collector=ANN, at=T0 + timedelta(hours=1))  # supersedes the early one
    tries = [
        practice.video(collector=ANN, at=T0, labels=("good", "perfect")),
        practice.video(
            collector=ANN,
            at=T0 + timedelta(hours=1),
            labels=("good", ("box_too_big", "incorrect_timing")),  # 0.625
        ),
        practice.video(collector=ANN, at=T0 + timedelta(hours=2), labels=("incorrect_label",) * 2),
    ]
    mine = [own.video(collector=ANN, at=T0 + timedelta(hours=h)) for h in (0, 1)]
    score_videos(warehouse)

    assert paid.score(early)["status"] == "superseded" and paid.score(late)["accepted"]
    statuses = [practice.score(v) for v in tries]
    assert [s["status"] for s in statuses] == ["accepted", "rejected", "rejected"]
    assert all("rate_limit_exceeded" not in s["flags"] for s in statuses)
    # Self-serve videos are never scored for pay, even when rated (here by SQL).
    assert rows(
        warehouse, "SELECT count(*) FROM video_scores WHERE video_id = ANY(%s)", (mine,)
    ) == [(0,)]
    assert rows(
        warehouse, "SELECT count(*) FROM activity_scores WHERE video_id = ANY(%s)", (mine,)
    ) == [(0,)]
    # ... nor taken for "not scored yet" by every hourly run for ever after.
    later = T0 + timedelta(days=30)
    assert set(affected_videos(warehouse, later, later + timedelta(hours=1))).isdisjoint(mine)

    [board] = build_dashboards(warehouse, [ANN], T0 + timedelta(days=1)).values()
    by_id = {row[0]: row for row in board.videos}
    assert set(by_id) == {early, late, *tries}  # the self-serve videos are not on it
    first = by_id[tries[0]]
    assert first[3] == "Open: Good; Close: Perfect"
    assert first[6] == '=IF(1>=0.75,"YES","NO")'
    assert first[8] == PRACTICE_PAYMENT and "never paid" in PRACTICE_PAYMENT
    assert by_id[tries[1]][3] == "Open: Good; Close: Box too big, Incorrect timing"
    assert by_id[tries[1]][8] == PRACTICE_PAYMENT
    assert by_id[late][8] == "expected $3.00"
    summary = dict(board.summary)
    assert summary["This week's expected payment (USD)"] == "$3.00"
    assert summary["Practice videos (never paid)"] == "3 submitted, 1 accepted"
    assert summary["Acceptance rate (decided videos)"] == "50%"  # paid ones only
    assert board.payments == [["2026-11-16", 1, "$3.00", "", "expected (this week)", ""]]


def test_only_paid_videos_are_ever_frozen_into_a_payout(warehouse):
    paid, practice, own = _worlds(warehouse)
    paid.video(collector=ANN, at=T0)
    practice.video(collector=ANN, at=T0, labels=("perfect", "perfect"))
    own.video(collector=ANN, at=T0, labels=("perfect", "perfect"))
    own.video(collector="bob@x.org", at=T0)
    score_videos(warehouse)
    accepted = rows(
        warehouse,
        "SELECT collection_id, count(*) FROM video_scores WHERE accepted GROUP BY 1 ORDER BY 1",
    )
    assert accepted == [("P000C002", 1), ("P004C009", 1)]  # self-serve: never scored
    set_payment_profile(warehouse, ANN, "paypal", ANN, "test")
    set_payment_profile(warehouse, "bob@x.org", "payoneer", "BOB-1", "test")
    warehouse.commit()

    frozen = freeze_week(warehouse, WEEK, ["paypal", "payoneer"], "test")
    warehouse.commit()
    assert [(b.provider, b.total_cents) for b in frozen.batches] == [("paypal", 300)]
    assert frozen.held_collectors == 0  # bob has nothing payable: not held either
    claimed = rows(warehouse, "SELECT collection_id, pay_cents FROM payout_item_videos")
    assert claimed == [("P004C009", 300)]
    # Next week's run takes nothing more: the others are never payable.
    again = freeze_week(warehouse, WEEK + timedelta(days=7), ["paypal", "payoneer"], "test")
    assert again.batches == []


def test_self_serve_activities_never_enter_the_review_queue(warehouse):
    paid, practice, own = _worlds(warehouse)
    for world in (paid, practice, own):
        world.video(collector=ANN, labels=(None, None))
    with warehouse.cursor() as cur:
        cur.execute("DELETE FROM review_queue_rows")
        cur.execute(
            "INSERT INTO quicklooks (video_id, activity_index, annotation_sha256, status, "
            "image_uri) SELECT video_id, activity_index, '-', 'ok', 'q.jpg' FROM activities"
        )
        cur.execute("UPDATE consent_records SET quicklook_status = 'ok', quicklook_uri = 'c.jpg'")
    warehouse.commit()
    queued = pending_rows(warehouse)
    assert sorted({row[2] for row in queued}) == ["P000C002", "P004C009"]
    assert len(queued) == 4


def _apply_sheet(conn, moment: datetime) -> dict:
    sheet = [MASTER_HEADER, *[definition_row(d) for d in demo_collections()]]
    return apply_master_sheet(conn, sheet, effective_at=moment, today=moment.date()).summary()


def test_define_change_retire_and_only_the_owner_may(seeded_warehouse, tmp_path):
    conn = seeded_warehouse
    now = DEMO_EPOCH
    _apply_sheet(conn, now)
    done = define_collection(conn, SPEC, " Owner@Example.com", now=now)
    cid = done.collection_id
    assert cid.startswith("S") and len(cid) == 9
    assert (done.outcome, done.version, done.enabled, done.reason) == (
        "created",
        1,
        True,
        "enabled",
    )
    d = done.definition
    assert (d.kind, d.owner_email, d.project_id) == ("self_serve", OWNER, owner_project_id(OWNER))
    assert (d.pay_per_video_cents, d.perfect_bonus_cents) == (0, 0)  # whatever the spec says
    assert done.notes and "pays nothing" in done.notes[0]

    again = define_collection(conn, SPEC, OWNER, now=now + timedelta(hours=1))
    assert (again.collection_id, again.outcome, again.version) == (cid, "unchanged", 1)
    changed = define_collection(
        conn, SPEC.replace("front door", "back door"), OWNER, now=now + timedelta(hours=2)
    )
    assert (changed.collection_id, changed.outcome, changed.version) == (cid, "changed", 2)

    stranger = SPEC + f"collection_id: {cid}\n"
    with pytest.raises(SelfServeError, match="belongs to another owner"):
        define_collection(conn, stranger, "mallory@example.com", now=now)
    with pytest.raises(SelfServeError, match="belongs to another owner"):
        retire_collection(conn, cid, owner="mallory@example.com")
    with pytest.raises(SelfServeError, match="master sheet"):
        retire_collection(conn, "P004C009", owner=OWNER)
    with pytest.raises(SpecError) as bad:
        define_collection(conn, SPEC.replace("[Open, Close]", "[Open]"), OWNER, source="s.yaml")
    assert str(bad.value).startswith("s.yaml:4: activity_categories: lists 2 categories")
    assert len(load_catalog(conn).history(cid)) == 2  # refusals changed nothing

    # The daily master-sheet update does not disable it for being absent from the sheet.
    summary = _apply_sheet(conn, now + timedelta(days=1))
    assert cid in summary["enabled"]

    retired = retire_collection(conn, cid, owner=OWNER, now=now + timedelta(days=1, hours=1))
    assert (retired.version, retired.enabled, retired.reason) == (3, False, "retired")
    [listed] = list_collections(conn, OWNER)
    assert (listed.collection_id, listed.kind, listed.enabled, listed.reason) == (
        cid,
        "self_serve",
        False,
        "retired",
    )
    assert _apply_sheet(conn, now + timedelta(days=2))["disabled"][cid] == "retired"
    revived = define_collection(conn, SPEC, OWNER, now=now + timedelta(days=3))
    assert (revived.collection_id, revived.version, revived.enabled) == (cid, 4, True)


def test_catalogs_public_and_per_owner(seeded_warehouse, tmp_path):
    conn = seeded_warehouse
    now = DEMO_EPOCH
    _apply_sheet(conn, now)
    mine = define_collection(conn, SPEC, OWNER, now=now).collection_id
    other_spec = SPEC.replace("Open my own door", "Wave at home")
    theirs = define_collection(conn, other_spec, "other@example.com", now=now).collection_id
    gone = define_collection(conn, other_spec, OWNER, now=now).collection_id
    retire_collection(conn, gone, owner=OWNER, now=now)
    demo_ids = sorted(d.collection_id for d in demo_collections())

    public, owners = build_catalogs(conn, now)
    assert [c["collection_id"] for c in public["collections"]] == demo_ids  # practice included
    assert set(owners) == {OWNER, "other@example.com"}
    assert [c["collection_id"] for c in owners[OWNER]["collections"]] == [*demo_ids, mine]
    assert [c["collection_id"] for c in owners["other@example.com"]["collections"]] == [
        *demo_ids,
        theirs,
    ]
    assert owners[OWNER]["collections"][:-1] == public["collections"]

    catalog_url = str(tmp_path / "catalog" / "collections.json")
    path = Path(publish_owner_catalog(conn, " OWNER@example.com", catalog_url, now=now))
    digest = hashlib.sha256(OWNER.encode()).hexdigest()[:20]
    assert path == tmp_path / "catalog" / "users" / f"{digest}.json"
    published = json.loads(path.read_text())
    assert [c["collection_id"] for c in published["collections"]] == [*demo_ids, mine]
    entry = published["collections"][-1]
    assert entry["name"] == "Open my own door" and entry["project_id"] == owner_project_id(OWNER)
    assert OWNER not in path.read_text() and OWNER not in str(path)
    assert not (tmp_path / "catalog" / "collections.json").exists()  # only the owner's file


def test_promote_pays_later_videos_only(warehouse):
    own = World(
        warehouse,
        collection_id="S0A1B2C3D",
        project_id=owner_project_id(ANN),
        kind="self_serve",
        owner_email=ANN,
    )
    before = own.video(collector=ANN, at=T0)
    promoted_at = T0 + timedelta(days=1)
    done = promote_collection(
        warehouse, "S0A1B2C3D", pay_per_video_cents=250, perfect_bonus_cents=50, now=promoted_at
    )
    assert (done.version, done.outcome, done.definition.kind) == (2, "changed", "paid")
    assert done.definition.owner_email is None
    catalog = load_catalog(warehouse)
    assert catalog.version_at("S0A1B2C3D", T0).definition.kind == "self_serve"
    assert catalog.version_at("S0A1B2C3D", promoted_at).definition.kind == "paid"
    assert catalog.owner_of("S0A1B2C3D") == ANN  # kept in the history
    assert catalog.latest("S0A1B2C3D").valid_from == promoted_at

    # A self-serve video just before, at the same place, is no competitor of the first paid
    # one: neither for the rate limit nor as a repeated GPS location.
    place = {"lat": 38.9, "lon": -77.0, "accuracy": 5}
    just_before = own.video(collector=ANN, at=promoted_at - timedelta(hours=1), **place)
    after = own.video(collector=ANN, at=promoted_at + timedelta(hours=1), version=2, **place)
    score_videos(warehouse)
    assert own.score(after)["accepted"]
    unscored = "SELECT count(*) FROM video_scores WHERE video_id = ANY(%s)"
    assert rows(warehouse, unscored, ([before, just_before],)) == [(0,)]  # self-serve: never
    again = own.video(collector=ANN, at=promoted_at + timedelta(days=1), version=2, **place)
    score_videos(warehouse)
    assert own.score(again)["flags"] == ["repeated_gps_location"]  # paid against paid: as ever
    set_payment_profile(warehouse, ANN, "paypal", ANN, "test")
    warehouse.commit()
    frozen = freeze_week(warehouse, WEEK, ["paypal"], "test")
    warehouse.commit()
    assert [b.total_cents for b in frozen.batches] == [250]
    assert rows(warehouse, "SELECT video_id FROM payout_item_videos") == [(after,)]
    [board] = build_dashboards(warehouse, [ANN], promoted_at).values()
    assert [row[0] for row in board.videos] == [again, after]  # not the self-serve ones

    [listed] = list_collections(warehouse, ANN)
    assert (listed.kind, listed.promoted_at) == ("paid", promoted_at)
    with pytest.raises(SelfServeError, match="became a paid campaign"):
        retire_collection(warehouse, "S0A1B2C3D", owner=ANN)
    retired = retire_collection(warehouse, "S0A1B2C3D", owner=None, now=promoted_at)
    assert (retired.version, retired.enabled, retired.reason) == (3, False, "retired")
    World(warehouse)  # P004C009, a master-sheet collection
    with pytest.raises(SelfServeError, match="the master sheet sets its pay"):
        promote_collection(warehouse, "P004C009", pay_per_video_cents=100)
    with pytest.raises(SelfServeError, match="more than"):
        promote_collection(warehouse, "S0A1B2C3D", pay_per_video_cents=0)


def test_self_serve_submissions_ingest_get_quicklooks_and_can_be_exported(
    seeded_warehouse, demo_area, landing, tmp_path
):
    from collector.intake.ingest import ingest_landing_area
    from collector.review.quicklook_jobs import find_stale_activities, load_jobs, render_and_store

    conn = seeded_warehouse
    defined = define_collection(conn, SPEC, OWNER, now=DEMO_EPOCH.replace(day=1))
    source = demo_area.by_case("portrait_rotated")  # a P004C009 upload with Open and Close
    document = json.loads((landing / source.file_name).read_text())
    document["metadata"]["collection_id"] = defined.collection_id
    document["metadata"]["project_id"] = defined.definition.project_id
    (landing / source.file_name).write_text(json.dumps(document))

    report = ingest_landing_area(
        conn,
        landing,
        tmp_path / "quarantine",
        mp4_wait=timedelta(hours=24),
        now=datetime(2026, 11, 26, 12, tzinfo=UTC),
    )
    assert source.file_name in report.ingested
    [(cid, version, collector)] = rows(
        conn,
        "SELECT collection_id, collection_version, collector_id FROM videos WHERE video_id = %s",
        source.video_id,
    )
    assert (cid, version) == (defined.collection_id, 1)

    keys = find_stale_activities(conn, video_ids=[source.video_id])
    assert len(keys) == 2
    results = render_and_store(load_jobs(conn, keys), tmp_path / "quicklooks", now=DEMO_EPOCH)
    assert [r["status"] for r in results] == ["ok", "ok"]
    assert all(Path(r["image_uri"]).stat().st_size > 0 for r in results)

    from collector.delivery.uploads import deliverables

    exported = {d.path for d in deliverables(conn, collector) if d.video_id == source.video_id}
    assert f"/{source.video_id}.mp4" in exported and len(exported) == 2  # video + annotation


def test_the_collections_cli(seeded_warehouse, tmp_path, monkeypatch, capsys):
    from collector_tools.cli import main

    catalog = tmp_path / "catalog" / "collections.json"
    monkeypatch.setenv("COLLECTOR_CATALOG_URL", str(catalog))
    monkeypatch.chdir(tmp_path)
    Path("spec.yaml").write_text(SPEC)
    Path("bad.yaml").write_text(SPEC.replace("required_activity_count: 2", "score_threshold: hi"))
    owner_file = (
        catalog.parent / "users" / f"{hashlib.sha256(OWNER.encode()).hexdigest()[:20]}.json"
    )

    assert main(["collections", "define", "spec.yaml", "--owner", "Owner@Example.com"]) == 0
    out = capsys.readouterr().out
    cid = out.split()[0]
    assert f"{cid} version 1: created (enabled)" in out
    assert "note: pay_per_video_usd is ignored" in out
    assert f"catalog: {owner_file}" in out
    assert json.loads(owner_file.read_text())["collections"][-1]["collection_id"] == cid

    assert main(["collections", "define", "bad.yaml", "--owner", OWNER]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "bad.yaml:5: score_threshold: expected a number between 0 and 1, got 'hi'"
    assert err[-1] == "collector: bad.yaml: 1 problem(s), nothing changed"

    assert main(["collections", "list", "--owner", OWNER]) == 0
    assert capsys.readouterr().out.split()[:4] == [cid, "v1", "self_serve", "enabled"]
    assert main(["collections", "retire", cid, "--owner", "mallory@example.com"]) == 2
    assert "belongs to another owner" in capsys.readouterr().err
    assert main(["collections", "retire", cid, "--owner", OWNER]) == 0
    assert f"{cid} version 2: changed (disabled: retired)" in capsys.readouterr().out
    assert json.loads(owner_file.read_text())["collections"] == []  # no status for the rest

    assert main(["collections", "promote", cid, "--pay-usd", "3.001"]) == 2
    assert "at most 2 decimals" in capsys.readouterr().err
    assert main(["collections", "promote", cid, "--pay-usd", "$2.50", "--threshold", "0.8"]) == 0
    out = capsys.readouterr().out
    assert f"{cid} version 3: changed (disabled: retired): a paid campaign, $2.50 a video" in out
    assert f"catalog: {catalog}" in out  # the public catalog is republished too
    [version] = load_catalog(seeded_warehouse).history(cid)[-1:]
    assert (version.definition.kind, version.definition.score_threshold) == ("paid", Decimal("0.8"))


def test_migration_015_removes_scores_self_serve_videos_were_given(warehouse):
    """What the scorer did before self-serve videos were left out: their scores go, others stay."""
    from collector.core import settings

    paid, _, own = _worlds(warehouse)
    kept = paid.video(collector=ANN, at=T0)
    mine = own.video(collector=ANN, at=T0)
    with warehouse.cursor() as cur:  # as an old scorer saw it: scored like any other video
        cur.execute(
            "UPDATE collection_versions SET kind = 'paid', owner_email = NULL "
            "WHERE collection_id = 'S0A1B2C3D'"
        )
    score_videos(warehouse)
    with warehouse.cursor() as cur:
        cur.execute(
            "UPDATE collection_versions SET kind = 'self_serve', owner_email = %s "
            "WHERE collection_id = 'S0A1B2C3D'",
            (ANN,),
        )
    warehouse.commit()
    assert rows(warehouse, "SELECT count(*) FROM video_scores WHERE video_id = %s", (mine,)) == [
        (1,)
    ]

    with warehouse.cursor() as cur:
        cur.execute((settings.sql_dir() / "015_self_serve_unscored.sql").read_text())
    warehouse.commit()
    assert rows(warehouse, "SELECT video_id FROM video_scores") == [(kept,)]
    assert rows(warehouse, "SELECT DISTINCT video_id FROM activity_scores") == [(kept,)]
