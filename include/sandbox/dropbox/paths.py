"""Dropbox paths: ``/a/b.txt``, case-insensitive (``path_lower``), inside the app folder.

Follows "Path formats" in https://www.dropbox.com/developers/documentation/http/documentation.

Assumption: autorename appends `` (1)``, `` (2)``… before the extension; an update conflict
becomes ``name (conflicted copy).ext``.
"""

from __future__ import annotations


def split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent, name


def valid_path(path: str) -> bool:
    """``/a/b.txt``: absolute, no empty, ``.`` or ``..`` component, no trailing slash."""
    if not path.startswith("/") or path.endswith("/") or "\x00" in path or "\\" in path:
        return False
    return all(part not in ("", ".", "..") and part.strip() for part in path[1:].split("/"))


def ancestors(path_lower: str) -> list[str]:
    parts = path_lower.split("/")[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def renamed(path: str, suffix: str) -> str:
    parent, name = split(path)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{parent}/{name}{suffix}"
    return f"{parent}/{stem}{suffix}.{ext}"
