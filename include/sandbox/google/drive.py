"""Drive API v3, the ``files`` and ``permissions`` calls gspread makes for spreadsheets.

Follows https://developers.google.com/drive/api/reference/rest/v3/files (create, list with a
``name = '...'`` query, get, delete) and
https://developers.google.com/drive/api/reference/rest/v3/permissions (create, list). Only
Google Sheets files exist here; sharing replaces an address's earlier permission.

Known gap (docs/service-facts.md): real Drive refuses a spreadsheet created in a service
account's own My Drive (403 ``storageQuotaExceeded``) and a share without notification to an
address with no Google account (400 ``invalidSharingRequest``); this emulator accepts both.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.google.errors import ApiError
from sandbox.google.state import GoogleDep
from sandbox.google.store import Spreadsheet

router = APIRouter()


def drive_file(book: Spreadsheet) -> dict:
    return {
        "kind": "drive#file",
        "id": book.spreadsheet_id,
        "name": book.title,
        "mimeType": "application/vnd.google-apps.spreadsheet",
        "createdTime": book.created,
        "modifiedTime": book.modified,
    }


@router.post("/drive/v3/files")
async def drive_create(request: Request, state: GoogleDep):
    body = await request.json()
    if body.get("mimeType") != "application/vnd.google-apps.spreadsheet":
        raise ApiError(400, "Only Google Sheets files can be created in this sandbox.")
    return drive_file(
        state.store.create(body.get("name") or "Untitled spreadsheet", request.state.user)
    )


@router.get("/drive/v3/files")
async def drive_list(state: GoogleDep, q: str = ""):
    name = re.search(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", q)
    books = [
        b
        for b in state.store.books.values()
        if name is None or b.title == name.group(1).replace("\\'", "'")
    ]
    return {
        "kind": "drive#fileList",
        "incompleteSearch": False,
        "files": [drive_file(b) for b in books],
    }


@router.get("/drive/v3/files/{file_id}")
async def drive_get(file_id: str, state: GoogleDep):
    return drive_file(state.store.get(file_id))


@router.delete("/drive/v3/files/{file_id}")
async def drive_delete(file_id: str, state: GoogleDep):
    store = state.store
    store.get(file_id)
    del store.books[file_id]
    (store.folder / f"{file_id}.json").unlink(missing_ok=True)
    return JSONResponse(None, status_code=204)


@router.post("/drive/v3/files/{file_id}/permissions")
async def drive_share(file_id: str, request: Request, state: GoogleDep):
    book = state.store.get(file_id)
    body = await request.json()
    if body.get("role") not in ("owner", "writer", "commenter", "reader"):
        raise ApiError(400, f"Invalid permission role: {body.get('role')}")
    if body.get("type") in ("user", "group") and "@" not in str(body.get("emailAddress")):
        raise ApiError(400, "Invalid sharing request: emailAddress is required.")
    permission = {
        "kind": "drive#permission",
        "id": uuid.uuid4().hex,
        "type": body.get("type"),
        "role": body["role"],
    }
    if body.get("emailAddress"):
        permission["emailAddress"] = body["emailAddress"]
    book.permissions = [
        p
        for p in book.permissions
        if p.get("emailAddress") != permission.get("emailAddress") or p["role"] == "owner"
    ] + [permission]
    state.store.save(book)
    return permission


@router.get("/drive/v3/files/{file_id}/permissions")
async def drive_permissions(file_id: str, state: GoogleDep):
    return {"kind": "drive#permissionList", "permissions": state.store.get(file_id).permissions}
