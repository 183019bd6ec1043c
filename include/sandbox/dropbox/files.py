"""Dropbox API v2 ``files`` routes: ``upload``, ``get_metadata``, ``list_folder`` and
``list_folder/continue`` (upload sessions are in :mod:`sandbox.dropbox.upload_sessions`).

Follows https://www.dropbox.com/developers/documentation/http/documentation#files-upload and
the ``files/get_metadata``, ``files/list_folder`` and ``files/list_folder/continue`` sections:
``files/upload`` takes an ``UploadArg`` (``CommitInfo``: path, mode add / overwrite / update,
autorename, client_modified, mute, strict_conflict, content_hash) in ``Dropbox-API-Arg``, at
most 150 MiB (else 409 ``payload_too_large``); a ``content_hash`` that does not match the data is
409 ``content_hash_mismatch``; listings page with ``limit`` (≤ 2000) and a cursor. Each account
sees only its app folder; paths are case-insensitive (``path_lower``).

Assumption: scopes are reported but not enforced.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from sandbox.dropbox.api_call import add_rpc_route, drain, receive, require
from sandbox.dropbox.errors import WriteFailure, bad_input, route_error
from sandbox.dropbox.paths import valid_path
from sandbox.dropbox.state import DropboxState, public

LIST_LIMIT = 2000
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_REV = re.compile(r"^[0-9a-f]{9,}$")

router = APIRouter()


def content_hash_arg(route: str, arg: dict) -> str | None:
    value = arg.get("content_hash")
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256_HEX.match(value):
        raise bad_input(route, "content_hash: must be 64 lowercase hex characters")
    return value


def commit_info(route: str, arg: Any) -> dict:
    """A CommitInfo / UploadArg, validated and normalised (mode always a tagged dict)."""
    path = require(route, arg, "path", str)
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


def encode_cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_cursor(route: str, cursor: Any) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (AttributeError, ValueError):
        data = None
    if not isinstance(data, dict) or not {"a", "p", "r", "l", "since", "upto", "o"} <= set(data):
        raise bad_input(route, "cursor: invalid cursor")
    return data


async def receive_checked(
    state: DropboxState, request: Request, route: str, account: dict, arg: dict
):
    expected = content_hash_arg(route, arg)
    tmp, size, content_hash = await receive(request, state.tmp)
    with state.lock:
        state.count_account(account, "bytes_received", size)
    if tmp is None:
        raise route_error({".tag": "payload_too_large"})
    if expected is not None and expected != content_hash:
        tmp.unlink(missing_ok=True)
        raise route_error({".tag": "content_hash_mismatch"})
    return tmp, size, content_hash


def counted_commit(
    state: DropboxState, account: dict, commit: dict, blob: Path, size: int, content_hash: str
):
    metadata, written = state.commit(account, commit, blob, size, content_hash)
    with state.lock:
        state.count_account(account, "uploads" if written else "unchanged")
        if written:
            state.count_account(account, "bytes_committed", size)
    return metadata


async def upload(state: DropboxState, request: Request, account: dict, arg: Any) -> dict:
    route = "files/upload"
    commit = commit_info(route, arg)
    if not valid_path(commit["path"]):
        await drain(request)
        raise route_error(
            {
                ".tag": "path",
                "reason": {".tag": "malformed_path", "malformed_path": None},
                "upload_session_id": "",
            }
        )
    tmp, size, content_hash = await receive_checked(state, request, route, account, arg)
    try:
        return counted_commit(state, account, commit, tmp, size, content_hash)
    except WriteFailure as failure:
        tmp.unlink(missing_ok=True)
        raise route_error(
            {".tag": "path", "reason": failure.error, "upload_session_id": ""}
        ) from None


async def get_metadata(state: DropboxState, request: Request, account: dict, arg: Any) -> dict:
    route = "files/get_metadata"
    path = require(route, arg, "path", str)
    if path in ("", "/"):
        raise bad_input(route, "request body: path: The root folder is unsupported.")
    return public(state.lookup(account, path, route))


def listing(state: DropboxState, account: dict, cursor: dict) -> dict:
    store = state.stores[account["account_id"]]
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
        "entries": [public(e) for e in page],
        "cursor": encode_cursor(following),
        "has_more": has_more,
    }


async def list_folder(state: DropboxState, request: Request, account: dict, arg: Any) -> dict:
    route = "files/list_folder"
    path = require(route, arg, "path", str)
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
    return listing(state, account, cursor)


async def list_folder_continue(
    state: DropboxState, request: Request, account: dict, arg: Any
) -> dict:
    route = "files/list_folder/continue"
    cursor = decode_cursor(route, require(route, arg, "cursor", str))
    if cursor["a"] != account["account_id"]:
        raise bad_input(route, "cursor: invalid cursor")
    return listing(state, account, cursor)


add_rpc_route(router, "files/upload", upload, content=True)
add_rpc_route(router, "files/get_metadata", get_metadata, content=False)
add_rpc_route(router, "files/list_folder", list_folder, content=False)
add_rpc_route(router, "files/list_folder/continue", list_folder_continue, content=False)
