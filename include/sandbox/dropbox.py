"""Dropbox API v2, the subset the collector delivery uses, on the sandbox's port.

One registered app ("Collector Delivery", app-folder access), whose key and secret are made once
and kept in the state dir (:func:`load_dropbox_app`). Any number of "Dropbox users" link it
through the OAuth 2 code flow (PKCE or client secret; ``token_access_type=offline`` for a refresh
token) on ``/oauth2/authorize``, an HTML page where the user types an email and clicks Allow. Each
account sees only its app folder; paths are case-insensitive (``path_lower``).

Contract points kept (sources in the module's tests and the hand-over report):

- ``/oauth2/token``: ``authorization_code`` → ``access_token``, ``token_type: bearer``,
  ``expires_in`` (14,400 s), ``refresh_token`` (offline only), ``scope``, ``uid``,
  ``account_id``; ``refresh_token`` → ``access_token``, ``token_type``, ``expires_in``. Errors are
  400 ``{"error": "invalid_grant", "error_description": ...}`` ("code doesn't exist or has
  expired", "refresh token is invalid or revoked").
- API calls: ``Authorization: Bearer``; 401 ``{"error_summary", "error": {".tag":
  "expired_access_token" | "invalid_access_token"}}``; route errors are 409 ``{"error_summary",
  "error"}``; 429 carries ``Retry-After`` and ``{"error": {"reason": {".tag":
  "too_many_requests"}, "retry_after": S}}``; bad input is 400 plain text. Successes are
  ``Content-Type: application/json`` (the SDK checks the exact value) with
  ``X-Dropbox-Request-Id``.
- ``files/upload`` (≤ 150 MiB, else 409 ``payload_too_large``), ``upload_session/start``,
  ``append_v2``, ``finish`` (``incorrect_offset`` with ``correct_offset``), ``content_hash``
  checked for the data of each call (``content_hash_mismatch``), write modes add / overwrite /
  update with autorename and strict_conflict; a file with identical content at the target path is
  "no conflict, nothing written" (the existing metadata comes back, same rev).
- ``files/get_metadata``, ``files/list_folder`` (+ ``/continue``), ``users/get_current_account``,
  ``auth/token/revoke``; ``check/app`` (app key and secret only, for the connection's Test).

``/_sandbox/dropbox/...`` holds the admin switches (faults such as 429 storms, token expiry and
revocation per account, counters and a request log, reset); ``/dropbox/`` is a read-only view.

Assumptions where no public source settles the answer:

- A request without ``Authorization`` is 400 plain text (as other bad input); an unknown
  ``/2/`` route is 400 plain text.
- Token endpoint client errors are 400 ``invalid_client`` / ``invalid_request`` /
  ``unsupported_grant_type``; a wrong PKCE verifier or a redirect_uri differing from the
  authorize request is ``invalid_grant``. A code is burnt by its first exchange attempt.
- ``redirect_uri`` may be any absolute http(s) URI (no registration list). ``login_hint`` (not a
  Dropbox parameter) pre-fills the email box.
- Autorename appends `` (1)``, `` (2)``… before the extension; an update conflict becomes
  ``name (conflicted copy).ext``.
- A failed ``finish`` (path conflict, hash mismatch) leaves the session as it was, so the same
  call can be retried with another path; a finished session is gone (``lookup_failed/not_found``).
  ``session_type: concurrent`` is accepted but behaves as sequential.
- Scopes are reported but not enforced; folders exist only as parents of uploaded files.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import json
import re
import secrets
import shutil
import string
import threading
import time
from collections import deque
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.common import PathDispatch, iso, page, write_json

_page = partial(page, footer="Dropbox sandbox")

UPLOAD_LIMIT = 150 * 1024 * 1024  # one request's payload, files/upload and each session call
BLOCK_SIZE = 4 * 1024 * 1024  # content_hash blocks
ACCESS_TOKEN_SECONDS = 14_400
CODE_SECONDS = 600
SESSION_SECONDS = 7 * 24 * 3600
SCOPE = "account_info.read files.content.write files.metadata.read"
LIST_LIMIT = 2000
LOG_LENGTH = 2000
FAULT_KINDS = ("too_many_requests", "too_many_write_operations", "server_error", "timeout")
_KEY_CHARS = string.ascii_lowercase + string.digits
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_REV = re.compile(r"^[0-9a-f]{9,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def load_dropbox_app(state_dir: Path) -> dict:
    """The sandbox's one registered app (key, secret, name), made on first use so the server and
    ``python -m sandbox connections`` agree without being told."""
    path = state_dir / "dropbox" / "app.json"
    if path.exists():
        return json.loads(path.read_text())
    app = {
        "app_key": "".join(secrets.choice(_KEY_CHARS) for _ in range(15)),
        "app_secret": "".join(secrets.choice(_KEY_CHARS) for _ in range(15)),
        "app_name": "Collector Delivery",
    }
    write_json(path, app)
    return app


def _request_id() -> str:
    return secrets.token_hex(16)


class ContentHasher:
    """Dropbox's content_hash: SHA-256 over the SHA-256 of each 4 MiB block, fed incrementally."""

    def __init__(self) -> None:
        self.overall = hashlib.sha256()
        self.block = hashlib.sha256()
        self.filled = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.filled == BLOCK_SIZE:
                self.overall.update(self.block.digest())
                self.block, self.filled = hashlib.sha256(), 0
            part = view[: BLOCK_SIZE - self.filled]
            self.block.update(part)
            self.filled += len(part)
            view = view[len(part) :]

    def hexdigest(self) -> str:
        overall = self.overall.copy()
        if self.filled:
            overall.update(self.block.digest())
        return overall.hexdigest()


# --- error shapes ------------------------------------------------------------------------------
class DropboxFailure(Exception):
    """An answer other than success; ``summary`` is what the request log shows."""

    def __init__(self, response: Response, summary: str):
        super().__init__(summary)
        self.response, self.summary = response, summary


def _tags(error: Any) -> list[str]:
    """The tag path of a Dropbox error value, for ``error_summary`` (``path/conflict/file``)."""
    if isinstance(error, str):
        return [error]
    if not isinstance(error, dict) or ".tag" not in error:
        return []
    tag = error[".tag"]
    inner = error.get(tag)
    if inner is None and tag == "path" and "reason" in error:
        inner = error["reason"]
    return [tag, *_tags(inner)]


def route_error(error: dict, **extra: Any) -> DropboxFailure:
    """409 with ``{"error_summary": "a/b/..", "error": {...}}``, as Dropbox's route errors."""
    summary = "/".join(_tags(error))
    body = {"error_summary": f"{summary}/..", "error": error, **extra}
    return DropboxFailure(JSONResponse(body, status_code=409), summary)


