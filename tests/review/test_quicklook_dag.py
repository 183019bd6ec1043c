"""The quicklook DAG run for real (dag.test) on the ingested demo data."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def quicklook_dag(airflow_db):  # DagBag.get_dag reads the metadata DB
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "quicklook_generation.py")).get_dag("quicklook_generation")


def _ingest(conn, landing: Path, tmp_path: Path) -> None:
    from collector.intake.ingest import ingest_landing_area

    ingest_landing_area(
        conn, landing, tmp_path / "q", mp4_wait=timedelta(days=1), now=datetime.now(UTC)
    )


def _rows(conn, sql: str, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        result = cur.fetchall()
    conn.commit()
    return result


@pytest.mark.airflow
@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_every_activity_gets_a_quicklook_and_a_rerun_renders_nothing(
    airflow_db, quicklook_dag, seeded_warehouse, demo_area, landing, tmp_path
):
    _ingest(seeded_warehouse, landing, tmp_path)
    activities = _rows(seeded_warehouse, "SELECT video_id, activity_index FROM activities")
    # One video's MP4 goes missing and another's is corrupt after ingest: flagged, not fatal.
    videos = sorted({video_id for video_id, _ in activities})
    (landing / f"{videos[0]}.mp4").unlink()
    corrupt = landing / f"{videos[1]}.mp4"
    corrupt.unlink()  # a hard link to the session's demo area: replace it, never edit it
    corrupt.write_bytes(b"\x00" * 5000)
    broken_activities = sum(1 for video_id, _ in activities if video_id in videos[:2])
    assert len(activities) > 15
    output = tmp_path / "quicklooks"
    conf = {"output_url": str(output), "batch_size": 4}

    run = quicklook_dag.test(run_conf=conf)
    assert str(run.state) == "success"
    rendered = _rows(
        seeded_warehouse,
        "SELECT video_id, activity_index, status, reason, image_uri, image_bytes, frame_indices, "
        "render_ms FROM quicklooks",
    )
    assert {(r[0], r[1]) for r in rendered} == set(activities)
    for video_id, _, status, reason, image_uri, size, frames, render_ms in rendered:
        if video_id == videos[0]:
            assert status == "failed" and "MP4 not found" in reason
        elif video_id == videos[1]:
            assert status == "failed" and "could not be decoded" in reason
        else:
            assert status == "ok", reason
            path = Path(image_uri.removeprefix("file://"))
            assert path.stat().st_size == size and path.read_bytes()[:2] == b"\xff\xd8"
            assert len(frames) == 9 and render_ms > 0
    # The reviewers' contact sheet lists every activity, failures flagged with their reason.
    [sheet] = output.glob("contact-sheet-*.html")
    page = sheet.read_text()
    assert page.count('class="card"') == sum(1 for r in rendered if r[2] == "ok")
    assert page.count('class="card failed"') == broken_activities and "MP4 not found" in page
    for _, _, status, _, image_uri, *_ in rendered:
        if status == "ok":
            relative = image_uri.removeprefix("file://").removeprefix(str(output) + "/")
            assert f'src="{relative}"' in page and (output / relative).exists()

    before = _rows(seeded_warehouse, "SELECT * FROM quicklooks ORDER BY 1, 2")
    again = quicklook_dag.test(run_conf=conf)
    assert str(again.state) == "success"
    assert _rows(seeded_warehouse, "SELECT * FROM quicklooks ORDER BY 1, 2") == before
    states = {ti.task_id: str(ti.state) for ti in again.get_task_instances()}
    assert states["publish_quicklooks"] == "skipped"  # nothing new, no Asset event


@pytest.mark.airflow
@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_an_edit_makes_the_quicklook_stale(
    airflow_db, quicklook_dag, seeded_warehouse, demo_area, landing, tmp_path
):
    _ingest(seeded_warehouse, landing, tmp_path)
    conf = {"output_url": str(tmp_path / "quicklooks")}
    assert str(quicklook_dag.test(run_conf=conf).state) == "success"
    target = next(f for f in demo_area.files if f.case == "category_variant")
    edited = json.loads((landing / target.file_name).read_text())
    edited["activity"][0]["end_frame"] -= 5
    (landing / f"{target.video_id}_1795100000000.json").write_text(json.dumps(edited))
    _ingest(seeded_warehouse, landing, tmp_path)
    stale = _rows(
        seeded_warehouse,
        "SELECT count(*) FROM activities a LEFT JOIN quicklooks q USING (video_id, activity_index) "
        "WHERE q.video_id IS NULL",
    )
    assert stale == [(2,)]  # both activities of the edited video, nothing else
    assert str(quicklook_dag.test(run_conf=conf).state) == "success"
    frames = _rows(
        seeded_warehouse,
        "SELECT frame_indices FROM quicklooks WHERE video_id = %s AND activity_index = 0",
        target.video_id,
    )
    assert frames[0][0][-1] == edited["activity"][0]["end_frame"]


@pytest.mark.airflow
@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_consent_quicklooks_are_rendered_and_a_new_consent_alone_is_published(
    airflow_db, quicklook_dag, seeded_warehouse, demo_area, landing, tmp_path
):
    _ingest(seeded_warehouse, landing, tmp_path)
    output = tmp_path / "quicklooks"
    conf = {"output_url": str(output)}
    assert str(quicklook_dag.test(run_conf=conf).state) == "success"
    consents = _rows(
        seeded_warehouse, "SELECT quicklook_status, quicklook_uri FROM consent_records"
    )
    assert len(consents) == len(demo_area.consents)
    for status, uri in consents:
        image = Path(uri.removeprefix("file://"))
        assert status == "ok" and image.read_bytes()[:2] == b"\xff\xd8"
        assert image.parent == output / "consents"

    # A consent uploaded later, with no new activity: rendered, and the run still publishes.
    source = landing / demo_area.consents[0]
    record = json.loads(source.read_text())
    record["consent"] |= {"consent_id": "C7777", "subject_email": "late.subject@example.org"}
    (landing / "consent_C7777.json").write_text(json.dumps(record))
    os.link(landing / source.name.replace(".json", ".mp4"), landing / "consent_C7777.mp4")
    _ingest(seeded_warehouse, landing, tmp_path)
    run = quicklook_dag.test(run_conf=conf)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["publish_quicklooks"] == "success", states
    assert _rows(
        seeded_warehouse, "SELECT quicklook_status FROM consent_records WHERE consent_id = 'C7777'"
    ) == [("ok",)]


@pytest.mark.airflow
@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_a_video_stream_shorter_than_the_app_says_gets_what_exists_through_the_dag(
    airflow_db, quicklook_dag, seeded_warehouse, demo_area, landing, tmp_path
):
    """Issue 19, case 6, through quicklook_generation: an MP4 whose video stream stops early
    while its audio runs on (the app's JSON still says the full length). The activity that
    starts before the stream's end gets a montage of the frames that exist; one wholly past it
    fails with a reason naming the stream's last frame, not a guess at corruption."""
    import subprocess

    from collector.core.media import ffmpeg_binary

    _ingest(seeded_warehouse, landing, tmp_path)
    activities = _rows(
        seeded_warehouse,
        "SELECT video_id, activity_index, start_frame, end_frame FROM activities "
        "ORDER BY video_id, start_frame",
    )
    by_video: dict[str, list] = {}
    for video_id, index, start, end in activities:
        by_video.setdefault(video_id, []).append((index, start, end))
    # A video with two activities that do not overlap: cut its stream inside the first one.
    video_id, ((first, first_start, first_end), (second, _, _)) = next(
        (v, acts[:2])
        for v, acts in sorted(by_video.items())
        if len(acts) >= 2 and acts[0][2] + 1 < acts[1][1]
    )
    keep = first_start + (first_end - first_start) // 2  # frames the stream keeps
    source = landing / f"{video_id}.mp4"
    short = tmp_path / "short.mp4"
    subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-i", str(source), "-f", "lavfi",
         "-i", "anullsrc=r=48000:cl=mono", "-map", "0:v:0", "-map", "1:a:0",
         "-frames:v", str(keep), "-c:v", "copy", "-c:a", "aac", "-t", "60", str(short)],
        check=True,
    )  # fmt: skip
    source.unlink()  # a hard link to the session's demo area: replace it, never edit it
    short.rename(source)

    run = quicklook_dag.test(run_conf={"output_url": str(tmp_path / "quicklooks")})
    assert str(run.state) == "success"
    results = {
        index: (status, reason, frames)
        for index, status, reason, frames in _rows(
            seeded_warehouse,
            "SELECT activity_index, status, reason, frame_indices FROM quicklooks "
            "WHERE video_id = %s",
            video_id,
        )
    }
    status, reason, frames = results[first]
    assert status == "ok", reason
    assert frames[0] == first_start and frames[-1] == keep - 1 and len(frames) == 9
    status, reason, _ = results[second]
    assert status == "failed" and f"ends at frame {keep - 1}" in reason, reason
    assert "truncated or corrupt" not in reason
