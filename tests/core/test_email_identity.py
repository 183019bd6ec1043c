"""The email matching key (FAQ 5, issue 19 case 2): folds only what mail systems treat as one
mailbox, so the key of a deliverable address is never a different mailbox.

Invariants of ``normalize_email`` (where addresses from the app, the sheets and the portal meet
the warehouse), checked with Hypothesis over arbitrary text, addresses of any script included:

- normalizing twice changes nothing;
- the key ignores surrounding whitespace, the invisible characters of ``identity.INVISIBLE``
  wherever they stand, canonically equivalent spellings (NFC/NFD) and the case of ASCII
  letters;
- nothing else is folded: a value already in NFC, without those invisible characters, without
  surrounding whitespace and without ASCII capitals is its own key (``ß``, ``İ``, ``Σ``,
  ``ς``, ``É`` are kept);
- two values with one key differ only by those: their decomposed spellings with ASCII letters
  lowered and invisible characters removed are equal (so ``weiß`` and ``weiss`` never meet).
"""

from __future__ import annotations

import unicodedata

from hypothesis import assume, example, given
from hypothesis import strategies as st

from collector.core.identity import INVISIBLE, normalize_email

_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_FOLDED_BY_CASEFOLD = "ßẞİΣςÉŁﬁǰΩKÅ"  # casefold/lower would change each of these

addresses = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(
        alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(_FOLDED_BY_CASEFOLD)),
        min_size=1,
        max_size=20,
    ),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
)
invisible = st.text(alphabet=sorted(INVISIBLE), max_size=3)


def _skeleton(value: str) -> str:
    """The value as a mailbox: invisible characters gone, trimmed, decomposed, ASCII lowered."""
    text = "".join(c for c in value if c not in INVISIBLE).strip()
    return unicodedata.normalize("NFD", text).translate(_ASCII_UPPER)


def _swap_ascii_case(value: str) -> str:
    return "".join(c.swapcase() if c.isascii() else c for c in value)


@given(st.one_of(st.text(), addresses))
@example("\u212a@x")  # the Kelvin sign is canonically "K"
@example("J\u030c@x")  # "j" + caron composes, "J" + caron does not
def test_normalizing_twice_changes_nothing(value):
    assert normalize_email(normalize_email(value)) == normalize_email(value)


@given(addresses, invisible, invisible, st.sampled_from(["", " ", "\t", "\n ", "\u3000"]))
def test_whitespace_invisibles_nfc_and_ascii_case_do_not_matter(address, before, inside, space):
    key = normalize_email(address)
    middle = len(address) // 2
    pasted = space + before + address[:middle] + inside + address[middle:] + before + space
    assert normalize_email(pasted) == key
    assert normalize_email(unicodedata.normalize("NFD", address)) == key
    assert normalize_email(unicodedata.normalize("NFC", address)) == key
    assert normalize_email(_swap_ascii_case(address)) == key


@given(addresses)
@example("Maria.Weiß@example.de")
@example("İstanbul@example.com.tr")
@example("ΟΔΟΣ@example.gr")
@example("josé.núñez@example.com")
def test_an_address_in_canonical_form_is_its_own_key(address):
    address = address.translate(_ASCII_UPPER)
    assume(unicodedata.is_normalized("NFC", address) and address == address.strip())
    assume(not INVISIBLE.intersection(address))
    assert normalize_email(address) == address


@given(addresses, addresses)
@example("Maria.Weiß@example.de", "maria.weiss@example.de")
@example("σοφία@example.gr", "σοφίς@example.gr")
@example("JOSÉ@example.com", "josé@example.com")
def test_one_key_means_one_mailbox(a, b):
    if normalize_email(a) == normalize_email(b):
        assert _skeleton(a) == _skeleton(b)


def test_the_cases_of_issue_19():
    assert normalize_email("Maria.Weiß@example.de") == "maria.weiß@example.de"
    assert normalize_email("maria.weiss@example.de") == "maria.weiss@example.de"
    assert normalize_email("İpek@example.com") == "İpek@example.com"
    assert normalize_email("ΟΔΟΣ@x.gr") != normalize_email("οδος@x.gr")  # not ASCII: kept
    assert normalize_email("οδος@x.gr") != normalize_email("οδοσ@x.gr")  # final sigma kept
    assert normalize_email("ann@example.com\u200b") == "ann@example.com"  # case 8
    assert normalize_email("\ufeff Ann@Example.COM\u00a0") == "ann@example.com"
    assert normalize_email("jose\u0301@example.com") == "jos\u00e9@example.com"
    assert normalize_email(None) == "" and normalize_email("  ") == ""