def bad_input(route: str, message: str) -> DropboxFailure:
    text = f'Error in call to API function "{route}": {message}'
    return DropboxFailure(Response(text, status_code=400, media_type="text/plain"), "bad_input")


def auth_error(tag: str) -> DropboxFailure:
    body = {"error_summary": f"{tag}/..", "error": {".tag": tag}}
    return DropboxFailure(JSONResponse(body, status_code=401), tag)


def rate_limited(reason: str, retry_after: int) -> DropboxFailure:
    body = {
        "error_summary": f"{reason}/..",
        "error": {"reason": {".tag": reason}, "retry_after": retry_after},
    }
    response = JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after)})
    return DropboxFailure(response, reason)


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _not_found() -> DropboxFailure:
    return route_error({".tag": "path", "path": {".tag": "not_found"}})


def _write_conflict(kind: str) -> dict:
    return {".tag": "conflict", "conflict": {".tag": kind}}


# --- paths -------------------------------------------------------------------------------------
def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent, name


def _valid_path(path: str) -> bool:
    """``/a/b.txt``: absolute, no empty, ``.`` or ``..`` component, no trailing slash."""
    if not path.startswith("/") or path.endswith("/") or "\x00" in path or "\\" in path:
        return False
    return all(part not in ("", ".", "..") and part.strip() for part in path[1:].split("/"))


