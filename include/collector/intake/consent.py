"""The consent registry (FAQ 10): who consented to be recorded, and who withdrew.

The app uploads, per subject, ``consent_<consent_id>.json`` and ``consent_<consent_id>.mp4``
into the landing area beside the submissions (docs/consent-and-releases.md has the format).
Ingest parses them here and stores them in ``consent_records``; a video's ``subject_ids``
match a consent by normalized email. Scoring holds a video while a subject has no consent on
file; releases leave out every video with a withdrawn subject. A withdrawal is recorded by ops
with a reason and is final: the table refuses updates and deletes, and ingest never touches it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

from collector.core.identity import normalize_email
from collector.intake.appjson import (
    FieldReader,
    InvalidSubmission,
    load_document,
    parse_collected_date,
)

CONSENT_PREFIX = "consent_"


def is_consent_file(file_name: str) -> bool:
    """Consent files share the landing area with submissions; their names set them apart."""
    return file_name.startswith(CONSENT_PREFIX)


def subject_key(subject_email: str) -> str:
    """A stable, non-reversible name for a subject's files (no email in a URL)."""
    return hashlib.sha256(normalize_email(subject_email).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    subject_email: str
    collector_id: str
    consented_at: datetime
    app_version: str | None
    device_identifier: str | None
    video_name: str  # the consent video's file name in the landing area


def parse_consent(raw: bytes | str, file_name: str) -> ConsentRecord:
    """Parse one consent record; raise :class:`InvalidSubmission` listing every problem."""
    record = load_document(raw, "consent", "the consent record")["consent"]
    path = "$.consent"
    reader = FieldReader()
    consent_id = reader.text(record, "consent_id", path)
    subject_raw = reader.text(record, "subject_email", path)
    subject_email = normalize_email(subject_raw) if subject_raw else None
    if subject_email is not None and not _looks_like_email(subject_email):
        reader.fail(f"{path}.subject_email", f"expected the subject's email, got {subject_raw!r}")
    collector_raw = reader.text(record, "collector_id", path)
    consented_at = None
    date_text = reader.text(record, "consented_date", path)
    if date_text is not None:
        try:
            consented_at = parse_collected_date(date_text)
        except ValueError as exc:
            reader.fail(f"{path}.consented_date", str(exc))
    adult = record.get("subject_is_18_or_older")
    if adult is not True:
        reader.fail(
            f"{path}.subject_is_18_or_older",
            f"must be true (the subject confirms being 18 or older, FAQ 10), got {adult!r}",
        )
    if consent_id is not None and file_name != f"{CONSENT_PREFIX}{consent_id}.json":
        reader.fail(
            f"{path}.consent_id",
            f"{consent_id!r} does not match the file name {file_name!r}; expected "
            f"{CONSENT_PREFIX}{consent_id}.json",
        )
    if reader.problems:
        raise InvalidSubmission(reader.problems)
    assert consent_id and subject_email and collector_raw and consented_at
    return ConsentRecord(
        consent_id=consent_id,
        subject_email=subject_email,
        collector_id=normalize_email(collector_raw),
        consented_at=consented_at,
        app_version=reader.text(record, "app_version", path, required=False),
        device_identifier=reader.text(record, "device_identifier", path, required=False),
        video_name=f"{CONSENT_PREFIX}{consent_id}.mp4",
    )


def _looks_like_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    return bool(local and at and "." in domain and " " not in text)


def upsert_consent_statement(
    cur, record: ConsentRecord, file_name: str, sha256: str, video_uri: str, now: datetime
) -> bytes:
    """The consent row; a corrected file replaces it and its stale quicklook is redone."""
    return cur.mogrify(
        """INSERT INTO consent_records (consent_id, subject_email, collector_id, consented_at,
               app_version, device_identifier, subject_confirmed_18_or_older, video_uri,
               file_name, sha256, ingested_at)
           VALUES (%s, %s, %s, %s, %s, %s, true, %s, %s, %s, %s)
           ON CONFLICT (consent_id) DO UPDATE SET
               subject_email = EXCLUDED.subject_email, collector_id = EXCLUDED.collector_id,
               consented_at = EXCLUDED.consented_at, app_version = EXCLUDED.app_version,
               device_identifier = EXCLUDED.device_identifier, video_uri = EXCLUDED.video_uri,
               file_name = EXCLUDED.file_name, sha256 = EXCLUDED.sha256,
               ingested_at = EXCLUDED.ingested_at,
               quicklook_status = NULL, quicklook_uri = NULL, quicklook_reason = NULL,
               quicklook_rendered_at = NULL
           WHERE consent_records.sha256 IS DISTINCT FROM EXCLUDED.sha256""",
        (
            record.consent_id,
            record.subject_email,
            record.collector_id,
            record.consented_at,
            record.app_version,
            record.device_identifier,
            video_uri,
            file_name,
            sha256,
            now,
        ),
    )


class WithdrawalError(ValueError):
    """A withdrawal that cannot be recorded as asked (no reason, unknown subject)."""


@dataclass(frozen=True)
class Withdrawal:
    subject_email: str
    reason: str
    withdrawn_by: str
    withdrawn_at: datetime
    newly_recorded: bool
    videos_affected: int


def withdraw_consent(
    conn: psycopg2.extensions.connection,
    subject_email: str,
    *,
    reason: str,
    withdrawn_by: str,
    now: datetime | None = None,
) -> Withdrawal:
    """Record that ``subject_email`` withdrew consent; a second call keeps the first record."""
    subject = normalize_email(subject_email)
    if not reason.strip():
        raise WithdrawalError("a withdrawal needs a reason (what the subject asked, and when)")
    if not withdrawn_by.strip():
        raise WithdrawalError("a withdrawal needs the name or email of who recorded it")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM consent_records WHERE subject_email = %s", (subject,))
        if cur.fetchone()[0] == 0:
            conn.rollback()
            raise WithdrawalError(
                f"no consent on file for {subject}; check the spelling (emails are matched "
                "trimmed and case-folded)"
            )
        cur.execute(
            """INSERT INTO consent_withdrawals (subject_email, reason, withdrawn_by, withdrawn_at)
               VALUES (%s, %s, %s, coalesce(%s, now()))
               ON CONFLICT (subject_email) DO NOTHING
               RETURNING true""",
            (subject, reason.strip(), withdrawn_by.strip(), now),
        )
        newly = cur.fetchone() is not None
        cur.execute(
            "SELECT reason, withdrawn_by, withdrawn_at FROM consent_withdrawals "
            "WHERE subject_email = %s",
            (subject,),
        )
        kept_reason, kept_by, kept_at = cur.fetchone()
        cur.execute("SELECT count(*) FROM videos WHERE %s = ANY(subject_ids)", (subject,))
        videos = cur.fetchone()[0]
    conn.commit()
    return Withdrawal(subject, kept_reason, kept_by, kept_at, newly, videos)


def consent_status(conn: psycopg2.extensions.connection, subject_email: str) -> dict:
    """What the registry holds for one subject, for ``collector consent show``."""
    subject = normalize_email(subject_email)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT consent_id, collector_id, consented_at, app_version, quicklook_status
               FROM consent_records WHERE subject_email = %s ORDER BY consented_at""",
            (subject,),
        )
        records = [
            {
                "consent_id": r[0],
                "collector_id": r[1],
                "consented_at": r[2].isoformat(),
                "app_version": r[3],
                "quicklook": r[4] or "not rendered yet",
            }
            for r in cur.fetchall()
        ]
        # Reviewers see the newest consent's quicklook only; older ones are never rendered.
        for older in records[:-1]:
            if older["quicklook"] == "not rendered yet":
                older["quicklook"] = "not shown: a newer consent is"

        cur.execute(
            "SELECT reason, withdrawn_by, withdrawn_at FROM consent_withdrawals "
            "WHERE subject_email = %s",
            (subject,),
        )
        withdrawal = cur.fetchone()
        cur.execute("SELECT count(*) FROM videos WHERE %s = ANY(subject_ids)", (subject,))
        videos = cur.fetchone()[0]
    conn.commit()
    return {
        "subject_email": subject,
        "consents": records,
        "withdrawn": (
            {"reason": withdrawal[0], "by": withdrawal[1], "at": withdrawal[2].isoformat()}
            if withdrawal
            else None
        ),
        "videos": videos,
    }
