"""App version strings as stores and build systems write them (collector.core.versions and the
SQL function semver_key that the set-based scoring uses; docs/scoring.md, issue 19).

Invariants (Hypothesis): a version with a build number (in parentheses, after ``+``, as a fourth
component), a leading ``v`` or a pre-release suffix has the key of its numeric release part;
reading never raises, whatever the text; and PostgreSQL's ``semver_key`` reads every text
exactly as Python's ``release_key`` does, so the sheet's validation and the scoring agree.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.core.versions import release_key

numbers = st.integers(min_value=0, max_value=999_999_999)
releases = st.lists(numbers, min_size=1, max_size=3).map(lambda parts: ".".join(map(str, parts)))
word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1)
build = st.text(alphabet="0123456789abcdefABCDEF.-", min_size=1, max_size=12).filter(
    lambda b: b[0] not in ".-"
)
decorations = st.fixed_dictionaries(
    {
        "v": st.sampled_from(["", "v", "V"]),
        "fourth": st.one_of(st.just(""), numbers.map(lambda n: f".{n}")),
        "pre": st.one_of(
            st.just(""),
            st.tuples(
                st.sampled_from(["-", "", " ", "~"]), word, st.sampled_from(["", ".1", "2"])
            ).map("".join),
        ),
        "build": st.one_of(
            st.just(""),
            build.map(lambda b: f"+{b}"),
            st.integers(0, 10**6).map(lambda n: f" ({n})"),
            st.integers(0, 10**6).map(lambda n: f"({n})"),
        ),
        "space": st.sampled_from(["", " ", "\t"]),
    }
)


def _key(release: str) -> tuple[int, int, int]:
    parts = [int(p) for p in release.split(".")] + [0, 0]
    return parts[0], parts[1], parts[2]


@given(releases, decorations)
def test_a_decorated_version_has_the_key_of_its_release_part(release, d):
    """Invariant: ``v2.1.0.57-beta.1+exp (57)`` and every part of it alone compare as 2.1.0
    (a fourth component follows a full major.minor.patch: ``2.1`` + ``.57`` is 2.1.57)."""
    if d["fourth"]:
        release += ".0" * (2 - release.count("."))
    text = f"{d['space']}{d['v']}{release}{d['fourth']}{d['pre']}{d['build']}{d['space']}"
    assert release_key(text) == release_key(release) == _key(release)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2.1.0 (57)", (2, 1, 0)),
        ("2.1.0+57", (2, 1, 0)),
        ("2.1.0.57", (2, 1, 0)),
        ("v2.1.0", (2, 1, 0)),
        ("2.1.0-beta.1", (2, 1, 0)),
        ("2.1.0b1", (2, 1, 0)),
        ("2.10", (2, 10, 0)),
        ("3", (3, 0, 0)),
    ],
)
def test_the_forms_of_the_issue(text, key):
    assert release_key(text) == key


@pytest.mark.parametrize(
    "text", ["", "beta", "latest", "2.x", "2..1", "v", "1234567890", "2.1.0.beta", "2.1 0"]
)
def test_unreadable_versions_have_no_key(text):
    assert release_key(text) is None


@given(st.text(max_size=30))
def test_reading_never_raises(text):
    """Invariant: any text gives a key of three numbers that fit a PostgreSQL integer, or None."""
    key = release_key(text)
    assert key is None or (len(key) == 3 and all(0 <= n < 2**31 for n in key))


version_like = st.one_of(
    st.text(alphabet="0123456789.vV-+() ab\t~_", max_size=20),
    st.builds(
        lambda r, d: f"{d['v']}{r}{d['fourth']}{d['pre']}{d['build']}", releases, decorations
    ),
    st.text(max_size=12),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=version_like)
def test_postgresql_reads_versions_as_python_does(warehouse, text):
    """Invariant: ``semver_key`` (SQL, used by the scoring) == ``release_key`` (Python, used by
    the master sheet) for every text, readable or not; neither raises (no integer overflow)."""
    text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    with warehouse.cursor() as cur:
        cur.execute("SELECT semver_key(%s)", (text,))
        sql_key = cur.fetchone()[0]
    warehouse.commit()
    python_key = release_key(text)
    assert sql_key == (list(python_key) if python_key else None), text
