"""Task-side glue for Dropbox delivery: who is linked, and one user's delivery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from collector_airflow.hooks.dropbox_api import DropboxHook
from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.storage import local_file

log = logging.getLogger(__name__)


def linked_users(conn_id: str = "collector_warehouse") -> list[str]:
    from collector.delivery.links import linked_collectors  # noqa: PLC0415

    with CollectorWarehouseHook(conn_id).connection() as conn:
        users = linked_collectors(conn)
    log.info("%d collectors have a working Dropbox link", len(users))
    return users


def deliver_user(
    collector_id: str,
    conn_id: str = "collector_warehouse",
    dropbox_conn_id: str = "dropbox_default",
) -> dict[str, Any]:
    """Deliver one user's new files; a broken link is recorded, not raised (others go on)."""
    from collector.delivery import links, uploads  # noqa: PLC0415

    hook = DropboxHook(dropbox_conn_id)
    vault = hook.token_vault()
    with CollectorWarehouseHook(conn_id).connection() as conn:
        link = links.link_of(conn, collector_id)
        token = links.refresh_token(conn, vault, collector_id)
        if link is None or token is None:
            log.info("%s unlinked or broken since the run started: skipped", collector_id)
            return {"collector": collector_id, "skipped": True}
        result = uploads.deliver(
            conn,
            hook.client_for(token),
            collector_id,
            link.dropbox_account_id,
            datetime.now(UTC),
            local_file=local_file,
        )
    return result.summary()
