"""Demo helper, acting as a collector in a browser: start the Dropbox link as the portal does,
click Allow on the (sandbox's) Dropbox page, come back with the code. Uses the portal's own
settings and code (collector.dropbox_links), so the link is made exactly as on the portal.

    python scripts/link_dropbox.py COLLECTOR_EMAIL DROPBOX_EMAIL
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests

from collector import db, dropbox_links, settings
from collector.vault import TokenVault


class _AllowForm(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.action, self.fields = "", {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action") or ""
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""


def main(collector: str, dropbox_email: str) -> None:
    app = settings.dropbox_app()
    vault = TokenVault(settings.token_keys())
    callback = f"{settings.portal_url()}/dropbox/callback"
    conn = db.connect()
    try:
        page_url = dropbox_links.start_link(
            conn, vault, collector, app, callback, datetime.now(UTC)
        )
        form = _AllowForm(requests.get(page_url, timeout=30).text)
        base = "{0.scheme}://{0.netloc}".format(urlsplit(page_url))
        answer = requests.post(
            base + form.action,
            data={**form.fields, "email": dropbox_email, "decision": "allow"},
            allow_redirects=False,
            timeout=30,
        )
        query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
        link = dropbox_links.finish_link(
            conn, vault, collector, query["code"], query["state"], app, callback, datetime.now(UTC)
        )
    finally:
        conn.close()
    print(f"{collector}: Dropbox {dropbox_email} linked ({link.status})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
