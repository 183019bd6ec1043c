"""Sheets API v4 ``spreadsheets``: create, get and batchUpdate.

Follows https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets (the
``Spreadsheet`` resource as gspread reads it: properties, sheets with their grid properties and
protected ranges, ``spreadsheetUrl``). The batchUpdate request kinds are in
:mod:`sandbox.google.batch_update`; ``spreadsheetUrl`` points at the read-only view.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.google.batch_update import apply_request
from sandbox.google.state import GoogleDep

router = APIRouter()


@router.post("/v4/spreadsheets")
async def sheets_create(request: Request, state: GoogleDep):
    body = await request.json()
    titles = [s["properties"]["title"] for s in body.get("sheets", [])] or None
    title = body.get("properties", {}).get("title") or "Untitled spreadsheet"
    return state.store.create(title, request.state.user, titles).resource(state.base_url)


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
