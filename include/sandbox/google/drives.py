"""Who may own what in Drive: shared drives, Google accounts and domain-wide delegation.

Kept on disk as ``state_dir/drives.json`` (it survives a restart, as the spreadsheets do) and
changed only through ``/_sandbox/...`` switches (:mod:`sandbox.google.admin`). What it decides,
as real Drive does since 2025 (gspread issue 1592; Drive API "Shared drives" guide
https://developers.google.com/drive/api/guides/about-shareddrives and error guide
https://developers.google.com/drive/api/guides/handle-errors):

- a service account has no Drive storage: ``files.create`` without a shared-drive parent is
  403 ``storageQuotaExceeded`` (domain ``usageLimits``);
- a file created with ``parents=[a shared drive or its folder]`` belongs to that shared drive;
  Drive calls on it need ``supportsAllDrives=true``, without it the parent (or the file) is
  404 ``notFound`` ("File not found: ID.");
- a token minted with a ``sub`` claim (domain-wide delegation) acts as that user, who has a My
  Drive of their own;
- ``permissions.create`` with ``sendNotificationEmail=false`` to an address with no Google
  account is 400 ``invalidSharingRequest``.

Assumptions:

- Only addresses registered with ``/_sandbox/google-accounts`` are Google accounts, plus
  every service account (``*.gserviceaccount.com``). Default: none registered, so sharing
  without notification works only for registered addresses; the demo registers its reviewers.
- A shared drive has one folder (``folder_id``); its listed ``writers`` (members with at least
  the Contributor role) may create files in it or its root. Anyone else gets 404, as a
  non-member gets for a drive they cannot see (real Drive answers 403
  ``insufficientFilePermissions`` to a member with a read-only role; not emulated).
- Files in a shared drive have no ``owner`` permission; the drive's writers are listed as
  inherited ``writer`` permissions.
- Delegation is allowed for a service account when the ``sub`` user is a registered Google
  account of a domain switched on with ``/_sandbox/delegation`` (Google: the Workspace admin
  authorises the client id; the sandbox does not check scopes). Otherwise the token endpoint
  answers 401 ``unauthorized_client``, as Google does.
- An invitation (``sendNotificationEmail`` true or absent) is recorded under
  ``GET /_sandbox/invitations`` with its message; no email is sent.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

SERVICE_ACCOUNT_DOMAIN = ".gserviceaccount.com"


def is_service_account(principal: str) -> bool:
    return principal.lower().endswith(SERVICE_ACCOUNT_DOMAIN)


@dataclass
class SharedDrive:
    drive_id: str
    name: str
    folder_id: str
    writers: list[str] = field(default_factory=list)


class Directory:
    """Shared drives, Google accounts and delegated domains, written after every change."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / "drives.json"
        self.drives: dict[str, SharedDrive] = {}
        self.accounts: set[str] = set()
        self.delegated_domains: set[str] = set()
        self.invitations: list[dict] = []
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.drives = {d["drive_id"]: SharedDrive(**d) for d in data.get("drives", [])}
            self.accounts = set(data.get("accounts", []))
            self.delegated_domains = set(data.get("delegated_domains", []))

    def save(self) -> None:
        data = {
            "drives": [asdict(d) for d in self.drives.values()],
            "accounts": sorted(self.accounts),
            "delegated_domains": sorted(self.delegated_domains),
        }
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.path)

    def ensure_drive(self, name: str, writers: list[str]) -> SharedDrive:
        """The shared drive called ``name`` (created with one folder if new); its writers
        become exactly ``writers``."""
        drive = next((d for d in self.drives.values() if d.name == name), None)
        if drive is None:
            drive = SharedDrive(
                "0A" + secrets.token_urlsafe(16), name, "1F" + secrets.token_urlsafe(24)
            )
            self.drives[drive.drive_id] = drive
        drive.writers = sorted({w.lower() for w in writers})
        self.save()
        return drive

    def drive_of(self, parent_id: str) -> SharedDrive | None:
        """The shared drive whose root or folder is ``parent_id``."""
        for drive in self.drives.values():
            if parent_id in (drive.drive_id, drive.folder_id):
                return drive
        return None

    def is_google_account(self, email: str) -> bool:
        return is_service_account(email) or email.lower() in self.accounts

    def may_act_as(self, subject: str) -> bool:
        """Domain-wide delegation: ``subject`` is a Google account of a delegated domain."""
        domain = subject.lower().rpartition("@")[2]
        return subject.lower() in self.accounts and domain in self.delegated_domains
