"""Who someone is: the matching key of an email address, and masks that recognise without revealing.

A collector is identified by the email address they sign up with (FAQ 5); the app, the master
sheet, the review sheet and the portal all match addresses through :func:`normalize_email`.
"""

from __future__ import annotations

import re
import unicodedata

# Characters nobody types on purpose in an address but that copy and paste brings along:
# no-break spaces (U+00A0, U+2007, U+202F), the soft hyphen, zero-width space, word joiner and
# invisible operators, the byte order mark, and direction marks, embeddings and isolates. They
# are removed wherever they stand. ZWNJ and ZWJ (U+200C, U+200D) are not among them: IDNA2008
# allows them in some scripts' domain labels (RFC 5892, CONTEXTJ), so removing them could turn
# one mailbox into another.
INVISIBLE = frozenset(
    "\u00a0\u00ad\u180e\u2007\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u202f"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
_INVISIBLE_RE = re.compile("[" + "".join(sorted(INVISIBLE)) + "]")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def normalize_email(value: str | None) -> str:
    """The matching key of an address (FAQ 5): ``str`` in, ``str`` out (``""`` for None).

    Folds only what mail systems treat as the same mailbox (issue 19, case 2): whitespace
    around it trimmed, :data:`INVISIBLE` characters removed wherever they stand, Unicode NFC
    (canonically equivalent spellings are one address), and the case of ASCII letters
    (``A``-``Z`` to ``a``-``z``). Nothing else: ``ß`` stays ``ß`` (``str.casefold`` would make
    ``ss``, another mailbox), ``İ``, ``É`` and ``Σ`` keep their case, and ``ς`` is not ``σ``.
    So the key of an address differs from it only by ASCII case, NFC and removed invisible
    characters, and mail may be sent to the key. Never raises; it does not check that the value
    is an address.
    """
    text = _INVISIBLE_RE.sub("", value or "").strip()
    # NFC first (the Kelvin sign becomes ASCII "K"), then ASCII lower case, then NFC again (a
    # lowered letter may compose with the mark after it: "J" + caron has no precomposed form,
    # "j" + caron has).
    text = unicodedata.normalize("NFC", text).translate(_ASCII_UPPER)
    return unicodedata.normalize("NFC", text)


HIDDEN = "\u2026"  # the ellipsis standing for what a mask hides


def _start(part: str) -> str:
    """The first characters of a part of a receiver that a mask shows: two when at least two
    stay hidden, one when the part has two or three, none for a single character; so at least
    one character of every masked part is hidden."""
    shown = 2 if len(part) >= 4 else 1 if len(part) >= 2 else 0
    return part[:shown] + HIDDEN


def mask_receiver(method: str | None, receiver: str | None) -> str | None:
    """Enough to tell two receivers apart, never enough to use one (issue 21): the one mask of
    a receiver everywhere it is shown (Profile, its audit and email, finance's pages, ops).

    A PayPal email shows the first two characters of the local part and of the domain, and the
    top-level domain: ``maria@gmail.com`` -> ``ma…@gm…com``, ``pat@yahoo.de`` -> ``p…@ya…de``
    (a part of two or three characters shows one, a single character none). A Payoneer payee id
    (or anything else) shows its last four characters when it has eight or more, else at most
    half of them: ``DEE-12345`` -> ``****2345``, ``DEE-1`` -> ``****-1``.

    Invariants (tests/core/test_receiver_masks.py, Hypothesis): the mask never contains the
    whole receiver, nor the whole local part of an email; and two receivers that differ in a
    shown part (the shown start of the local part or of the domain, the top-level domain, the
    shown end of an id) get different masks.
    """
    if not receiver:
        return None
    if method == "paypal" and "@" in receiver:
        local, domain = receiver.rsplit("@", 1)
        host, dot, tld = domain.rpartition(".")
        if not dot or not host:
            return f"{_start(local)}@{_start(domain)}"
        return f"{_start(local)}@{_start(host)}{tld}"
    shown = 4 if len(receiver) >= 8 else len(receiver) // 2
    return "****" + (receiver[-shown:] if shown else "")
