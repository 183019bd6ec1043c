"""App version strings as app stores and build systems write them, reduced to their release part.

The app reports ``app_version`` and ops set a collection's ``min_app_version`` (the Outdated App
check, FAQ 10; docs/scoring.md). Both are compared by their numeric release part only,
``major.minor.patch`` with missing parts as 0. Accepted forms (docs/app-json.md):

- dotted numbers: ``2``, ``2.1``, ``2.1.0``; a fourth or later component is a build number
  (``2.1.0.57``) and is ignored;
- a leading ``v`` or ``V``: ``v2.1.0``;
- a pre-release suffix: ``2.1.0-beta.1``, ``2.1.0-rc1``, ``2.1.0b1``, ``2.1.0 beta``;
- a build number after ``+`` (SemVer build metadata) or in parentheses (how iOS and Android
  show ``CFBundleShortVersionString (CFBundleVersion)`` / ``versionName (versionCode)``):
  ``2.1.0+57``, ``2.1.0 (57)``, ``2.1.0-beta+exp.5``;
- spaces or tabs around the whole.

Each number has at most 9 digits (it must fit a PostgreSQL ``integer``). Anything else cannot be
read: :func:`release_key` returns None and the caller reports it.

The same grammar is the SQL function ``semver_key`` (``sql/016_phone_values.sql``), which the
set-based scoring uses; a test keeps the two equal.
"""

from __future__ import annotations

import re

# Written with only what Python's `re` and PostgreSQL's regular expressions read alike
# (explicit classes, no \d or \s, no look-around); keep it equal to sql/016_phone_values.sql.
VERSION_PATTERN = (
    r"[ \t]*[vV]?"
    r"([0-9]{1,9})(?:\.([0-9]{1,9}))?(?:\.([0-9]{1,9}))?(?:\.[0-9]{1,9})*"
    r"(?:-[0-9A-Za-z._-]+|[~_ ]?[A-Za-z][0-9A-Za-z._-]*)?"
    r"(?:\+[0-9A-Za-z._-]+|[ \t]*\([ \t]*[0-9A-Za-z._ -]+\))?"
    r"[ \t]*"
)
_VERSION = re.compile(VERSION_PATTERN)
VERSION_FORMS = "2.3.1, 2.3, v2.3.1, 2.3.1 (57), 2.3.1+57, 2.3.1.57 or 2.3.1-beta"


def release_key(version: str | None) -> tuple[int, int, int] | None:
    """``"2.1.0 (57)"`` -> ``(2, 1, 0)``; ``"2.10"`` -> ``(2, 10, 0)``.

    None when ``version`` is None or cannot be read (module docstring). Never raises.
    """
    if version is None:
        return None
    match = _VERSION.fullmatch(version)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor or 0), int(patch or 0)
