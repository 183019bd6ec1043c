"""What the Dropbox emulator keeps: the registered app, accounts, tokens, codes, each account's
app folder (files and folders), upload sessions; and, in memory, faults, counters and a log.

On disk under ``state_dir/dropbox``: ``app.json``, ``accounts.json``, ``tokens.json``,
``sessions.json``, ``files/<uid>/index.json`` with the bytes in ``files/<uid>/blobs/``, and
``sessions/<id>/`` chunks. Routes get the one :class:`DropboxState` (on the Dropbox app's
``state.dropbox``) through the :data:`DropboxDep` dependency.

Write modes follow ``files/upload``'s ``WriteMode`` in
https://www.dropbox.com/developers/documentation/http/documentation (add / overwrite / update
with autorename and strict_conflict; identical content at the target path is "no conflict,
nothing written", the existing metadata coming back with the same rev).

Assumption: folders exist only as parents of uploaded files.
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from sandbox.common import iso, write_json
from sandbox.dropbox.errors import WriteFailure, not_found, route_error, write_conflict
from sandbox.dropbox.paths import ancestors, renamed, split, valid_path

ACCESS_TOKEN_SECONDS = 14_400
LOG_LENGTH = 2000
_KEY_CHARS = string.ascii_lowercase + string.digits


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
        parent, name = split(path)
        if not parent:
            return path
        folder = self.folders.get(parent.lower())
        return f"{folder['path_display'] if folder else self.display_of(parent)}/{name}"


def public(entry: dict) -> dict:
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
                return public(existing), False
            if conflict is not None:
                if not autorename or conflict == "file_ancestor":
                    raise WriteFailure(write_conflict(conflict))
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
                        "name": split(display)[1],
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
                "name": split(display)[1],
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
            return public(entry), True

    @staticmethod
    def _conflict(
        store: AccountFiles, path: str, content_hash: str, mode: dict, strict: bool
    ) -> str | None:
        key = path.lower()
        if any(folder in store.files for folder in ancestors(key)):
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
        candidates = [renamed(path, " (conflicted copy)")] if update else []
        candidates += [renamed(path, f" ({n})") for n in range(1, 10_000)]
        for candidate in candidates:
            key = candidate.lower()
            if key not in store.files and key not in store.folders:
                return candidate
        raise WriteFailure(write_conflict("file"))

    def lookup(self, account: dict, path: str, route: str) -> dict:
        store = self.stores[account["account_id"]]
        if path.startswith("id:"):
            entry = store.by_id(path)
        elif not valid_path(path):
            raise route_error(
                {".tag": "path", "path": {".tag": "malformed_path", "malformed_path": None}}
            )
        else:
            entry = store.files.get(path.lower()) or store.folders.get(path.lower())
        if entry is None:
            raise not_found()
        return entry


def dropbox_state(request: Request) -> DropboxState:
    return request.app.state.dropbox


DropboxDep = Annotated[DropboxState, Depends(dropbox_state)]
