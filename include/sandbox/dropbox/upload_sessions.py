"""Dropbox API v2 upload sessions: ``files/upload_session/start``, ``append_v2`` and ``finish``,
for files over the 150 MiB single-request limit.

Follows the ``files/upload_session/*`` sections of
https://www.dropbox.com/developers/documentation/http/documentation: a session takes chunks at
the offset it expects (else ``incorrect_offset`` with ``correct_offset``), can be closed, and is
committed by ``finish`` with a ``CommitInfo``; sessions live 7 days. Chunks are kept on disk under
``state_dir/dropbox/sessions/<id>/``.

Assumptions: a failed ``finish`` (path conflict, hash mismatch) leaves the session as it was, so
the same call can be retried with another path; a finished session is gone
(``lookup_failed/not_found``). ``session_type: concurrent`` is accepted but behaves as
sequential.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from sandbox.dropbox.api_call import add_rpc_route, require
from sandbox.dropbox.content_hash import assemble
from sandbox.dropbox.errors import WriteFailure, bad_input, route_error
from sandbox.dropbox.files import commit_info, counted_commit, receive_checked
from sandbox.dropbox.paths import valid_path
from sandbox.dropbox.state import DropboxState

SESSION_SECONDS = 7 * 24 * 3600

router = APIRouter()


def cursor_arg(route: str, arg: Any) -> tuple[str, int]:
    cursor = require(route, arg, "cursor", dict)
    session_id, offset = cursor.get("session_id"), cursor.get("offset")
    if not isinstance(session_id, str) or not isinstance(offset, int) or offset < 0:
        raise bad_input(route, "cursor: session_id and offset are required")
    return session_id, offset


async def session_start(state: DropboxState, request: Request, account: dict, arg: Any) -> dict:
    route = "files/upload_session/start"
    arg = arg if isinstance(arg, dict) else {}
    close = arg.get("close", False)
    if not isinstance(close, bool):
        raise bad_input(route, "close: expected a boolean")
    tmp, size, _ = await receive_checked(state, request, route, account, arg)
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


def find_session(state: DropboxState, account: dict, session_id: str) -> dict | None:
    session = state.sessions.get(session_id)
    if (
        session is None
        or session["account_id"] != account["account_id"]
        or session["finishing"]
        or session["created"] + SESSION_SECONDS < time.time()
    ):
        return None
    return session


def session_folder(state: DropboxState, session_id: str) -> Path:
    return state.folder / "sessions" / session_id.split(":", 1)[-1]


async def session_append(state: DropboxState, request: Request, account: dict, arg: Any) -> None:
    route = "files/upload_session/append_v2"
    session_id, offset = cursor_arg(route, arg)
    close = arg.get("close", False)
    if not isinstance(close, bool):
        raise bad_input(route, "close: expected a boolean")
    tmp, size, _ = await receive_checked(state, request, route, account, arg)
    with state.lock:
        session = find_session(state, account, session_id)
        failure = None
        if session is None:
            failure = route_error({".tag": "not_found"})
        elif offset != session["size"]:
            failure = route_error({".tag": "incorrect_offset", "correct_offset": session["size"]})
        elif session["closed"]:
            failure = route_error({".tag": "closed"})
        if failure is not None:
            tmp.unlink(missing_ok=True)
            raise failure
        if size:
            tmp.replace(session_folder(state, session_id) / f"{offset:016d}")
            session["chunks"].append(offset)
        else:
            tmp.unlink()
        session["size"] += size
        session["closed"] = close
        state.save_sessions()
    return None


async def session_finish(state: DropboxState, request: Request, account: dict, arg: Any) -> dict:
    route = "files/upload_session/finish"
    session_id, offset = cursor_arg(route, arg)
    commit = commit_info(route, require(route, arg, "commit", dict))
    tmp, size, _ = await receive_checked(state, request, route, account, arg)
    with state.lock:
        session = find_session(state, account, session_id)
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
        elif not valid_path(commit["path"]):
            failure = {
                ".tag": "path",
                "path": {".tag": "malformed_path", "malformed_path": None},
            }
        if failure is not None:
            tmp.unlink(missing_ok=True)
            raise route_error(failure)
        folder = session_folder(state, session_id)
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
        content_hash = await asyncio.to_thread(assemble, chunks, blob)
        metadata = counted_commit(state, account, commit, blob, session["size"], content_hash)
    except BaseException as failure:
        blob.unlink(missing_ok=True)
        with state.lock:  # leave the session as it was before this call
            if added is not None:
                (folder / f"{added:016d}").unlink(missing_ok=True)
                session["chunks"].remove(added)
            session["size"] -= size
            session["finishing"] = False
        if isinstance(failure, WriteFailure):
            raise route_error({".tag": "path", "path": failure.error}) from None
        raise
    with state.lock:
        del state.sessions[session_id]
        state.save_sessions()
    shutil.rmtree(folder, ignore_errors=True)
    return metadata


add_rpc_route(router, "files/upload_session/start", session_start, content=True)
add_rpc_route(router, "files/upload_session/append_v2", session_append, content=True)
add_rpc_route(router, "files/upload_session/finish", session_finish, content=True)
