"""Drive API v3, the ``files`` and ``permissions`` calls gspread makes for spreadsheets.

Follows https://developers.google.com/drive/api/reference/rest/v3/files (create, list with a
``name = '...'`` query, get, delete) and
https://developers.google.com/drive/api/reference/rest/v3/permissions (create, list). Only
Google Sheets files exist here; sharing replaces an address's earlier permission.

Who may own a file, shared drives and ``supportsAllDrives``, and who may be shared with
without a notification are decided by :mod:`sandbox.google.drives`, whose docstring lists
their "Assumptions": a service account creates only in a shared drive (else 403
``storageQuotaExceeded``), and ``sendNotificationEmail=false`` to an address with no Google
account is 400 ``invalidSharingRequest``.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.google.drives import is_service_account
from sandbox.google.errors import ApiError
from sandbox.google.state import GoogleDep, GoogleState
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


def all_drives(request: Request) -> bool:
    return request.query_params.get("supportsAllDrives", "").lower() == "true"


def not_found(file_id: str) -> ApiError:
    return ApiError(404, f"File not found: {file_id}.", reason="notFound", location="fileId")


def storage_quota_exceeded() -> ApiError:
    return ApiError(
        403,
        "The user's Drive storage quota has been exceeded.",
        reason="storageQuotaExceeded",
        domain="usageLimits",
    )


def file_of(state: GoogleState, request: Request, file_id: str) -> Spreadsheet:
    """A file, or 404 when it is in a shared drive and the call lacks supportsAllDrives."""
    try:
        book = state.store.get(file_id)
    except ApiError:
        raise not_found(file_id) from None
    if book.drive_id and not all_drives(request):
        raise not_found(file_id)
    return book


@router.post("/drive/v3/files")
async def drive_create(request: Request, state: GoogleDep):
    body = await request.json()
    if body.get("mimeType") != "application/vnd.google-apps.spreadsheet":
        raise ApiError(400, "Only Google Sheets files can be created in this sandbox.")
    user, parents = request.state.user, body.get("parents") or []
    drive = None
    if len(parents) > 1:
        raise ApiError(
            403,
            "Increasing the number of parents is not allowed.",
            reason="cannotAddParent",
        )
    if parents:
        drive = state.directory.drive_of(parents[0])
        if drive is None or not all_drives(request) or user.lower() not in drive.writers:
            raise not_found(parents[0])
    elif is_service_account(user):
        raise storage_quota_exceeded()
    name = body.get("name") or "Untitled spreadsheet"
    made = state.store.create(name, user, drive=drive and (drive.drive_id, drive.writers))
    return drive_file(made)


@router.get("/drive/v3/files")
async def drive_list(request: Request, state: GoogleDep, q: str = ""):
    name = re.search(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", q)
    shared = all_drives(request) and (
        request.query_params.get("includeItemsFromAllDrives", "").lower() == "true"
    )
    books = [
        b
        for b in state.store.books.values()
        if (name is None or b.title == name.group(1).replace("\\'", "'"))
        and (shared or not b.drive_id)
    ]
    return {
        "kind": "drive#fileList",
        "incompleteSearch": False,
        "files": [drive_file(b) for b in books],
    }


@router.get("/drive/v3/files/{file_id}")
async def drive_get(file_id: str, request: Request, state: GoogleDep):
    return drive_file(file_of(state, request, file_id))


@router.delete("/drive/v3/files/{file_id}")
async def drive_delete(file_id: str, request: Request, state: GoogleDep):
    store = state.store
    file_of(state, request, file_id)
    del store.books[file_id]
    (store.folder / f"{file_id}.json").unlink(missing_ok=True)
    return JSONResponse(None, status_code=204)


@router.post("/drive/v3/files/{file_id}/permissions")
async def drive_share(file_id: str, request: Request, state: GoogleDep):
    book = file_of(state, request, file_id)
    body = await request.json()
    if body.get("role") not in ("owner", "writer", "commenter", "reader"):
        raise ApiError(400, f"Invalid permission role: {body.get('role')}")
    email = str(body.get("emailAddress"))
    if body.get("type") in ("user", "group") and "@" not in email:
        raise ApiError(400, "Invalid sharing request: emailAddress is required.")
    notify = request.query_params.get("sendNotificationEmail", "true").lower() != "false"
    if body.get("type") in ("user", "group") and not notify:
        if not state.directory.is_google_account(email):
            raise ApiError(
                400,
                f'Bad Request. User message: "You are trying to invite {email}. Since there is '
                "no Google account associated with this email address, you must check the "
                '"Notify people" box to invite this recipient."',
                reason="invalidSharingRequest",
            )
    elif body.get("type") in ("user", "group"):
        message = request.query_params.get("emailMessage")
        state.directory.invitations.append({"file_id": file_id, "email": email, "message": message})
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
async def drive_permissions(file_id: str, request: Request, state: GoogleDep):
    book = file_of(state, request, file_id)
    return {"kind": "drive#permissionList", "permissions": book.permissions}
