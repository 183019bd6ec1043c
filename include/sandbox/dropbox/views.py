"""``/dropbox/``: a read-only HTML view of the app and every linked account's files (for people)."""

from __future__ import annotations

import html
from functools import partial

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from sandbox.common import page
from sandbox.dropbox.state import DropboxDep, DropboxState

_page = partial(page, footer="Dropbox sandbox")

router = APIRouter()


@router.get("/dropbox", response_class=HTMLResponse)
@router.get("/dropbox/", response_class=HTMLResponse)
async def html_view(state: DropboxDep):
    return _page("Sandbox Dropbox", _accounts_html(state, state.app["app_name"]))


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