def _ancestors(path_lower: str) -> list[str]:
    parts = path_lower.split("/")[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _renamed(path: str, suffix: str) -> str:
    parent, name = _split(path)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{parent}/{name}{suffix}"
    return f"{parent}/{stem}{suffix}.{ext}"


# --- state -------------------------------------------------------------------------------------
class AccountFiles:
    """One account's app folder: file and folder metadata in ``index.json``, bytes in ``blobs/``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.blobs = folder / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict] = {}
        self.folders: dict[str, dict] = {}
        self.seq = 0
        index = folder / "index.json"
        if index.exists():
            data = json.loads(index.read_text())
            self.files, self.folders, self.seq = data["files"], data["folders"], data["seq"]

    def save(self) -> None:
        write_json(
            self.folder / "index.json",
            {"files": self.files, "folders": self.folders, "seq": self.seq},
        )

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def by_id(self, item_id: str) -> dict | None:
        for entry in (*self.files.values(), *self.folders.values()):
            if entry["id"] == item_id:
                return entry
        return None

    def display_of(self, path: str) -> str:
        """``path`` with each existing ancestor folder's casing, as Dropbox shows it."""
        parent, name = _split(path)
        if not parent:
            return path
        folder = self.folders.get(parent.lower())
        return f"{folder['path_display'] if folder else self.display_of(parent)}/{name}"


def _public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


class DropboxState:
    """Accounts, tokens, codes, files, upload sessions (on disk); faults, counters, log (memory)."""

    def __init__(self, state_dir: Path):
        self.folder = state_dir / "dropbox"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.app = load_dropbox_app(state_dir)
        self.lock = threading.RLock()
        self.tmp = self.folder / "tmp"
        shutil.rmtree(self.tmp, ignore_errors=True)  # half-received bodies of a previous run
        self.tmp.mkdir()
        self.load()
        self.faults: list[dict] = []
        self.stats: dict[str, Any] = self.zero_stats()
        self.log: deque[dict] = deque(maxlen=LOG_LENGTH)

    def load(self) -> None:
        path = self.folder / "accounts.json"
        self.accounts: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
        path = self.folder / "tokens.json"
        tokens = json.loads(path.read_text()) if path.exists() else {}
        self.access: dict[str, dict] = tokens.get("access", {})
        self.refresh: dict[str, dict] = tokens.get("refresh", {})
        self.codes: dict[str, dict] = tokens.get("codes", {})
        path = self.folder / "sessions.json"
        self.sessions: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
        for session in self.sessions.values():
            session["finishing"] = False
        self.stores: dict[str, AccountFiles] = {
            account["account_id"]: AccountFiles(self.folder / "files" / account["uid"])
            for account in self.accounts.values()
        }

    @staticmethod
    def zero_stats() -> dict[str, Any]:
        return {"routes": {}, "accounts": {}, "oauth": {}, "faults_injected": 0}

    def reset(self) -> None:
        with self.lock:
            for name in ("files", "sessions"):
                shutil.rmtree(self.folder / name, ignore_errors=True)
            for name in ("accounts.json", "tokens.json", "sessions.json"):
                (self.folder / name).unlink(missing_ok=True)
            self.load()
            self.faults.clear()
            self.stats = self.zero_stats()
            self.log.clear()

    # persistence
    def save_accounts(self) -> None:
        write_json(self.folder / "accounts.json", self.accounts)

    def save_tokens(self) -> None:
        now = time.time()
        for token in [t for t, r in self.access.items() if r["expires_at"] < now - 86_400]:
            del self.access[token]  # long expired: forget (it then answers invalid_access_token)
        for code in [c for c, r in self.codes.items() if r["expires_at"] < now]:
            del self.codes[code]
        write_json(
            self.folder / "tokens.json",
            {"access": self.access, "refresh": self.refresh, "codes": self.codes},
        )

    def save_sessions(self) -> None:
        write_json(self.folder / "sessions.json", self.sessions)

    # accounts
    def account_by_id(self, account_id: str) -> dict | None:
        return next((a for a in self.accounts.values() if a["account_id"] == account_id), None)

    def find_account(self, ref: Any) -> dict | None:
        """An admin body's ``account``: email (any case) or account_id."""
        if not isinstance(ref, str):
            return None
        return self.accounts.get(ref.strip().lower()) or self.account_by_id(ref)

    def link_account(self, email: str) -> dict:
        key = email.strip().lower()
        with self.lock:
            account = self.accounts.get(key)
            if account is None:
                account_id = "dbid:AA" + secrets.token_urlsafe(33)[:33]
                uid = str(1_000_000_000 + secrets.randbelow(9_000_000_000))
                account = {"email": email.strip(), "account_id": account_id, "uid": uid}
                self.accounts[key] = account
                self.stores[account_id] = AccountFiles(self.folder / "files" / uid)
                self.save_accounts()
            return account

    # tokens
    def issue_access(self, account_id: str, refresh: str | None) -> str:
        token = "sl.sandbox-" + secrets.token_urlsafe(48)
        self.access[token] = {
            "account_id": account_id,
            "expires_at": time.time() + ACCESS_TOKEN_SECONDS,
            "refresh": refresh,
        }
        return token

    def expire_tokens(self, account_id: str) -> int:
        with self.lock:
            now, expired = time.time(), 0
            for record in self.access.values():
                if record["account_id"] == account_id and record["expires_at"] > now:
                    record["expires_at"] = now - 1
                    expired += 1
            self.save_tokens()
            return expired

    def revoke(self, account_id: str | None = None, refresh: str | None = None) -> tuple[int, int]:
        """Forget an account's tokens (access and refresh), or one refresh token's family."""
        with self.lock:
            if refresh is not None:
                dead_refresh = [refresh] if refresh in self.refresh else []
            else:
                dead_refresh = [t for t, r in self.refresh.items() if r["account_id"] == account_id]
            dead_access = [
                t
                for t, r in self.access.items()
                if (refresh is None and r["account_id"] == account_id)
                or (r["refresh"] is not None and r["refresh"] in dead_refresh)
            ]
            for token in dead_refresh:
                del self.refresh[token]
            for token in dead_access:
                del self.access[token]
            self.save_tokens()
            return len(dead_access), len(dead_refresh)

    # faults
    def take_fault(self, route: str, account: dict) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["route"] and not route.startswith(fault["route"]):
                    continue
                if fault["account_id"] and fault["account_id"] != account["account_id"]:
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                self.stats["faults_injected"] += 1
                return fault
            return None

    # counters and log
    def count_account(self, account: dict | None, key: str, amount: int = 1) -> None:
        if account is None:
            return
        counters = self.stats["accounts"].setdefault(
            account["email"].lower(),
            {
                "requests": 0,
                "uploads": 0,
                "unchanged": 0,
                "bytes_committed": 0,
                "bytes_received": 0,
                "sessions_started": 0,
                "rate_limited": 0,
                "auth_errors": 0,
            },
        )
        counters[key] = counters.get(key, 0) + amount

    def record(self, route: str, account: dict | None, status: int, error: str | None) -> None:
        counters = self.stats["routes"].setdefault(route, {"requests": 0, "status": {}})
        counters["requests"] += 1
        counters["status"][str(status)] = counters["status"].get(str(status), 0) + 1
        self.count_account(account, "requests")
        if status == 429:
            self.count_account(account, "rate_limited")
        elif status == 401:
            self.count_account(account, "auth_errors")
        self.log.append(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "route": route,
                "account": account["email"] if account else None,
                "status": status,
                "error": error,
            }
        )

    def count_oauth(self, key: str) -> None:
        self.stats["oauth"][key] = self.stats["oauth"].get(key, 0) + 1

    # files
    def commit(
        self, account: dict, commit: dict, blob: Path, size: int, content_hash: str
    ) -> tuple[dict, bool]:
        """Write ``blob`` at ``commit['path']`` under the write mode's conflict rules. Returns the
        metadata and whether anything was written; raises the route's WriteError as
        ``DropboxFailure`` (the caller wraps it as its route needs)."""
        store = self.stores[account["account_id"]]
        with self.lock:
            path = commit["path"]
            mode, autorename = commit["mode"], commit["autorename"]
            conflict = self._conflict(store, path, content_hash, mode, commit["strict_conflict"])
            if conflict == "same":
                blob.unlink(missing_ok=True)
                existing = store.files[path.lower()]
                return _public(existing), False
            if conflict is not None:
                if not autorename or conflict == "file_ancestor":
                    raise _WriteFailure(_write_conflict(conflict))
                path = self._free_name(store, path, mode[".tag"] == "update")
            now = time.time()
            key = path.lower()
            existing = store.files.get(key)
            parts = path.split("/")[1:-1]
            for depth in range(len(parts)):
                given = "/" + "/".join(parts[: depth + 1])
                folder = given.lower()
                if folder not in store.folders:
                    display = store.display_of(given)
                    store.folders[folder] = {
                        ".tag": "folder",
                        "name": _split(display)[1],
                        "path_lower": folder,
                        "path_display": display,
                        "id": "id:" + secrets.token_urlsafe(16)[:22],
                        "_seq": store.next_seq(),
                    }
            blob_name = secrets.token_hex(16)
            blob.replace(store.blobs / blob_name)
            if existing is not None:
                (store.blobs / existing["_blob"]).unlink(missing_ok=True)
            display = existing["path_display"] if existing else store.display_of(path)
            entry = {
                ".tag": "file",
                "name": _split(display)[1],
                "path_lower": key,
                "path_display": display,
                "id": existing["id"] if existing else "id:" + secrets.token_urlsafe(16)[:22],
                "client_modified": commit.get("client_modified") or iso(now),
                "server_modified": iso(now),
                "rev": secrets.token_hex(10),
                "size": size,
                "is_downloadable": True,
                "content_hash": content_hash,
                "_blob": blob_name,
                "_seq": store.next_seq(),
            }
            store.files[key] = entry
            store.save()
            return _public(entry), True

    @staticmethod
    def _conflict(
        store: AccountFiles, path: str, content_hash: str, mode: dict, strict: bool
    ) -> str | None:
        key = path.lower()
        if any(folder in store.files for folder in _ancestors(key)):
            return "file_ancestor"
        if key in store.folders:
            return "folder"
        existing = store.files.get(key)
        if existing is None:
            return "file" if mode[".tag"] == "update" and strict else None
        if existing["content_hash"] == content_hash:
            return "same"  # identical contents: nothing written, no conflict
        if mode[".tag"] == "overwrite":
            return None
        if mode[".tag"] == "update" and mode["update"] == existing["rev"]:
            return None
        return "file"

    @staticmethod
    def _free_name(store: AccountFiles, path: str, update: bool) -> str:
        candidates = [_renamed(path, " (conflicted copy)")] if update else []
        candidates += [_renamed(path, f" ({n})") for n in range(1, 10_000)]
        for candidate in candidates:
            key = candidate.lower()
            if key not in store.files and key not in store.folders:
                return candidate
        raise _WriteFailure(_write_conflict("file"))

    def lookup(self, account: dict, path: str, route: str) -> dict:
        store = self.stores[account["account_id"]]
        if path.startswith("id:"):
            entry = store.by_id(path)
        elif not _valid_path(path):
            raise route_error(
                {".tag": "path", "path": {".tag": "malformed_path", "malformed_path": None}}
            )
        else:
            entry = store.files.get(path.lower()) or store.folders.get(path.lower())
        if entry is None:
            raise _not_found()
        return entry


class _WriteFailure(Exception):
    """A WriteError value (``{".tag": "conflict", ...}``), wrapped per route by the caller."""

    def __init__(self, error: dict):
        super().__init__(error[".tag"])
        self.error = error


# --- request plumbing --------------------------------------------------------------------------
async def _drain(request: Request) -> None:
    with contextlib.suppress(RuntimeError, OSError):
        async for _ in request.stream():
            pass


