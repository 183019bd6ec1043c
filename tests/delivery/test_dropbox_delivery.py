"""Dropbox delivery with the unmodified ``dropbox`` SDK against the sandbox: links made through
our own OAuth code (PKCE), uploads counted by the sandbox, faults switched on by its admin API."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from demo_pipeline import rows
from dropbox.exceptions import AuthError
from dropbox_world import NOW, collectors_with_videos, make_world

from collector.delivery import links, uploads
from collector.delivery.vault import TokenVault, VaultError, new_key
from collector.intake.ingest import ingest_landing_area


@pytest.fixture
def world(seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch):
    return make_world(seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch)


def test_first_delivery_uploads_everything_and_a_rerun_nothing(world):
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    videos = rows(world.conn, "SELECT video_id FROM videos WHERE collector_id = %s", alice)
    first = world.deliver(alice)
    assert first["uploaded"] == 2 * len(videos) and first["deferred"] == 0
    files = world.files("alice.box@example.com")
    for (video_id,) in videos:
        assert (
            files[f"/{video_id}.mp4"]["size"] == (world.landing / f"{video_id}.mp4").stat().st_size
        )
        assert any(p.startswith(f"/{video_id}_") and p.endswith(".json") for p in files)
    mp4 = next(iter(videos))[0]
    assert files[f"/{mp4}.mp4"]["content_hash"] == uploads.content_hash(
        world.landing / f"{mp4}.mp4"
    )

    world.admin("reset-stats")
    second = world.deliver(alice)
    assert second["uploaded"] == 0 and second["already_delivered"] == 2 * len(videos)
    assert world.stats("alice.box@example.com").get("requests", 0) == 0  # not one request


def test_an_edit_adds_one_json_beside_the_old_one(world, tmp_path):
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    world.deliver(alice)
    [(video_id, current)] = rows(
        world.conn,
        "SELECT video_id, current_annotation FROM videos WHERE collector_id = %s "
        "ORDER BY video_id LIMIT 1",
        alice,
    )
    edited = json.loads((world.landing / current).read_text())
    edited["activity"][0]["end_frame"] -= 2
    (world.landing / f"{video_id}_1895100000000.json").write_text(json.dumps(edited))
    ingest_landing_area(
        world.conn, world.landing, tmp_path / "q", mp4_wait=timedelta(hours=1), now=NOW
    )
    world.admin("reset-stats")
    result = world.deliver(alice)
    assert result["uploaded"] == 1
    jsons = sorted(p for p in world.files("alice.box@example.com") if p.startswith(f"/{video_id}_"))
    assert len(jsons) == 2 and f"/{video_id}_1895100000000.json" in jsons
    assert world.stats("alice.box@example.com")["uploads"] == 1


def test_lost_records_are_found_by_content_hash_not_uploaded_again(world):
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    first = world.deliver(alice)
    with world.conn.cursor() as cur:
        cur.execute("DELETE FROM dropbox_deliveries")  # as if the run died after uploading
    world.conn.commit()
    world.admin("reset-stats")
    again = world.deliver(alice)
    assert again["uploaded"] == 0 and again["same_content"] == first["uploaded"]
    assert world.stats("alice.box@example.com").get("uploads", 0) == 0


def test_a_429_storm_loses_nothing(world, monkeypatch):
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    waits: list[float] = []
    monkeypatch.setattr(uploads.time, "sleep", waits.append)
    # Longer than two calls' attempts (8 each): the folder listing gives up (every file is then
    # sent), the first upload too (that file waits for the next run), the rest go on.
    world.admin("faults", {"kind": "too_many_requests", "count": 17, "retry_after": 3})
    first = world.deliver(alice)
    assert waits == [3.0] * 17  # Retry-After honoured every time
    assert first["deferred"] == 1 and first["uploaded"] > 0
    second = world.deliver(alice)
    videos = rows(world.conn, "SELECT count(*) FROM videos WHERE collector_id = %s", alice)[0][0]
    assert first["uploaded"] + second["uploaded"] == 2 * videos and second["deferred"] == 0
    assert len(world.files("alice.box@example.com")) == 2 * videos


def test_a_revoked_token_breaks_one_link_and_not_the_others(world, sandbox_url):
    alice, bob = collectors_with_videos(world.conn)[:2]
    world.link(alice, "alice.box@example.com")
    world.link(bob, "bob.box@example.com")
    world.admin("revoke", {"account": "alice.box@example.com"})
    broken = world.deliver(alice)
    fine = world.deliver(bob)
    assert broken["broken"] and broken["uploaded"] == 0
    assert fine["broken"] is None and fine["uploaded"] > 0
    assert rows(world.conn, "SELECT collector_id, status FROM dropbox_links ORDER BY 1") == sorted(
        [(alice, "broken"), (bob, "linked")]
    )
    assert rows(
        world.conn, "SELECT kind, collector_id FROM collector_events WHERE kind LIKE 'dropbox%%'"
    ) == [("dropbox_link_broken", alice)]
    assert links.linked_collectors(world.conn) == [bob]
    from collector.notify.emails import enqueue_events

    assert enqueue_events(world.conn) == 1
    world.conn.commit()
    assert rows(
        world.conn, "SELECT recipient FROM email_outbox WHERE kind = 'dropbox_link_broken'"
    ) == [(alice,)]


def test_the_refresh_token_is_encrypted_and_never_logged(world, caplog):
    alice = collectors_with_videos(world.conn)[0]
    caplog.set_level(logging.DEBUG)
    world.link(alice, "alice.box@example.com")
    world.deliver(alice)
    [(stored, key_id)] = rows(world.conn, "SELECT refresh_token_enc, key_id FROM dropbox_links")
    token = world.vault.decrypt(stored)
    assert token and token not in stored and key_id == world.vault.key_id
    dump = json.dumps(rows(world.conn, "SELECT * FROM dropbox_links"), default=str)
    dump += json.dumps(rows(world.conn, "SELECT * FROM dropbox_link_requests"), default=str)
    assert token not in dump
    assert token not in caplog.text and "access_token" not in caplog.text

    # Rotation: a new key in front re-encrypts every token; then the old key can go.
    old_keys = os.environ["COLLECTOR_TOKEN_KEYS"].split(",")
    newest = new_key()
    assert links.rotate_keys(world.conn, TokenVault([newest, *old_keys])) == 1
    [(rotated,)] = rows(world.conn, "SELECT refresh_token_enc FROM dropbox_links")
    assert TokenVault([newest]).decrypt(rotated) == token
    with pytest.raises(VaultError):
        TokenVault(old_keys).decrypt(rotated)


def test_unlinking_deletes_the_token(world):
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    token = links.refresh_token(world.conn, world.vault, alice)
    assert links.unlink(world.conn, world.vault, alice, world.portal_app)
    assert rows(world.conn, "SELECT count(*) FROM dropbox_links") == [(0,)]
    assert links.linked_collectors(world.conn) == []
    # ... and Dropbox no longer honours it either.
    from collector_airflow.hooks.dropbox_api import DropboxHook

    with pytest.raises(AuthError):
        DropboxHook().client_for(token).users_get_current_account()


def test_a_160_mb_video_goes_through_an_upload_session(world):
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    [(video_id,)] = rows(
        world.conn,
        "SELECT video_id FROM videos WHERE collector_id = %s ORDER BY video_id LIMIT 1",
        alice,
    )
    big = world.landing / f"{video_id}.mp4"
    big.unlink()  # a hard link to the session's demo area: replace it, never edit it
    block = os.urandom(2**20)
    with big.open("wb") as out:
        for n in range(160):
            out.write(block[n:] + block[:n])
    result = world.deliver(alice)
    assert result["deferred"] == 0
    stats = world.stats("alice.box@example.com")
    assert stats["sessions_started"] == 1
    remote = world.files("alice.box@example.com")[f"/{video_id}.mp4"]
    assert remote["size"] == 160 * 2**20
    assert remote["content_hash"] == uploads.content_hash(big)


def test_a_self_serve_collections_videos_reach_the_owners_dropbox(world, tmp_path):
    from collector_tools.demo import generate_owner_submissions

    from collector.catalog.self_serve import define_collection

    owner = "owner@example.com"
    spec = (Path(__file__).parents[2] / "config/examples/self-serve-collection.yaml").read_text()
    defined = define_collection(world.conn, spec, owner)
    made = generate_owner_submissions(world.landing, defined.definition, owner)
    ingest_landing_area(
        world.conn,
        world.landing,
        tmp_path / "q",
        mp4_wait=timedelta(hours=1),
        now=datetime.now(UTC),
    )
    assert rows(world.conn, "SELECT count(*) FROM videos WHERE collector_id = %s", owner) == [
        (len(made),)
    ]
    world.link(owner, "owner.box@example.com")
    assert world.deliver(owner)["uploaded"] == 2 * len(made)
    delivered = world.files("owner.box@example.com")
    for video_id in made:
        assert f"/{video_id}.mp4" in delivered
        assert any(p.startswith(f"/{video_id}_") and p.endswith(".json") for p in delivered)
