"""The official Dropbox SDK, unmodified, against the sandbox's Dropbox API v2 emulator.

The SDK hard-codes ``https://<dropbox host>``; a ``requests.Session`` whose ``https://`` adapter
rewrites scheme and host sends everything (API calls, token refreshes, the OAuth code exchange)
to the sandbox. Refresh tokens come from the real OAuth code flow with PKCE, driven over HTTP
like a browser would: authorize page, Allow form, redirect with the code, token exchange.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import dropbox
import pytest
import requests
from dropbox import exceptions as dbx_errors
from dropbox.content_hash import DropboxContentHasher
from dropbox.files import CommitInfo, UploadSessionCursor, WriteMode
from requests.adapters import HTTPAdapter

REDIRECT_URI = "http://127.0.0.1:9/portal/dropbox/callback"
MIB = 1024 * 1024
LIMIT = 150 * MIB


class SandboxAdapter(HTTPAdapter):
    """Sends the SDK's ``https://api.dropboxapi.com/...`` (and content, www) to the sandbox."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base = base_url.rstrip("/")

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def sandbox_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.mount("https://", SandboxAdapter(base_url))
    return session


class FormPage(HTMLParser):
    """What a browser sees of the authorize page: form action, hidden fields, element ids."""

    def __init__(self, text: str):
        super().__init__()
        self.action, self.hidden, self.ids, self.email = None, {}, set(), None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "form":
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value") or ""
        if tag == "input" and attrs.get("name") == "email":
            self.email = attrs.get("value") or ""


