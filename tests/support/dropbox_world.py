"""A Dropbox delivery world for tests: the sandbox's Dropbox, our warehouse with the demo
ingested, links made through our own OAuth code (PKCE) as the portal and a browser would."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from demo_pipeline import rows

from collector.delivery import links
from collector.delivery.vault import TokenVault, new_key
from collector.intake.ingest import ingest_landing_area
from sandbox import dropbox_user

REDIRECT = "http://127.0.0.1:8790/dropbox/callback"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class World:
    """The sandbox's Dropbox, our warehouse with the demo ingested, and Airflow's connection."""

    def __init__(self, sandbox_url: str, conn, landing: Path):
        self.url = sandbox_url
        self.conn = conn
        self.landing = landing
        self.app = requests.get(f"{sandbox_url}/_sandbox/dropbox/app", timeout=10).json()
        self.portal_app = {
            "app_key": self.app["app_key"],
            "app_secret": self.app["app_secret"],
            "api_url": sandbox_url,
            "authorize_url": f"{sandbox_url}/oauth2/authorize",
        }
        self.vault = TokenVault(os.environ["COLLECTOR_TOKEN_KEYS"].split(","))

    def admin(self, path: str, body: dict | None = None, method: str = "post") -> dict:
        call = getattr(requests, method)
        kwargs = {"json": body or {}} if method == "post" else {}
        response = call(f"{self.url}/_sandbox/dropbox/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self, email: str) -> dict:
        return self.admin("stats", method="get")["accounts"].get(email, {})

    def link(self, collector_id: str, dropbox_email: str) -> links.Link:
        """What the portal and the collector's browser do: start, Allow, callback."""
        target = links.start_link(
            self.conn, self.vault, collector_id, self.portal_app, REDIRECT, NOW
        )
        query = dropbox_user.allow(target, dropbox_email)
        return links.finish_link(
            self.conn,
            self.vault,
            collector_id,
            query["code"],
            query["state"],
            self.portal_app,
            REDIRECT,
            NOW,
        )

    def deliver(self, collector_id: str) -> dict:
        from collector_airflow.tasks.delivery import deliver_user

        return deliver_user(collector_id)

    def files(self, email: str) -> dict[str, dict]:
        listed = self.admin(f"files?account={email}", method="get")
        return {f["path_display"]: f for f in listed["entries"]}


def make_world(seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch):
    """The sandbox's Dropbox emptied, Airflow's connections set, the demo ingested."""
    monkeypatch.setenv("COLLECTOR_TOKEN_KEYS", new_key())
    requests.post(f"{sandbox_url}/_sandbox/dropbox/reset", timeout=10).raise_for_status()
    app = requests.get(f"{sandbox_url}/_sandbox/dropbox/app", timeout=10).json()
    monkeypatch.setenv(
        "AIRFLOW_CONN_DROPBOX_DEFAULT",
        json.dumps(
            {
                "conn_type": "dropbox",
                "login": app["app_key"],
                "password": app["app_secret"],
                "extra": {"api_base_url": sandbox_url},
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_CONN_COLLECTOR_WAREHOUSE", warehouse_url)
    ingest_landing_area(
        seeded_warehouse, landing, tmp_path / "q", mp4_wait=timedelta(hours=1), now=NOW
    )
    return World(sandbox_url, seeded_warehouse, landing)


def collectors_with_videos(conn) -> list[str]:
    return [r[0] for r in rows(conn, "SELECT DISTINCT collector_id FROM videos ORDER BY 1")]
