"""Docs live in the repository: nothing points at documents outside it, and every ``docs/``
page that code or docs name exists.

The rules the code relies on are written in ``docs/`` (the collectors' FAQ, cited as "FAQ n",
stays outside). A comment that sends a reader to a file they do not have is a broken link, so
this test fails on any mention of the old design document, the old ``shared`` folder beside the
checkout, or one of the old notes files, outside the exceptions listed below.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", ".local", "__pycache__", ".pytest_cache", ".ruff_cache"}

# Written so that this file does not match itself.
OUTSIDE_DOCUMENTS = re.compile(
    r"design\.md"  # the old design document
    r"|\.\./shared|/work/share[d]"  # the folder it lived in, beside the checkout
    r"|(?:airflow|provider|dropbox)-notes\.md|browser-testing\.md"  # the old notes files
)

# Applied migrations are checksummed by the migrations runner: editing even a comment breaks
# every existing warehouse, so their old wording stays (docs/decisions.md lists it).
MIGRATIONS = re.compile(r"^sql/0[^/]*\.sql$")

# Files owned elsewhere for now (another change is editing them, or the CI set-up owns them);
# their references are replaced when that lands. Each entry must still need its exception (test_exceptions_are_still_needed), so the
# list shrinks as they are fixed instead of hiding new references.
OWNED_ELSEWHERE: set[str] = set()  # none left; a file listed here must still need it

# A path under docs/ (or dags/docs/, ...) ending in .md, as code comments and prose write it.
DOCS_PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*docs/[\w./-]*?[\w-]\.md)\b")
# A relative Markdown link to a .md file: [text](target.md) or (target.md#anchor).
MD_LINK = re.compile(r"\]\(([^)\s:#]+\.md)(?:#[^)\s]*)?\)")


def _repository_files() -> list[str]:
    """Tracked and new (not ignored) files, relative to the root; a plain walk without git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [
            path.relative_to(ROOT).as_posix()
            for path in ROOT.rglob("*")
            if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(ROOT).parts)
        ]
    return sorted(name for name in set(names) if (ROOT / name).is_file())


def _text(name: str) -> str | None:
    data = (ROOT / name).read_bytes()
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    found = {}
    for name in _repository_files():
        text = _text(name)
        if text is not None:
            found[name] = text
    assert "README.md" in found, f"no repository files found under {ROOT}"
    return found


def _outside_mentions(name: str, text: str) -> list[str]:
    return [
        f"{name}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE_DOCUMENTS.search(line)
    ]


def test_nothing_points_outside_the_repository(texts):
    found = []
    for name, text in texts.items():
        if MIGRATIONS.match(name) or name in OWNED_ELSEWHERE:
            continue
        found += _outside_mentions(name, text)
    assert not found, (
        "these lines point at documents outside the repository; point them at the page of "
        "docs/ that says the same (or write it there):\n" + "\n".join(found)
    )


def test_exceptions_are_still_needed(texts):
    stale = [
        name for name in sorted(OWNED_ELSEWHERE) if not _outside_mentions(name, texts.get(name, ""))
    ]
    assert not stale, (
        f"{stale} no longer mention outside documents: remove them from OWNED_ELSEWHERE"
    )


def test_every_docs_page_named_exists(texts):
    missing = []
    for name, text in texts.items():
        here = (ROOT / name).parent
        named = set(DOCS_PATH.findall(text))
        if name.endswith(".md"):
            named |= set(MD_LINK.findall(text))
        for target in sorted(named):
            if not ((ROOT / target).is_file() or (here / target).is_file()):
                missing.append(f"{name}: {target}")
    assert not missing, "these docs pages are named but do not exist:\n" + "\n".join(missing)


def test_the_patterns_catch_what_they_should():
    assert OUTSIDE_DOCUMENTS.search("see design" + ".md §5")
    assert OUTSIDE_DOCUMENTS.search("(`../" + "shared/faq.md`)")
    assert OUTSIDE_DOCUMENTS.search("(provider" + "-notes.md)")
    assert not OUTSIDE_DOCUMENTS.search("see docs/scoring.md and FAQ 10")
    assert DOCS_PATH.findall("(docs/scoring.md, FAQ 10-12)") == ["docs/scoring.md"]
    assert DOCS_PATH.findall("in `dags/docs/<dag_id>.md`") == []
    assert DOCS_PATH.findall("dags/docs/ops_digest.md.") == ["dags/docs/ops_digest.md"]
    assert MD_LINK.findall("[x](app-json.md#edits) [y](https://e.org/a.md)") == ["app-json.md"]