def content_hash(data: bytes) -> str:
    hasher = DropboxContentHasher()
    hasher.update(data)
    return hasher.hexdigest()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Sandbox:
    """The Dropbox emulator: admin switches, the OAuth dance, SDK clients."""

    def __init__(self, url: str):
        self.url = url
        self.session = sandbox_session(url)
        self.app = self.get("app")

    def get(self, path: str, **params) -> dict:
        response = requests.get(f"{self.url}/_sandbox/dropbox/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/_sandbox/dropbox/{path}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats_of(self, email: str) -> dict:
        return self.get("stats")["accounts"].get(email.lower(), {})

    def link(self, email: str) -> dropbox.oauth.OAuth2FlowResult:
        """The SDK's own web flow (PKCE, offline) with a user who types ``email`` and clicks
        Allow; returns the SDK's result (access and refresh token, account id)."""
        flow = dropbox.DropboxOAuth2Flow(
            self.app["app_key"],
            REDIRECT_URI,
            {},
            "dropbox-csrf",
            consumer_secret=self.app["app_secret"],
            use_pkce=True,
            token_access_type="offline",
        )
        flow.requests_session = self.session  # the code exchange goes to the sandbox too
        page = self.session.get(flow.start(), timeout=10)
        assert page.status_code == 200
        form = FormPage(page.text)
        answer = requests.post(
            self.url + form.action,
            data={**form.hidden, "email": email, "decision": "allow"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        return flow.finish(query_of(answer.headers["location"]))

    def client(self, refresh_token: str, **options) -> dropbox.Dropbox:
        return dropbox.Dropbox(
            oauth2_refresh_token=refresh_token,
            app_key=self.app["app_key"],
            app_secret=self.app["app_secret"],
            session=sandbox_session(self.url),
            **options,
        )

    def raw(self, route: str, token: str, body=None) -> requests.Response:
        return requests.post(
            f"{self.url}/2/{route}",
            data=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )


@pytest.fixture
def sandbox(sandbox_url: str) -> Sandbox:
    """The session's sandbox with its Dropbox state, faults and counters emptied."""
    requests.post(f"{sandbox_url}/_sandbox/dropbox/reset", timeout=10).raise_for_status()
    return Sandbox(sandbox_url)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_oauth_code_flow_with_pkce_over_http(sandbox: Sandbox):
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": sandbox.app["app_key"],
        "redirect_uri": REDIRECT_URI,
        "state": "csrf-123|portal",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "token_access_type": "offline",
    }
    authorize = f"{sandbox.url}/oauth2/authorize"
    page = requests.get(authorize, params=params, timeout=10)
    assert page.status_code == 200
    form = FormPage(page.text)
    assert {"authorize-form", "email", "allow", "cancel"} <= form.ids
    assert form.email == ""
    assert form.hidden == params
    hinted = FormPage(
        requests.get(authorize, params={**params, "login_hint": "carol@example.com"}).text
    )
    assert hinted.email == "carol@example.com"

    def allow(email: str = "Carol@Example.com") -> str:
        answer = requests.post(
            sandbox.url + form.action,
            data={**form.hidden, "email": email, "decision": "allow"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302
        assert answer.headers["location"].startswith(REDIRECT_URI + "?")
        query = query_of(answer.headers["location"])
        assert query["state"] == "csrf-123|portal"
        return query["code"]

    def exchange(code: str, code_verifier: str = verifier) -> requests.Response:
        return requests.post(
            f"{sandbox.url}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "client_id": sandbox.app["app_key"],
                "redirect_uri": REDIRECT_URI,
            },
            timeout=10,
        )

    code = allow()
    tokens = exchange(code)
    assert tokens.status_code == 200
    assert tokens.headers["content-type"] == "application/json"
    body = tokens.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "uid",
        "account_id",
    }
    assert body["token_type"] == "bearer" and body["expires_in"] == 14400
    assert body["account_id"].startswith("dbid:") and len(body["account_id"]) == 40
    assert "files.content.write" in body["scope"].split()

    # Codes are single-use; a wrong verifier is refused; both as OAuth errors.
    again = exchange(code)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "code doesn't exist or has expired",
    }
    wrong = exchange(allow(), code_verifier=_pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    # The same user linking again is the same account.
    assert exchange(allow("carol@example.com")).json()["account_id"] == body["account_id"]

    refreshed = requests.post(
        f"{sandbox.url}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=(sandbox.app["app_key"], sandbox.app["app_secret"]),
        timeout=10,
    )
    assert refreshed.status_code == 200
    assert set(refreshed.json()) == {"access_token", "token_type", "expires_in"}
    assert refreshed.json()["token_type"] == "bearer"
    assert sandbox.raw("users/get_current_account", refreshed.json()["access_token"]).ok

    cancel = requests.post(
        sandbox.url + form.action,
        data={**form.hidden, "decision": "cancel"},
        allow_redirects=False,
        timeout=10,
    )
    assert cancel.status_code == 302
    denied = query_of(cancel.headers["location"])
    assert denied["error"] == "access_denied" and denied["state"] == "csrf-123|portal"

    unknown = requests.get(authorize, params={**params, "client_id": "nosuchapp"}, timeout=10)
    assert unknown.status_code == 400
    oauth = sandbox.get("stats")["oauth"]
    assert oauth["authorization_code"] == 2 and oauth["refresh_token"] == 1
    assert oauth["authorize_denied"] == 1


def test_upload_and_get_metadata(sandbox: Sandbox):
    alice = sandbox.link("alice@example.com")
    dbx = sandbox.client(alice.refresh_token)
    data = random.Random(1).randbytes(9 * MIB + 123)  # three content-hash blocks
    metadata = dbx.files_upload(data, "/Deliveries/2026-11/Clip One.MP4")
    assert metadata.name == "Clip One.MP4"
    assert metadata.path_display == "/Deliveries/2026-11/Clip One.MP4"
    assert metadata.path_lower == "/deliveries/2026-11/clip one.mp4"
    assert metadata.size == len(data)
    assert metadata.content_hash == content_hash(data)
    assert metadata.is_downloadable and metadata.id.startswith("id:")

    again = dbx.files_get_metadata("/DELIVERIES/2026-11/clip one.mp4")  # case-insensitive
    assert (again.id, again.rev, again.content_hash) == (
        metadata.id,
        metadata.rev,
        metadata.content_hash,
    )
    assert dbx.files_get_metadata(metadata.id).path_lower == metadata.path_lower
    folder = dbx.files_get_metadata("/deliveries")
    assert isinstance(folder, dropbox.files.FolderMetadata)
    assert folder.path_display == "/Deliveries"
    assert dbx.users_get_current_account().email == "alice@example.com"

    with pytest.raises(dbx_errors.ApiError) as missing:
        dbx.files_get_metadata("/Deliveries/nope.mp4")
    assert missing.value.error.is_path() and missing.value.error.get_path().is_not_found()

    # The wire format, as a plain client sees it.
    token = alice.access_token
    found = sandbox.raw("files/get_metadata", token, {"path": "/deliveries/2026-11/CLIP ONE.mp4"})
    assert found.status_code == 200
    assert found.headers["content-type"] == "application/json"
    assert found.headers["x-dropbox-request-id"]
    assert found.json()[".tag"] == "file"
    not_found = sandbox.raw("files/get_metadata", token, {"path": "/nope"})
    assert not_found.status_code == 409
    assert not_found.json()["error"] == {".tag": "path", "path": {".tag": "not_found"}}
    assert not_found.json()["error_summary"].startswith("path/not_found/")
    assert sandbox.raw("files/get_metadata", "not-a-token", {"path": "/x"}).json()["error"] == {
        ".tag": "invalid_access_token"
    }

    # Each account sees only its own app folder.
    bob = sandbox.client(sandbox.link("bob@example.com").refresh_token)
    with pytest.raises(dbx_errors.ApiError):
        bob.files_get_metadata("/Deliveries/2026-11/Clip One.MP4")

    view = requests.get(f"{sandbox.url}/dropbox/", timeout=10).text
    assert "alice@example.com" in view and "bob@example.com" in view
    assert "/Deliveries/2026-11/Clip One.MP4" in view and metadata.content_hash in view


def test_write_modes_conflict_and_identical_content(sandbox: Sandbox):
    dbx = sandbox.client(sandbox.link("alice@example.com").refresh_token)
    first = dbx.files_upload(b"version one", "/clip.mp4")
    same = dbx.files_upload(b"version one", "/CLIP.mp4")  # identical: nothing written
    assert (same.rev, same.server_modified, same.path_display) == (
        first.rev,
        first.server_modified,
        "/clip.mp4",
    )

    with pytest.raises(dbx_errors.ApiError) as conflict:
        dbx.files_upload(b"version two", "/clip.mp4")  # mode add, different content
    error = conflict.value.error
    assert error.is_path() and error.get_path().reason.is_conflict()
    assert error.get_path().reason.get_conflict().is_file()

    renamed = dbx.files_upload(b"version two", "/clip.mp4", autorename=True)
    assert renamed.path_display == "/clip (1).mp4"
    overwritten = dbx.files_upload(b"version three", "/clip.mp4", mode=WriteMode.overwrite)
    assert overwritten.id == first.id and overwritten.rev != first.rev
    assert overwritten.content_hash == content_hash(b"version three")

    with pytest.raises(dbx_errors.ApiError):  # update against a stale rev
        dbx.files_upload(b"version four", "/clip.mp4", mode=WriteMode.update(first.rev))
    updated = dbx.files_upload(b"version four", "/clip.mp4", mode=WriteMode.update(overwritten.rev))
    assert updated.id == first.id

    with pytest.raises(dbx_errors.ApiError) as file_ancestor:
        dbx.files_upload(b"x", "/clip.mp4/inside.mp4")
    assert file_ancestor.value.error.get_path().reason.get_conflict().is_file_ancestor()

    with pytest.raises(dbx_errors.ApiError) as mismatch:
        dbx.files_upload(b"corrupted in transit", "/other.mp4", content_hash="0" * 64)
    assert mismatch.value.error.is_content_hash_mismatch()
    with pytest.raises(dbx_errors.ApiError):
        dbx.files_get_metadata("/other.mp4")

    counters = sandbox.stats_of("alice@example.com")
    assert counters["uploads"] == 4 and counters["unchanged"] == 1


def test_large_file_needs_an_upload_session(sandbox: Sandbox, tmp_path: Path):
    """160 MB: files/upload refuses it as Dropbox does; an upload session in 32 MiB chunks,
    read from disk as it goes, stores it whole."""
    dbx = sandbox.client(sandbox.link("alice@example.com").refresh_token)
    size, chunk = 160_000_000, 32 * MIB
    source, hasher, generator = tmp_path / "big.mp4", DropboxContentHasher(), random.Random(2)
    with source.open("wb") as out:
        left = size
        while left:
            block = generator.randbytes(min(16 * MIB, left))
            out.write(block)
            hasher.update(block)
            left -= len(block)
    expected = hasher.hexdigest()

    data = source.read_bytes()
    with pytest.raises(dbx_errors.ApiError) as too_large:
        dbx.files_upload(data, "/big.mp4")
    assert too_large.value.error.is_payload_too_large()
    del data

    with source.open("rb") as src:
        session = dbx.files_upload_session_start(src.read(chunk))
        cursor = UploadSessionCursor(session.session_id, offset=src.tell())
        piece = src.read(chunk)
        dbx.files_upload_session_append_v2(piece, cursor)
        with pytest.raises(dbx_errors.ApiError) as offset:  # a retry after a lost answer
            dbx.files_upload_session_append_v2(piece, cursor)
        assert offset.value.error.is_incorrect_offset()
        assert offset.value.error.get_incorrect_offset().correct_offset == src.tell()
        cursor.offset = src.tell()
        while True:
            piece = src.read(chunk)
            if src.tell() == size:
                break
            dbx.files_upload_session_append_v2(piece, cursor)
            cursor.offset = src.tell()
        metadata = dbx.files_upload_session_finish(piece, cursor, CommitInfo(path="/big.mp4"))
    assert metadata.size == size and metadata.content_hash == expected
    assert dbx.files_get_metadata("/big.mp4").content_hash == expected
    with pytest.raises(dbx_errors.ApiError) as finished:
        dbx.files_upload_session_finish(b"", cursor, CommitInfo(path="/again.mp4"))
    assert finished.value.error.get_lookup_failed().is_not_found()

    counters = sandbox.stats_of("alice@example.com")
    assert counters["uploads"] == 1 and counters["bytes_committed"] == size
    assert counters["sessions_started"] == 1
    # Nothing left behind: no half-received bodies, no session chunks; one blob of 160 MB.
    state = Path(sandbox.get("state-dir")["path"])
    assert list((state / "tmp").iterdir()) == []
    assert list((state / "sessions").iterdir()) == []
    blobs = [p.stat().st_size for p in state.glob("files/*/blobs/*")]
    assert blobs == [size]
    routes = sandbox.get("stats")["routes"]
    assert routes["files/upload"]["status"] == {"409": 1}
    assert routes["files/upload_session/append_v2"]["status"] == {"200": 3, "409": 1}


def test_rate_limit_storm_surfaces_retry_after(sandbox: Sandbox):
    alice_link = sandbox.link("alice@example.com")
    alice = sandbox.client(alice_link.refresh_token, max_retries_on_rate_limit=0)
    bob = sandbox.client(sandbox.link("bob@example.com").refresh_token)
    alice.files_upload(b"a", "/a.mp4")

    sandbox.post(
        "faults",
        {"kind": "too_many_requests", "count": 2, "retry_after": 3, "account": "ALICE@example.com"},
    )
    bob.files_upload(b"b", "/b.mp4")  # another account: unaffected
    with pytest.raises(dbx_errors.RateLimitError) as limited:
        alice.files_get_metadata("/a.mp4")
    assert limited.value.backoff == 3
    assert limited.value.error.reason.is_too_many_requests()

    raw = sandbox.raw("files/get_metadata", alice_link.access_token, {"path": "/a.mp4"})
    assert raw.status_code == 429
    assert raw.headers["retry-after"] == "3"
    assert raw.headers["content-type"] == "application/json"
    assert raw.json() == {
        "error_summary": "too_many_requests/..",
        "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 3},
    }
    assert sandbox.get("faults") == {"faults": []}  # the storm is over

    # The SDK's default client waits Retry-After and tries again.
    sandbox.post("faults", {"kind": "too_many_write_operations", "count": 1, "retry_after": 1})
    patient = sandbox.client(alice_link.refresh_token)
    started = time.monotonic()
    assert patient.files_upload(b"c", "/c.mp4").size == 1
    assert time.monotonic() - started >= 1
    assert sandbox.stats_of("alice@example.com")["rate_limited"] == 3


def test_expired_access_token_is_refreshed_transparently(sandbox: Sandbox):
    dbx = sandbox.client(sandbox.link("alice@example.com").refresh_token)
    dbx.files_upload(b"one", "/one.mp4")
    assert sandbox.get("stats")["oauth"]["refresh_token"] == 1  # the client's first token

    assert sandbox.post("expire-tokens", {"account": "alice@example.com"})["expired"] == 2
    assert dbx.files_get_metadata("/one.mp4").size == 3  # 401 expired → refresh → retry

    stats = sandbox.get("stats")
    assert stats["oauth"]["refresh_token"] == 2
    assert stats["routes"]["files/get_metadata"]["status"] == {"401": 1, "200": 1}
    errors = [entry["error"] for entry in sandbox.get("log")["requests"]]
    assert "expired_access_token" in errors


def test_revoked_account_gets_auth_errors(sandbox: Sandbox):
    alice_link = sandbox.link("alice@example.com")
    alice = sandbox.client(alice_link.refresh_token)
    alice.files_upload(b"kept", "/kept.mp4")
    bob_link = sandbox.link("bob@example.com")
    bob = sandbox.client(bob_link.refresh_token)
    bob.files_upload(b"bob", "/bob.mp4")

    revoked = sandbox.post("revoke", {"account": "alice@example.com"})
    assert revoked == {"revoked_access": 2, "revoked_refresh": 1}
    with pytest.raises(dbx_errors.AuthError) as live:
        alice.files_get_metadata("/kept.mp4")
    assert live.value.error.is_invalid_access_token()
    with pytest.raises(dbx_errors.AuthError):  # the refresh token: 400 invalid_grant
        sandbox.client(alice_link.refresh_token).files_get_metadata("/kept.mp4")
    refresh = requests.post(
        f"{sandbox.url}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": alice_link.refresh_token,
            "client_id": sandbox.app["app_key"],
            "client_secret": sandbox.app["app_secret"],
        },
        timeout=10,
    )
    assert refresh.status_code == 400
    assert refresh.json() == {
        "error": "invalid_grant",
        "error_description": "refresh token is invalid or revoked",
    }
    assert bob.files_get_metadata("/bob.mp4").size == 3

    relinked = sandbox.client(sandbox.link("alice@example.com").refresh_token)
    assert relinked.files_get_metadata("/kept.mp4").size == 4  # the files stay

    bob.auth_token_revoke()  # the app unlinks itself: the refresh token goes too
    with pytest.raises(dbx_errors.AuthError):
        sandbox.client(bob_link.refresh_token).files_get_metadata("/bob.mp4")


def test_counters_show_that_a_rerun_uploaded_nothing(sandbox: Sandbox):
    dbx = sandbox.client(sandbox.link("alice@example.com").refresh_token)
    videos = {f"/2026-11/video-{n}.mp4": f"video {n}".encode() * 1000 for n in range(3)}
    first = {path: dbx.files_upload(data, path).rev for path, data in videos.items()}
    assert sandbox.stats_of("alice@example.com")["uploads"] == 3

    sandbox.post("reset-stats")
    rerun = {path: dbx.files_upload(data, path).rev for path, data in videos.items()}
    assert rerun == first
    counters = sandbox.stats_of("alice@example.com")
    assert counters["uploads"] == 0 and counters["unchanged"] == 3
    assert counters["bytes_committed"] == 0
    assert sandbox.get("stats")["routes"]["files/upload"] == {"requests": 3, "status": {"200": 3}}
    log = sandbox.get("log")["requests"]
    assert [entry["route"] for entry in log] == ["files/upload"] * 3
    assert {entry["account"] for entry in log} == {"alice@example.com"}


def test_parallel_uploads_and_listing(sandbox: Sandbox):
    links = {email: sandbox.link(email) for email in ("alice@example.com", "bob@example.com")}

    def upload(job: tuple[str, int]) -> str:
        email, n = job
        dbx = sandbox.client(links[email].refresh_token)
        data = f"{email} {n}".encode() * 50_000
        metadata = dbx.files_upload(data, f"/Videos/{n:02d}.mp4")
        assert metadata.content_hash == content_hash(data)
        return metadata.path_display

    jobs = [(email, n) for email in links for n in range(4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(upload, jobs)) == sorted(f"/Videos/{n:02d}.mp4" for _, n in jobs)

    alice = sandbox.client(links["alice@example.com"].refresh_token)
    page = alice.files_list_folder("/videos", limit=3)
    assert len(page.entries) == 3 and page.has_more
    rest = alice.files_list_folder_continue(page.cursor)
    assert len(rest.entries) == 1 and not rest.has_more
    assert [e.name for e in page.entries + rest.entries] == [f"{n:02d}.mp4" for n in range(4)]

    alice.files_upload(b"new", "/Videos/new.mp4")
    changes = alice.files_list_folder_continue(rest.cursor)
    assert [e.path_display for e in changes.entries] == ["/Videos/new.mp4"]
    everything = alice.files_list_folder("", recursive=True)
    assert [e.path_lower for e in everything.entries][:2] == ["/videos", "/videos/00.mp4"]
    assert len(everything.entries) == 6
    files = sandbox.get("files", account="bob@example.com")["entries"]
    assert len(files) == 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(state_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--state-dir", state_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/dropbox/", timeout=1)
            return process, url
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sandbox did not start")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def test_state_survives_a_restart_and_connections_command(tmp_path: Path):
    state_dir = tmp_path / "state"
    process, url = _serve(state_dir)
    try:
        first = Sandbox(url)
        link = first.link("alice@example.com")
        dbx = first.client(link.refresh_token)
        kept = dbx.files_upload(b"kept across restarts", "/Kept.mp4")
        session = dbx.files_upload_session_start(b"half ")
    finally:
        _stop(process)

    process, url = _serve(state_dir)
    try:
        second = Sandbox(url)
        assert second.app == first.app
        dbx = second.client(link.refresh_token)  # the refresh token is still good
        assert dbx.files_get_metadata("/kept.mp4").rev == kept.rev
        finished = dbx.files_upload_session_finish(
            b"and half",
            UploadSessionCursor(session.session_id, offset=5),
            CommitInfo(path="/Resumed.mp4"),
        )
        assert finished.content_hash == content_hash(b"half and half")
        assert "/Kept.mp4" in requests.get(f"{url}/dropbox/", timeout=10).text
    finally:
        _stop(process)

    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "connections",
            "--base-url",
            url,
            "--state-dir",
            str(state_dir),
            "--key-file",
            str(tmp_path / "key.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in printed.splitlines() if "AIRFLOW_CONN_DROPBOX_DEFAULT=" in x)
    connection = json.loads(shlex.split(line.split("=", 1)[1])[0])
    assert connection == {
        "conn_type": "dropbox",
        "login": first.app["app_key"],
        "password": first.app["app_secret"],
        "extra": {"api_base_url": url},
    }


def test_bad_requests_answer_like_dropbox(sandbox: Sandbox):
    link = sandbox.link("alice@example.com")
    token = link.access_token
    missing_auth = requests.post(
        f"{sandbox.url}/2/files/get_metadata", json={"path": "/x"}, timeout=10
    )
    assert missing_auth.status_code == 400
    assert sandbox.raw("files/nope", token, {}).status_code == 400
    malformed = sandbox.raw("files/get_metadata", token, {"path": "no-slash"})
    assert malformed.status_code == 409
    assert malformed.json()["error"]["path"][".tag"] == "malformed_path"
    upload = requests.post(
        f"{sandbox.url}/2/files/upload",
        data=b"x",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Arg": json.dumps({"path": "/a.mp4", "mode": "add"}),
        },
        timeout=10,
    )
    assert upload.status_code == 200 and upload.json()["size"] == 1
    bad_arg = requests.post(
        f"{sandbox.url}/2/files/upload",
        data=b"x",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Arg": "{not json",
        },
        timeout=10,
    )
    assert bad_arg.status_code == 400
    params = urlencode({"client_id": sandbox.app["app_key"], "response_type": "token"})
    assert requests.get(f"{sandbox.url}/oauth2/authorize?{params}", timeout=10).status_code == 400
