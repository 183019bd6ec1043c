"""``/sheets/``: a read-only HTML view of every spreadsheet (no Google API; for people).

Each tab is drawn as a grid, values shown as the spreadsheet's locale formats them, with its
formulas' values (hover shows the formula), ``=IMAGE`` cells as images, frozen rows
highlighted and data-validation lists listed under the grid.
"""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from sandbox.a1 import column_letters
from sandbox.google.cells import IMAGE_FORMULA, formatted, is_formula
from sandbox.google.state import GoogleDep
from sandbox.google.store import Sheet

router = APIRouter()


@router.get("/sheets/", response_class=HTMLResponse)
async def html_index(state: GoogleDep):
    items = "".join(
        f'<li><a href="/sheets/{b.spreadsheet_id}">{html.escape(b.title)}</a> '
        f"<small>{len(b.sheets)} tabs, shared with "
        f"{html.escape(', '.join(p.get('emailAddress', p['type']) for p in b.permissions))}"
        "</small></li>"
        for b in sorted(state.store.books.values(), key=lambda b: b.title)
    )
    return _page("Sandbox spreadsheets", f"<ul>{items or '<li>none yet</li>'}</ul>")


@router.get("/sheets/{book_id}", response_class=HTMLResponse)
async def html_book(book_id: str, state: GoogleDep):
    book = state.store.books.get(book_id)
    if book is None:
        return HTMLResponse("not found", status_code=404)
    return _page(
        f"{book.title} ({book.locale})",
        "".join(_sheet_html(s, book.locale) for s in sorted(book.sheets, key=lambda s: s.index)),
    )


def _validation_lists(sheet: Sheet) -> dict[int, list[str]]:
    lists = {}
    for v in sheet.validations:
        condition = v["rule"].get("condition", {})
        if condition.get("type") == "ONE_OF_LIST":
            for col in range(
                v["range"].get("startColumnIndex", 0), v["range"].get("endColumnIndex", 1)
            ):
                lists[col] = [x.get("userEnteredValue") for x in condition.get("values", [])]
    return lists


def _sheet_html(sheet: Sheet, locale: str) -> str:
    lists = _validation_lists(sheet)
    width = max((len(r) for r in sheet.cells), default=0)
    head = "".join(f"<th>{column_letters(c)}</th>" for c in range(width))
    body = []
    for r in range(sheet.used_rows()):
        cells = []
        for c in range(width):
            raw = sheet.get(r, c)
            formula = is_formula(raw, sheet.pattern(r, c))
            image = IMAGE_FORMULA.match(raw) if formula else None
            if image:
                cells.append(f'<td><img src="{html.escape(image.group(1))}" width="160"></td>')
            else:
                text = html.escape(formatted(raw, sheet.pattern(r, c), locale))
                title = f' title="{html.escape(raw)}"' if formula else ""
                mark = " class=list" if c in lists and r >= sheet.frozen_rows else ""
                cells.append(f"<td{title}{mark}>{text}</td>")
        style = " class=frozen" if r < sheet.frozen_rows else ""
        body.append(f"<tr{style}><th>{r + 1}</th>{''.join(cells)}</tr>")
    notes = "".join(
        f"<li>column {column_letters(c)}: one of {html.escape(', '.join(map(str, values)))}</li>"
        for c, values in lists.items()
    )
    return (
        f"<h2>{html.escape(sheet.title)}</h2><table><tr><th></th>{head}</tr>{''.join(body)}"
        f"</table>" + (f"<p>Data validation:</p><ul>{notes}</ul>" if notes else "")
    )


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
th {{ background: #f1f3f4; }} tr.frozen td {{ font-weight: 600; background: #e8f0fe; }}
td.list {{ background: #fffbe6; }}
</style></head><body><h1>{html.escape(title)}</h1>{body}
<p><small>Google Sheets sandbox, read-only view</small></p></body></html>""")
