"""Linking a collector's Dropbox (FAQ 3): OAuth 2 code flow with PKCE and offline access.

The portal starts a link (a random ``state`` and a PKCE verifier, kept server-side, encrypted,
for ten minutes), the collector allows it on Dropbox's page, and the callback exchanges the code
for a refresh token, which is stored encrypted (``collector.delivery.vault``) and never logged. Unlinking
deletes it (and asks Dropbox to revoke it, best effort). A link whose token Dropbox refuses is
marked broken and the collector gets an email; delivery to the others goes on.

The app asks only for its own folder ("we can't see your Dropbox"); files go to
``/<video_id>.mp4`` and ``/<video_id>_<stamp>.json`` inside it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

import psycopg2.extensions
import requests
from psycopg2.extras import Json

from collector.delivery.vault import TokenVault

LINK_REQUEST_TTL = timedelta(minutes=10)
HTTP_TIMEOUT_S = 30


class LinkError(ValueError):
    """The link cannot be made; the message is fit for the collector's screen."""


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def start_link(
    conn: psycopg2.extensions.connection,
    vault: TokenVault,
    collector_id: str,
    app: dict[str, str],
    redirect_uri: str,
    now: datetime,
) -> str:
    """Record a link request and return the Dropbox page the collector is sent to."""
    if not app.get("app_key"):
        raise LinkError("Dropbox linking is not configured on this portal yet.")
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO dropbox_link_requests (state_hash, collector_id, verifier_enc,
                   created_at, expires_at) VALUES (%s, %s, %s, %s, %s)""",
            (
                _state_hash(state),
                collector_id,
                vault.encrypt(verifier),
                now,
                now + LINK_REQUEST_TTL,
            ),
        )
    conn.commit()
    query = {
        "client_id": app["app_key"],
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "token_access_type": "offline",
    }
    return f"{app['authorize_url']}?{urlencode(query)}"


def abandon_link(
    conn: psycopg2.extensions.connection, collector_id: str, state: str, now: datetime
) -> None:
    """The collector cancelled on Dropbox's page: the request can no longer be completed."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE dropbox_link_requests SET used_at = %s "
            "WHERE state_hash = %s AND collector_id = %s AND used_at IS NULL",
            (now, _state_hash(state), collector_id),
        )
    conn.commit()


@dataclass(frozen=True)
class Link:
    collector_id: str
    dropbox_account_id: str
    status: str
    linked_at: datetime
    broken_reason: str | None = None


def finish_link(
    conn: psycopg2.extensions.connection,
    vault: TokenVault,
    collector_id: str,
    code: str,
    state: str,
    app: dict[str, str],
    redirect_uri: str,
    now: datetime,
    http: Any = requests,
) -> Link:
    """Exchange the code for a refresh token (PKCE) and store it encrypted."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE dropbox_link_requests SET used_at = %s
               WHERE state_hash = %s AND collector_id = %s AND used_at IS NULL
               RETURNING verifier_enc, expires_at""",
            (now, _state_hash(state), collector_id),
        )
        found = cur.fetchone()
    conn.commit()  # single use, even if the exchange fails
    if found is None:
        raise LinkError("This Dropbox link request is unknown or was already used; start again.")
    verifier_enc, expires_at = found
    if expires_at <= now:
        raise LinkError("This Dropbox link request expired (10 minutes); start again.")
    response = http.post(
        f"{app['api_url']}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": vault.decrypt(verifier_enc),
            "client_id": app["app_key"],
            "redirect_uri": redirect_uri,
        },
        timeout=HTTP_TIMEOUT_S,
    )
    if response.status_code != 200:
        raise LinkError(
            f"Dropbox did not accept the link ({_oauth_error(response)}); please start again."
        )
    body = response.json()
    refresh_token = body.get("refresh_token")
    if not refresh_token:
        raise LinkError("Dropbox gave no offline access (no refresh token); please start again.")
    account = str(body.get("account_id") or body.get("uid") or "")
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO dropbox_links (collector_id, dropbox_account_id, refresh_token_enc,
                   key_id, status, linked_at)
               VALUES (%s, %s, %s, %s, 'linked', %s)
               ON CONFLICT (collector_id) DO UPDATE SET
                   dropbox_account_id = EXCLUDED.dropbox_account_id,
                   refresh_token_enc = EXCLUDED.refresh_token_enc, key_id = EXCLUDED.key_id,
                   status = 'linked', broken_reason = NULL, broken_at = NULL,
                   linked_at = EXCLUDED.linked_at""",
            (collector_id, account, vault.encrypt(refresh_token), vault.key_id, now),
        )
    conn.commit()
    return Link(collector_id, account, "linked", now)


def _oauth_error(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(body.get("error") or f"HTTP {response.status_code}")


def link_of(conn: psycopg2.extensions.connection, collector_id: str) -> Link | None:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT collector_id, dropbox_account_id, status, linked_at, broken_reason
               FROM dropbox_links WHERE collector_id = %s""",
            (collector_id,),
        )
        row = cur.fetchone()
    conn.commit()
    return Link(*row) if row else None


