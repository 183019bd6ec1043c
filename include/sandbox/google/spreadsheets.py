"""Sheets API v4 ``spreadsheets``: create, get and batchUpdate.

Follows https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets (the
``Spreadsheet`` resource as gspread reads it: properties, sheets with their grid properties and
protected ranges, ``spreadsheetUrl``). ``properties.locale`` and ``properties.timeZone`` may be
given at create (a locale the sandbox does not emulate is refused, :mod:`sandbox.google.store`)
and changed with ``updateSpreadsheetProperties``. Create puts the spreadsheet in the caller's
My Drive (the API has no parent), so a service account is refused 403 ``storageQuotaExceeded``
as by Drive ``files.create`` (assumption: the same error body; :mod:`sandbox.google.drives`). The batchUpdate request kinds are in
:mod:`sandbox.google.batch_update`; ``spreadsheetUrl`` points at the read-only view.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.google.batch_update import apply_request
from sandbox.google.drive import storage_quota_exceeded
from sandbox.google.drives import is_service_account
from sandbox.google.state import GoogleDep
from sandbox.google.store import check_locale

router = APIRouter()


@router.post("/v4/spreadsheets")
async def sheets_create(request: Request, state: GoogleDep):
    body = await request.json()
    if is_service_account(request.state.user):
        raise storage_quota_exceeded()
    titles = [s["properties"]["title"] for s in body.get("sheets", [])] or None
    props = body.get("properties", {})
    title = props.get("title") or "Untitled spreadsheet"
    extra = {}
    if props.get("locale"):
        check_locale(props["locale"], "value at 'spreadsheet.properties.locale'")
        extra["locale"] = props["locale"]
    if props.get("timeZone"):
        extra["time_zone"] = props["timeZone"]
    book = state.store.create(title, request.state.user, titles, **extra)
    return book.resource(state.base_url)


@router.get("/v4/spreadsheets/{book_id}")
async def sheets_get(book_id: str, state: GoogleDep):
    return state.store.get(book_id).resource(state.base_url)


@router.post("/v4/spreadsheets/{book_id}:batchUpdate")
async def sheets_batch_update(book_id: str, request: Request, state: GoogleDep):
    book = state.store.get(book_id)
    body = await request.json()
    replies = [apply_request(book, i, r) for i, r in enumerate(body.get("requests", []))]
    state.store.save(book)
    return {"spreadsheetId": book_id, "replies": replies}