async def _receive(request: Request, tmp_dir: Path) -> tuple[Path | None, int, str]:
    """Stream the request body to a temp file, hashing as it comes. Past the single-request
    limit the rest is read and dropped, and the path is None (payload_too_large)."""
    path = tmp_dir / secrets.token_hex(12)
    hasher, size = ContentHasher(), 0
    out = path.open("wb")
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if out is None:
                continue
            if size > UPLOAD_LIMIT:
                out.close()
                path.unlink(missing_ok=True)
                out = None
                continue
            out.write(chunk)
            hasher.update(chunk)
    except BaseException:  # the client went away: keep no half body
        if out is not None:
            out.close()
        path.unlink(missing_ok=True)
        raise
    if out is not None:
        out.close()
    if size > UPLOAD_LIMIT:
        return None, size, ""
    return path, size, hasher.hexdigest()


def _assemble(chunks: list[Path], target: Path) -> str:
    """Concatenate a session's chunks into ``target``; the content hash of the whole file."""
    hasher = ContentHasher()
    with target.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as src:
                while data := src.read(BLOCK_SIZE):
                    out.write(data)
                    hasher.update(data)
    return hasher.hexdigest()


def _json_arg(route: str, raw: str | bytes | None, where: str) -> Any:
    if raw in (None, b"", ""):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_input(route, f"{where}: could not decode input as JSON") from None