def refresh_token(
    conn: psycopg2.extensions.connection, vault: TokenVault, collector_id: str
) -> str | None:
    """The decrypted refresh token of a working link (for the delivery task only)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT refresh_token_enc FROM dropbox_links WHERE collector_id = %s "
            "AND status = 'linked'",
            (collector_id,),
        )
        row = cur.fetchone()
    conn.commit()
    return vault.decrypt(row[0]) if row else None


def unlink(
    conn: psycopg2.extensions.connection,
    vault: TokenVault,
    collector_id: str,
    app: dict[str, str],
    http: Any = requests,
) -> bool:
    """Delete the stored token; ask Dropbox to revoke it first (best effort)."""
    token = refresh_token(conn, vault, collector_id)
    if token and app.get("app_key"):
        try:
            answer = http.post(
                f"{app['api_url']}/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                    "client_id": app["app_key"],
                    "client_secret": app.get("app_secret", ""),
                },
                timeout=HTTP_TIMEOUT_S,
            )
            if answer.status_code == 200:
                http.post(
                    f"{app['api_url']}/2/auth/token/revoke",
                    headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
                    timeout=HTTP_TIMEOUT_S,
                )
        except requests.RequestException:
            pass  # the token is deleted here anyway; Dropbox lists the app until the user removes it
    with conn.cursor() as cur:
        cur.execute("DELETE FROM dropbox_links WHERE collector_id = %s", (collector_id,))
        deleted = cur.rowcount == 1
    conn.commit()
    return deleted


def mark_broken(
    conn: psycopg2.extensions.connection, collector_id: str, reason: str, now: datetime
) -> bool:
    """Record that Dropbox refuses the link; the first time, queue the email that says so."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE dropbox_links SET status = 'broken', broken_reason = %s, broken_at = %s
               WHERE collector_id = %s AND status = 'linked'""",
            (reason, now, collector_id),
        )
        newly = cur.rowcount == 1
        if newly:
            cur.execute(
                """INSERT INTO collector_events (kind, collector_id, created_at, payload)
                   VALUES ('dropbox_link_broken', %s, %s, %s)""",
                (collector_id, now, Json({"reason": reason})),
            )
    conn.commit()
    return newly


def linked_collectors(conn: psycopg2.extensions.connection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT collector_id FROM dropbox_links WHERE status = 'linked' ORDER BY collector_id"
        )
        found = [r[0] for r in cur.fetchall()]
    conn.commit()
    return found


def rotate_keys(conn: psycopg2.extensions.connection, vault: TokenVault) -> int:
    """Re-encrypt every stored token with the newest key; returns how many rows changed."""
    changed = 0
    with conn.cursor() as cur:
        cur.execute(
            "SELECT collector_id, refresh_token_enc FROM dropbox_links WHERE key_id <> %s "
            "FOR UPDATE",
            (vault.key_id,),
        )
        for collector_id, ciphertext in cur.fetchall():
            cur.execute(
                "UPDATE dropbox_links SET refresh_token_enc = %s, key_id = %s "
                "WHERE collector_id = %s",
                (vault.rotate(ciphertext), vault.key_id, collector_id),
            )
            changed += 1
        cur.execute(
            "DELETE FROM dropbox_link_requests WHERE expires_at < now() OR used_at IS NOT NULL"
        )
    conn.commit()
    return changed


class LinkStatus(NamedTuple):
    """One collector's Dropbox link as ops see it (``collector dropbox status``)."""

    collector_id: str
    status: str  # linked | broken
    linked_at: datetime
    broken_reason: str | None
    files: int  # files delivered to the linked account
    bytes: Decimal  # their total size (sum of a bigint column)


def link_statuses(conn: psycopg2.extensions.connection) -> list[LinkStatus]:
    """Every Dropbox link with what was delivered to its account, by collector id."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT l.collector_id, l.status, l.linked_at, l.broken_reason,
                      count(d.path_lower), coalesce(sum(d.bytes), 0)
               FROM dropbox_links l LEFT JOIN dropbox_deliveries d
                 ON d.dropbox_account_id = l.dropbox_account_id
               GROUP BY 1, 2, 3, 4 ORDER BY 1"""
        )
        return [LinkStatus(*row) for row in cur.fetchall()]
