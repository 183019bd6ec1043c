"""Demo helper, acting as a collector in a browser: start the Dropbox link as the portal does,
click Allow on the (sandbox's) Dropbox page, come back with the code. Uses the portal's own
settings and code (collector.delivery.links), so the link is made exactly as on the portal.

    python scripts/link_dropbox.py COLLECTOR_EMAIL DROPBOX_EMAIL
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from collector.core import db, settings
from collector.delivery import links
from collector.delivery.vault import TokenVault
from sandbox import dropbox_user


def main(collector: str, dropbox_email: str) -> None:
    app = settings.dropbox_app()
    vault = TokenVault(settings.token_keys())
    callback = f"{settings.portal_url()}/dropbox/callback"
    conn = db.connect()
    try:
        page_url = links.start_link(conn, vault, collector, app, callback, datetime.now(UTC))
        query = dropbox_user.allow(page_url, dropbox_email)
        link = links.finish_link(
            conn, vault, collector, query["code"], query["state"], app, callback, datetime.now(UTC)
        )
    finally:
        conn.close()
    print(f"{collector}: Dropbox {dropbox_email} linked ({link.status})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