def _require(route: str, arg: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(arg, dict) or not isinstance(arg.get(key), kind):
        raise bad_input(route, f"request body: {key}: missing or of the wrong type")
    return arg[key]


def _content_hash_arg(route: str, arg: dict) -> str | None:
    value = arg.get("content_hash")
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256_HEX.match(value):
        raise bad_input(route, "content_hash: must be 64 lowercase hex characters")
    return value


def _commit_info(route: str, arg: Any) -> dict:
    """A CommitInfo / UploadArg, validated and normalised (mode always a tagged dict)."""
    path = _require(route, arg, "path", str)
    mode = arg.get("mode", "add")
    if isinstance(mode, str):
        mode = {".tag": mode}
    if not isinstance(mode, dict) or mode.get(".tag") not in ("add", "overwrite", "update"):
        raise bad_input(route, "mode: expected add, overwrite or update")
    if mode[".tag"] == "update" and not (
        isinstance(mode.get("update"), str) and _REV.match(mode["update"])
    ):
        raise bad_input(route, "mode.update: a rev is required")
    client_modified = arg.get("client_modified")
    if client_modified is not None:
        try:
            datetime.strptime(client_modified, _TIME)
        except (TypeError, ValueError):
            raise bad_input(route, f"client_modified: expected format {_TIME}") from None
    flags = {}
    for flag in ("autorename", "mute", "strict_conflict"):
        value = arg.get(flag, False)
        if not isinstance(value, bool):
            raise bad_input(route, f"{flag}: expected a boolean")
        flags[flag] = value
    return {"path": path, "mode": mode, "client_modified": client_modified, **flags}


def _cursor(route: str, arg: Any) -> tuple[str, int]:
    cursor = _require(route, arg, "cursor", dict)
    session_id, offset = cursor.get("session_id"), cursor.get("offset")
    if not isinstance(session_id, str) or not isinstance(offset, int) or offset < 0:
        raise bad_input(route, "cursor: session_id and offset are required")
    return session_id, offset


def _encode_cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_cursor(route: str, cursor: Any) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (AttributeError, ValueError):
        data = None
    if not isinstance(data, dict) or not {"a", "p", "r", "l", "since", "upto", "o"} <= set(data):
        raise bad_input(route, "cursor: invalid cursor")
    return data


def _is_dropbox_path(path: str) -> bool:
    return path in ("/dropbox", "/_sandbox/dropbox") or path.startswith(
        ("/oauth2/", "/2/", "/dropbox/", "/_sandbox/dropbox/")
    )


def register_dropbox(app: FastAPI, state_dir: Path, base_url: str) -> None:
    """Serve the Dropbox emulator from ``app``'s process and port."""
    state = DropboxState(state_dir)
    dbx = FastAPI(
        title="Sandbox: Dropbox API v2",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    dbx.state.dropbox = app.state.dropbox = state
    app.add_middleware(PathDispatch, owns=_is_dropbox_path, inner=dbx)
    app_name = state.app["app_name"]

    @dbx.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        path = request.url.path
        if path.startswith("/2/") and exc.status_code in (404, 405):
            await _drain(request)
            return Response(
                f'Unknown API function: "{path[3:]}"', status_code=400, media_type="text/plain"
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    # --- the API call frame -----------------------------------------------------------------
    def authenticate(request: Request, route: str) -> dict:
        header = request.headers.get("authorization", "")
        if not header:
            raise bad_input(route, 'Must provide HTTP header "Authorization".')
        if not header.lower().startswith("bearer "):
            raise bad_input(route, 'Invalid authorization value in HTTP header "Authorization".')
        record = state.access.get(header[7:].strip())
        if record is None:
            raise auth_error("invalid_access_token")
        account = state.account_by_id(record["account_id"])
        if account is None:
            raise auth_error("invalid_access_token")
        request.state.account = account
        if record["expires_at"] <= time.time():
            raise auth_error("expired_access_token")
        return account

    async def call(request: Request, route: str, handler, *, content: bool = False) -> Response:
        """Auth, injected faults, argument decoding, the handler, then counters and the log.
        Content routes take their argument from ``Dropbox-API-Arg`` (or ``?arg=``) and stream the
        body; an early refusal drains it so the client reads the answer, not a reset."""
        request.state.account = None
        delay = 0.0
        try:
            account = authenticate(request, route)
            fault = state.take_fault(route, account)
            if fault is not None:
                if fault["kind"] == "server_error":
                    raise DropboxFailure(
                        Response("Internal Server Error", status_code=500), "server_error"
                    )
                if fault["kind"] == "timeout":
                    delay = fault["delay_s"]
                else:
                    raise rate_limited(fault["kind"], fault["retry_after"])
            if content:
                media = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if media not in ("application/octet-stream", "text/plain"):
                    raise bad_input(
                        route,
                        'Bad HTTP "Content-Type" header. Expecting one of '
                        '"application/octet-stream", "text/plain; '
                        'charset=dropbox-cors-hack".',
                    )
                raw = request.headers.get("dropbox-api-arg") or request.query_params.get("arg")
                arg = _json_arg(route, raw, 'HTTP header "Dropbox-API-Arg"')
            else:
                media = request.headers.get("content-type", "").split(";")[0].strip().lower()
                body = await request.body()
                if body and media != "application/json":
                    raise bad_input(
                        route, 'Bad HTTP "Content-Type" header: expecting "application/json".'
                    )
                arg = _json_arg(route, body, "request body")
            result = await handler(request, account, arg)
            response: Response = JSONResponse(result)
            error = None
        except DropboxFailure as failure:
            if content:
                await _drain(request)
            response, error = failure.response, failure.summary
        account = request.state.account
        with state.lock:
            state.record(route, account, response.status_code, error)
        response.headers["X-Dropbox-Request-Id"] = _request_id()
        if delay:
            await asyncio.sleep(delay)  # done, but the answer comes too late for the client
        return response

    def store_of(account: dict) -> AccountFiles:
        return state.stores[account["account_id"]]

    # --- files ------------------------------------------------------------------------------
    async def receive_checked(request: Request, route: str, account: dict, arg: dict):
        expected = _content_hash_arg(route, arg)
        tmp, size, content_hash = await _receive(request, state.tmp)
        with state.lock:
            state.count_account(account, "bytes_received", size)
        if tmp is None:
            raise route_error({".tag": "payload_too_large"})
        if expected is not None and expected != content_hash:
            tmp.unlink(missing_ok=True)
            raise route_error({".tag": "content_hash_mismatch"})
        return tmp, size, content_hash

    def counted_commit(account: dict, commit: dict, blob: Path, size: int, content_hash: str):
        metadata, written = state.commit(account, commit, blob, size, content_hash)
        with state.lock:
            state.count_account(account, "uploads" if written else "unchanged")
            if written:
                state.count_account(account, "bytes_committed", size)
        return metadata

    async def upload(request: Request, account: dict, arg: Any) -> dict:
        route = "files/upload"
        commit = _commit_info(route, arg)
        if not _valid_path(commit["path"]):
            await _drain(request)
            raise route_error(
                {
                    ".tag": "path",
                    "reason": {".tag": "malformed_path", "malformed_path": None},
                    "upload_session_id": "",
                }
            )
        tmp, size, content_hash = await receive_checked(request, route, account, arg)
        try:
            return counted_commit(account, commit, tmp, size, content_hash)
        except _WriteFailure as failure:
            tmp.unlink(missing_ok=True)
            raise route_error(
                {".tag": "path", "reason": failure.error, "upload_session_id": ""}
            ) from None

    async def session_start(request: Request, account: dict, arg: Any) -> dict:
        route = "files/upload_session/start"
        arg = arg if isinstance(arg, dict) else {}
        close = arg.get("close", False)
        if not isinstance(close, bool):
            raise bad_input(route, "close: expected a boolean")
        tmp, size, _ = await receive_checked(request, route, account, arg)
        session_id = "pid_upload_session:" + secrets.token_urlsafe(36)
        folder = state.folder / "sessions" / session_id.split(":")[1]
        folder.mkdir(parents=True)
        chunks = []
        if size:
            tmp.replace(folder / f"{0:016d}")
            chunks.append(0)
        else:
            tmp.unlink()
        with state.lock:
            state.sessions[session_id] = {
                "account_id": account["account_id"],
                "size": size,
                "closed": close,
                "created": time.time(),
                "chunks": chunks,
                "finishing": False,
            }
            state.save_sessions()
            state.count_account(account, "sessions_started")
        return {"session_id": session_id}

    def find_session(account: dict, session_id: str) -> dict | None:
        session = state.sessions.get(session_id)
        if (
            session is None
            or session["account_id"] != account["account_id"]
            or session["finishing"]
            or session["created"] + SESSION_SECONDS < time.time()
        ):
            return None
        return session

    def session_folder(session_id: str) -> Path:
        return state.folder / "sessions" / session_id.split(":", 1)[-1]

    async def session_append(request: Request, account: dict, arg: Any) -> None:
        route = "files/upload_session/append_v2"
        session_id, offset = _cursor(route, arg)
        close = arg.get("close", False)
        if not isinstance(close, bool):
            raise bad_input(route, "close: expected a boolean")
        tmp, size, _ = await receive_checked(request, route, account, arg)
        with state.lock:
            session = find_session(account, session_id)
            failure = None
            if session is None:
                failure = route_error({".tag": "not_found"})
            elif offset != session["size"]:
                failure = route_error(
                    {".tag": "incorrect_offset", "correct_offset": session["size"]}
                )
            elif session["closed"]:
                failure = route_error({".tag": "closed"})
            if failure is not None:
                tmp.unlink(missing_ok=True)
                raise failure
            if size:
                tmp.replace(session_folder(session_id) / f"{offset:016d}")
                session["chunks"].append(offset)
            else:
                tmp.unlink()
            session["size"] += size
            session["closed"] = close
            state.save_sessions()
        return None

    async def session_finish(request: Request, account: dict, arg: Any) -> dict:
        route = "files/upload_session/finish"
        session_id, offset = _cursor(route, arg)
        commit = _commit_info(route, _require(route, arg, "commit", dict))
        tmp, size, _ = await receive_checked(request, route, account, arg)
        with state.lock:
            session = find_session(account, session_id)
            failure = None
            if session is None:
                failure = {".tag": "lookup_failed", "lookup_failed": {".tag": "not_found"}}
            elif offset != session["size"]:
                failure = {
                    ".tag": "lookup_failed",
                    "lookup_failed": {
                        ".tag": "incorrect_offset",
                        "correct_offset": session["size"],
                    },
                }
            elif session["closed"] and size:
                failure = {".tag": "lookup_failed", "lookup_failed": {".tag": "closed"}}
            elif not _valid_path(commit["path"]):
                failure = {
                    ".tag": "path",
                    "path": {".tag": "malformed_path", "malformed_path": None},
                }
            if failure is not None:
                tmp.unlink(missing_ok=True)
                raise route_error(failure)
            folder = session_folder(session_id)
            added = None
            if size:
                added = offset
                tmp.replace(folder / f"{offset:016d}")
                session["chunks"].append(offset)
            else:
                tmp.unlink()
            session["size"] += size
            session["finishing"] = True
        chunks = [folder / f"{o:016d}" for o in session["chunks"]]
        blob = state.tmp / secrets.token_hex(12)
        try:
            content_hash = await asyncio.to_thread(_assemble, chunks, blob)
            metadata = counted_commit(account, commit, blob, session["size"], content_hash)
        except BaseException as failure:
            blob.unlink(missing_ok=True)
            with state.lock:  # leave the session as it was before this call
                if added is not None:
                    (folder / f"{added:016d}").unlink(missing_ok=True)
                    session["chunks"].remove(added)
                session["size"] -= size
                session["finishing"] = False
            if isinstance(failure, _WriteFailure):
                raise route_error({".tag": "path", "path": failure.error}) from None
            raise
        with state.lock:
            del state.sessions[session_id]
            state.save_sessions()
        shutil.rmtree(folder, ignore_errors=True)
        return metadata

    async def get_metadata(request: Request, account: dict, arg: Any) -> dict:
        route = "files/get_metadata"
        path = _require(route, arg, "path", str)
        if path in ("", "/"):
            raise bad_input(route, "request body: path: The root folder is unsupported.")
        return _public(state.lookup(account, path, route))

    def listing(account: dict, cursor: dict) -> dict:
        store = store_of(account)
        prefix, recursive = cursor["p"], cursor["r"]
        upto = store.seq if cursor["upto"] is None else cursor["upto"]
        entries = []
        for entry in (*store.folders.values(), *store.files.values()):
            key = entry["path_lower"]
            inside = key == prefix if recursive and prefix else False
            if key.startswith(prefix + "/"):
                inside = recursive or "/" not in key[len(prefix) + 1 :]
            if inside and cursor["since"] < entry["_seq"] <= upto:
                entries.append(entry)
        entries.sort(key=lambda e: e["path_lower"])
        start, limit = cursor["o"], cursor["l"]
        page = entries[start : start + limit]
        has_more = start + limit < len(entries)
        following = (
            dict(cursor, upto=upto, o=start + limit)
            if has_more
            else dict(cursor, since=upto, upto=None, o=0)
        )
        return {
            "entries": [_public(e) for e in page],
            "cursor": _encode_cursor(following),
            "has_more": has_more,
        }

    async def list_folder(request: Request, account: dict, arg: Any) -> dict:
        route = "files/list_folder"
        path = _require(route, arg, "path", str)
        recursive = arg.get("recursive", False)
        limit = arg.get("limit", LIST_LIMIT)
        if not isinstance(recursive, bool):
            raise bad_input(route, "recursive: expected a boolean")
        if not isinstance(limit, int) or not 1 <= limit <= LIST_LIMIT:
            raise bad_input(route, f"limit: expected 1 to {LIST_LIMIT}")
        prefix = ""
        if path not in ("", "/"):
            entry = state.lookup(account, path, route)
            if entry[".tag"] != "folder":
                raise route_error({".tag": "path", "path": {".tag": "not_folder"}})
            prefix = entry["path_lower"]
        cursor = {
            "a": account["account_id"],
            "p": prefix,
            "r": recursive,
            "l": limit,
            "since": 0,
            "upto": None,
            "o": 0,
        }
        return listing(account, cursor)

    async def list_folder_continue(request: Request, account: dict, arg: Any) -> dict:
        route = "files/list_folder/continue"
        cursor = _decode_cursor(route, _require(route, arg, "cursor", str))
        if cursor["a"] != account["account_id"]:
            raise bad_input(route, "cursor: invalid cursor")
        return listing(account, cursor)

    async def current_account(request: Request, account: dict, arg: Any) -> dict:
        local = account["email"].split("@")[0]
        words = [w.capitalize() for w in re.split(r"[._+-]+", local) if w] or ["Sandbox"]
        given, surname = words[0], " ".join(words[1:]) or "User"
        namespace = account["uid"][-9:]
        return {
            "account_id": account["account_id"],
            "name": {
                "given_name": given,
                "surname": surname,
                "familiar_name": given,
                "display_name": f"{given} {surname}",
                "abbreviated_name": (given[0] + surname[0]).upper(),
            },
            "email": account["email"],
            "email_verified": True,
            "disabled": False,
            "country": "US",
            "locale": "en",
            "referral_link": f"https://www.dropbox.com/referrals/sandbox{account['uid']}",
            "is_paired": False,
            "account_type": {".tag": "basic"},
            "root_info": {
                ".tag": "user",
                "root_namespace_id": namespace,
                "home_namespace_id": namespace,
            },
        }

    async def token_revoke(request: Request, account: dict, arg: Any) -> None:
        token = request.headers["authorization"][7:].strip()
        record = state.access[token]
        if record["refresh"] is not None:
            state.revoke(refresh=record["refresh"])
        with state.lock:
            state.access.pop(token, None)
            state.save_tokens()
        return None

    routes = {
        "files/upload": (upload, True),
        "files/upload_session/start": (session_start, True),
        "files/upload_session/append_v2": (session_append, True),
        "files/upload_session/finish": (session_finish, True),
        "files/get_metadata": (get_metadata, False),
        "files/list_folder": (list_folder, False),
        "files/list_folder/continue": (list_folder_continue, False),
        "users/get_current_account": (current_account, False),
        "auth/token/revoke": (token_revoke, False),
    }

    def add_route(route: str, handler, content: bool) -> None:
        async def endpoint(request: Request):
            return await call(request, route, handler, content=content)

        endpoint.__name__ = "dropbox_" + route.replace("/", "_")
        dbx.add_api_route(f"/2/{route}", endpoint, methods=["POST"])

    for route, (handler, content) in routes.items():
        add_route(route, handler, content)

    # --- OAuth 2 ----------------------------------------------------------------------------
    def authorize_problem(params: dict) -> str | None:
        if params.get("client_id") != state.app["app_key"]:
            return "Invalid client_id: this app does not exist."
        if params.get("response_type") != "code":
            return 'Invalid response_type: only "code" is supported.'
        redirect_uri = params.get("redirect_uri")
        if redirect_uri:
            parts = urlsplit(redirect_uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                return "Invalid redirect_uri: it must be an absolute http(s) URI."
        method = params.get("code_challenge_method")
        if params.get("code_challenge"):
            if method not in ("S256", "plain"):
                return "Invalid code_challenge_method: expected S256 or plain."
            if not 43 <= len(params["code_challenge"]) <= 128:
                return "Invalid code_challenge: 43 to 128 characters expected."
        elif method:
            return "code_challenge_method given without code_challenge."
        if params.get("token_access_type") not in (None, "", "online", "offline", "legacy"):
            return "Invalid token_access_type: expected online, offline or legacy."
        if len(params.get("state", "").encode()) > 500:
            return "Invalid state: at most 500 bytes."
        return None

    def authorize_page(params: dict, error: str = "", status: int = 200) -> HTMLResponse:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "login_hint"
        )
        email = params.get("login_hint", "")
        folder = html.escape(f"Apps/{app_name}")
        body = (
            (f'<p id="error" class="error">{html.escape(error)}</p>' if error else "")
            + f"<p><b>{html.escape(app_name)}</b> would like access to its own folder, "
            f"<code>{folder}</code>, inside your Dropbox.</p>"
            '<form id="authorize-form" method="post" action="/oauth2/authorize">'
            f"{hidden}"
            '<p><label for="email">Dropbox account email</label><br>'
            f'<input id="email" name="email" type="email" required value="{html.escape(email)}"'
            ' autocomplete="email" size="40"></p>'
            '<p><button id="cancel" name="decision" value="cancel" type="submit" formnovalidate>'
            "Cancel</button> "
            '<button id="allow" name="decision" value="allow" type="submit">Allow</button></p>'
            "</form>"
        )
        return _page(f"Sandbox Dropbox: authorize {app_name}", body, status)

    def redirect(redirect_uri: str, extra: dict) -> RedirectResponse:
        parts = urlsplit(redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + [
            (k, v) for k, v in extra.items() if v is not None
        ]
        return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), 302)

    @dbx.get("/oauth2/authorize", response_class=HTMLResponse)
    async def authorize_form(request: Request):
        params = dict(request.query_params)
        problem = authorize_problem(params)
        with state.lock:
            state.record("oauth2/authorize", None, 400 if problem else 200, problem)
        if problem:
            return _page("Sandbox Dropbox: error", f'<p id="error">{html.escape(problem)}</p>', 400)
        return authorize_page(params)

    @dbx.post("/oauth2/authorize")
    async def authorize_decision(request: Request):
        params = {k: str(v) for k, v in (await request.form()).items()}
        decision, email = params.pop("decision", ""), params.pop("email", "").strip()
        problem = authorize_problem(params)
        if problem:
            with state.lock:
                state.record("oauth2/authorize", None, 400, problem)
            return _page("Sandbox Dropbox: error", f'<p id="error">{html.escape(problem)}</p>', 400)
        redirect_uri, url_state = params.get("redirect_uri"), params.get("state")
        if decision != "allow":
            with state.lock:
                state.count_oauth("authorize_denied")
                state.record("oauth2/authorize", None, 302, "access_denied")
            if not redirect_uri:
                return _page("Sandbox Dropbox", '<p id="denied">Access was not granted.</p>')
            return redirect(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "The user chose not to give your app access to their "
                    "Dropbox account.",
                    "state": url_state,
                },
            )
        if not _EMAIL.match(email):
            return authorize_page(
                dict(params, login_hint=email), "Type the email of a Dropbox account.", 400
            )
        account = state.link_account(email)
        code = secrets.token_urlsafe(32)
        with state.lock:
            state.codes[code] = {
                "account_id": account["account_id"],
                "client_id": params["client_id"],
                "redirect_uri": redirect_uri,
                "code_challenge": params.get("code_challenge"),
                "code_challenge_method": params.get("code_challenge_method") or None,
                "token_access_type": params.get("token_access_type") or "online",
                "expires_at": time.time() + CODE_SECONDS,
            }
            state.save_tokens()
            state.count_oauth("authorize_allowed")
            state.record("oauth2/authorize", account, 302, None)
        if not redirect_uri:
            return _page(
                "Sandbox Dropbox",
                "<p>Enter this code into the app to finish linking:</p>"
                f'<p><code id="auth-code">{html.escape(code)}</code></p>',
            )
        return redirect(redirect_uri, {"code": code, "state": url_state})

    def client_credentials(request: Request, form: dict) -> tuple[str | None, str | None]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
                return user, password
            except (ValueError, UnicodeDecodeError):
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def grant_code(form: dict, client_id: str, secret: str | None) -> tuple[JSONResponse, Any]:
        code = state.codes.pop(form.get("code") or "", None)
        if code is None or code["expires_at"] <= time.time() or code["client_id"] != client_id:
            return oauth_error("invalid_grant", "code doesn't exist or has expired"), None
        account = state.account_by_id(code["account_id"])
        if account is None:
            return oauth_error("invalid_grant", "code doesn't exist or has expired"), None
        challenge = code["code_challenge"]
        if challenge:
            verifier = form.get("code_verifier") or ""
            if code["code_challenge_method"] == "plain":
                computed = verifier
            else:
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if not verifier or not secrets.compare_digest(computed, challenge):
                return oauth_error("invalid_grant", "invalid code verifier"), account
        elif secret is None:
            return oauth_error("invalid_request", "No client_secret or code_verifier"), account
        if (form.get("redirect_uri") or None) != code["redirect_uri"]:
            return oauth_error("invalid_grant", "redirect_uri mismatch"), account
        refresh = None
        if code["token_access_type"] == "offline":
            refresh = secrets.token_urlsafe(48)
            state.refresh[refresh] = {
                "account_id": account["account_id"],
                "client_id": client_id,
                "pkce": bool(challenge),
                "created": time.time(),
            }
        body = {
            "access_token": state.issue_access(account["account_id"], refresh),
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
        }
        if refresh:
            body["refresh_token"] = refresh
        body.update(scope=SCOPE, uid=account["uid"], account_id=account["account_id"])
        state.count_oauth("authorization_code")
        return JSONResponse(body), account

    def grant_refresh(form: dict, client_id: str, secret: str | None) -> tuple[JSONResponse, Any]:
        record = state.refresh.get(form.get("refresh_token") or "")
        if record is None or record["client_id"] != client_id:
            return oauth_error("invalid_grant", "refresh token is invalid or revoked"), None
        account = state.account_by_id(record["account_id"])
        if secret is None and not record["pkce"]:
            return oauth_error("invalid_request", "No client_secret provided"), account
        token = state.issue_access(record["account_id"], form["refresh_token"])
        state.count_oauth("refresh_token")
        body = {"access_token": token, "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS}
        return JSONResponse(body), account

    @dbx.post("/oauth2/token")
    async def token(request: Request):
        form = dict(request.query_params)
        form.update({k: str(v) for k, v in (await request.form()).items()})
        client_id, secret = client_credentials(request, form)
        account = None
        with state.lock:
            if client_id != state.app["app_key"] or (
                secret is not None and secret != state.app["app_secret"]
            ):
                response = oauth_error("invalid_client", "Invalid client_id or client_secret")
            elif form.get("grant_type") == "authorization_code":
                response, account = grant_code(form, client_id, secret)
            elif form.get("grant_type") == "refresh_token":
                response, account = grant_refresh(form, client_id, secret)
            else:
                response = oauth_error(
                    "unsupported_grant_type",
                    'grant_type must be "authorization_code" or "refresh_token"',
                )
            state.save_tokens()
            error = None
            if response.status_code != 200:
                error = json.loads(response.body)["error"]
                state.count_oauth("refused")
            state.record("oauth2/token", account, response.status_code, error)
        response.headers["X-Dropbox-Request-Id"] = _request_id()
        return response

    @dbx.post("/2/check/app")
    async def check_app(request: Request):
        """App authentication (HTTP Basic app key:secret) echoing ``query``; changes nothing.
        A wrong key or secret: 401 ``invalid_access_token`` (assumed; Dropbox documents only
        the success)."""
        client_id, secret = client_credentials(request, {})
        if client_id != state.app["app_key"] or secret != state.app["app_secret"]:
            body = {
                "error_summary": "invalid_access_token/",
                "error": {".tag": "invalid_access_token"},
            }
            response = JSONResponse(body, status_code=401)
        else:
            try:
                query = json.loads(await request.body() or b"{}").get("query", "")
            except (ValueError, AttributeError):
                query = ""
            response = JSONResponse({"result": str(query)})
        response.headers["X-Dropbox-Request-Id"] = _request_id()
        return response

    # --- admin switches and the HTML view ---------------------------------------------------
    async def admin_body(request: Request) -> dict:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise DropboxFailure(
                JSONResponse({"detail": "JSON object expected"}, status_code=400), "admin"
            )
        return body

    def admin_account(body: dict) -> dict:
        account = state.find_account(body.get("account"))
        if account is None:
            raise DropboxFailure(
                JSONResponse({"detail": "unknown account (email or account_id)"}, 404), "admin"
            )
        return account

    def admin(handler):
        async def endpoint(request: Request):
            try:
                return await handler(request)
            except DropboxFailure as failure:
                return failure.response

        endpoint.__name__ = handler.__name__
        return endpoint

    @dbx.get("/_sandbox/dropbox/app")
    async def get_app():
        return dict(state.app, app_folder=f"/Apps/{app_name}")

    @dbx.get("/_sandbox/dropbox/state-dir")
    async def get_state_dir():
        return {"path": str(state.folder)}

    @dbx.post("/_sandbox/dropbox/reset")
    async def reset():
        state.reset()
        return {"accounts": 0}

    @dbx.get("/_sandbox/dropbox/accounts")
    async def list_accounts():
        now = time.time()
        result = []
        for account in state.accounts.values():
            store = state.stores[account["account_id"]]
            result.append(
                dict(
                    account,
                    files=len(store.files),
                    bytes=sum(f["size"] for f in store.files.values()),
                    live_access_tokens=sum(
                        1
                        for r in state.access.values()
                        if r["account_id"] == account["account_id"] and r["expires_at"] > now
                    ),
                    refresh_tokens=sum(
                        1
                        for r in state.refresh.values()
                        if r["account_id"] == account["account_id"]
                    ),
                    open_sessions=sum(
                        1
                        for s in state.sessions.values()
                        if s["account_id"] == account["account_id"]
                    ),
                )
            )
        return {"accounts": result}

    @dbx.get("/_sandbox/dropbox/files")
    async def list_files(account: str):
        found = state.find_account(account)
        if found is None:
            return JSONResponse({"detail": "unknown account (email or account_id)"}, 404)
        store = state.stores[found["account_id"]]
        files = sorted(store.files.values(), key=lambda f: f["path_lower"])
        return {"account": found["email"], "entries": [_public(f) for f in files]}

    @dbx.get("/_sandbox/dropbox/faults")
    async def get_faults():
        return {"faults": state.faults}

    @dbx.post("/_sandbox/dropbox/faults")
    @admin
    async def add_fault(request: Request):
        body = await admin_body(request)
        kind = body.get("kind", "too_many_requests")
        if kind not in FAULT_KINDS:
            return JSONResponse({"detail": f"kind must be one of {FAULT_KINDS}"}, 400)
        account_id = admin_account(body)["account_id"] if body.get("account") else None
        route = body.get("route")
        if route is not None and not isinstance(route, str):
            return JSONResponse({"detail": "route must be a string"}, 400)
        with state.lock:
            state.faults.append(
                {
                    "kind": kind,
                    "count": max(1, int(body.get("count", 1))),
                    "retry_after": max(0, int(body.get("retry_after", 1))),
                    "delay_s": float(body.get("delay_s", 30.0)),
                    "account_id": account_id,
                    "route": (route or "").removeprefix("/2/").lstrip("/") or None,
                }
            )
        return {"faults": state.faults}

    @dbx.post("/_sandbox/dropbox/faults/clear")
    async def clear_faults():
        with state.lock:
            state.faults.clear()
        return {"faults": state.faults}

    @dbx.post("/_sandbox/dropbox/expire-tokens")
    @admin
    async def expire_tokens(request: Request):
        account = admin_account(await admin_body(request))
        return {"expired": state.expire_tokens(account["account_id"])}

    @dbx.post("/_sandbox/dropbox/revoke")
    @admin
    async def revoke(request: Request):
        account = admin_account(await admin_body(request))
        access, refresh = state.revoke(account_id=account["account_id"])
        return {"revoked_access": access, "revoked_refresh": refresh}

    @dbx.get("/_sandbox/dropbox/stats")
    async def get_stats():
        return state.stats

    @dbx.post("/_sandbox/dropbox/reset-stats")
    async def reset_stats():
        with state.lock:
            state.stats = state.zero_stats()
            state.log.clear()
        return state.stats

    @dbx.get("/_sandbox/dropbox/log")
    async def get_log(limit: int = 200):
        entries = list(state.log)
        return {"requests": entries[-limit:] if limit > 0 else []}

    @dbx.get("/dropbox", response_class=HTMLResponse)
    @dbx.get("/dropbox/", response_class=HTMLResponse)
    async def html_view():
        return _page("Sandbox Dropbox", _accounts_html(state, app_name))


def _accounts_html(state: DropboxState, app_name: str) -> str:
    parts = [
        f"<p>App <b>{html.escape(app_name)}</b> (key <code>"
        f"{html.escape(state.app['app_key'])}</code>), app-folder access: each account's files "
        f"live in <code>/Apps/{html.escape(app_name)}</code>.</p>"
    ]
    accounts = sorted(state.accounts.values(), key=lambda a: a["email"].lower())
    for account in accounts:
        store = state.stores[account["account_id"]]
        files = sorted(store.files.values(), key=lambda f: f["path_lower"])
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    f["path_display"],
                    f"{f['size']:,}",
                    f["content_hash"],
                    f["server_modified"],
                    f["rev"],
                )
            )
            + "</tr>"
            for f in files
        )
        total = sum(f["size"] for f in files)
        parts.append(
            f'<h2 id="account-{html.escape(account["uid"])}">{html.escape(account["email"])}</h2>'
            f"<p><small>{html.escape(account['account_id'])} · {len(files)} files, "
            f"{total:,} bytes</small></p>"
            + (
                "<table><tr><th>path</th><th>size</th><th>content_hash</th>"
                f"<th>server_modified</th><th>rev</th></tr>{rows}</table>"
                if files
                else "<p>empty app folder</p>"
            )
        )
    if not accounts:
        parts.append("<p>no account has linked the app yet</p>")
    return "".join(parts)
