"""The trigger forms (Params) of the pipeline DAGs, one function per DAG, named by dag_id.

What each field means and which setting an empty one falls back to is in its description; the
values are read with ``collector_airflow.param_values`` (empty = the setting).
"""

from __future__ import annotations

from airflow.sdk import Param


def collection_updates() -> dict[str, Param]:
    """The collection_updates trigger form."""
    return {
        "spreadsheet_id": Param(
            None,
            type=["null", "string"],
            title="Master sheet id",
            description="Empty means COLLECTOR_MASTER_SHEET_ID.",
        ),
        "worksheet": Param(
            "Collections",
            type=["null", "string"],
            title="Tab",
            description="Empty means Collections.",
        ),
        "catalog_url": Param(
            None,
            type=["null", "string"],
            title="Catalog JSON",
            description="File or s3:// / gs:// URL; empty means COLLECTOR_CATALOG_URL.",
        ),
    }


def dashboard_refresh() -> dict[str, Param]:
    """The dashboard_refresh trigger form."""
    return {"chunk_size": Param(200, type="integer", minimum=1, title="Collectors per task")}


def dataset_release() -> dict[str, Param]:
    """The dataset_release trigger form."""
    return {
        "name": Param(
            "people-in-public",
            type="string",
            pattern="^[a-z0-9][a-z0-9_-]{0,63}$",
            title="Release name",
        ),
        "version": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d+\.\d+(\.\d+)?$",
            title="Version",
            description="MAJOR.MINOR[.PATCH], e.g. 1.0. Needed to build; a dry run without one "
            "previews the next version of this name. A published version is never changed.",
        ),
        "collections": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Collections",
            description="Collection ids to include (empty: every collection).",
        ),
        "collected_from": Param(
            None, type=["null", "string"], format="date", title="Collected from (ET day)"
        ),
        "collected_to": Param(
            None, type=["null", "string"], format="date", title="Collected to (ET day)"
        ),
        "dry_run": Param(True, type="boolean", title="Dry run (count only, write nothing)"),
        "output_url": Param(
            None,
            type=["null", "string"],
            title="Output",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_RELEASES_URL.",
        ),
    }


def quicklook_generation() -> dict[str, Param]:
    """The quicklook_generation trigger form."""
    return {
        "video_ids": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Video ids",
            description="Only these videos (empty: every video that needs a quicklook).",
        ),
        "collected_from": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Collected from (ET day)",
        ),
        "collected_to": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Collected to (ET day)",
        ),
        "force": Param(False, type="boolean", title="Re-render even if current"),
        "batch_size": Param(
            16, type="integer", minimum=1, maximum=500, title="Activities per task"
        ),
        "tiles": Param(9, type="integer", minimum=2, maximum=25, title="Tiles per montage"),
        "output_url": Param(
            None,
            type=["null", "string"],
            title="Output",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_QUICKLOOK_URL. "
            "Consent quicklooks go to its consents/ folder.",
        ),
    }


def score_aggregation() -> dict[str, Param]:
    """The score_aggregation trigger form."""
    return {
        "rescore_all": Param(
            False,
            type="boolean",
            title="Re-score every video",
            description="For rule changes: ignore the data interval.",
        ),
        "collected_between": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}-\d{2}[^/]*/\d{4}-\d{2}-\d{2}[^/]*$",
            title="Collected between",
            description=(
                "Re-score the videos collected in START/END (ISO dates or date-times, New York "
                "time, END exclusive), e.g. 2026-11-16/2026-11-23. Empty: what changed."
            ),
        ),
        "rules_version": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Rules version",
            description="Empty means the latest rule set.",
        ),
    }


def submission_ingest() -> dict[str, Param]:
    """The submission_ingest trigger form."""
    return {
        "landing_url": Param(
            None,
            type=["null", "string"],
            title="Landing area",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_LANDING_URL.",
        ),
        "quarantine_url": Param(
            None,
            type=["null", "string"],
            title="Quarantine",
            description="Where rejected files are copied; empty means COLLECTOR_QUARANTINE_URL.",
        ),
        "mp4_wait_minutes": Param(
            None,
            type=["null", "number"],
            minimum=0,
            title="MP4 wait (minutes)",
            description="How long an annotation waits for its MP4; empty means the setting.",
        ),
    }


def weekly_payout() -> dict[str, Param]:
    """The weekly_payout trigger form."""
    return {
        "week": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Week (Monday)",
            description="The Monday the payout week starts on; empty = the last complete week.",
        ),
        "providers": Param(
            ["paypal", "payoneer"],
            type="array",
            items={"type": "string", "enum": ["paypal", "payoneer"]},
            uniqueItems=True,
            minItems=1,
            title="Providers",
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Report only, nothing frozen or paid. Scheduled Tuesday runs always pay.",
        ),
    }
