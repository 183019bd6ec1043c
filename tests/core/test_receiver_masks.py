"""Issue 21: one mask for receivers everywhere (Profile, its audit and email, finance's pages,
ops), which tells two addresses apart and never gives one away.

Invariants, for any receiver: the mask never contains the whole receiver (nor an email's whole
local part); and two receivers whose shown parts differ (first characters of the local part
and of the domain, the top-level domain; the last characters of a payee id) mask differently.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from collector.core.identity import HIDDEN, mask_receiver

_PART = st.text(alphabet=st.sampled_from("abcdefxyz0123._-ßé"), min_size=1, max_size=20)
_TLD = st.text(alphabet=st.sampled_from("abcdefxyz"), min_size=2, max_size=6)


def _email(local: str, host: str, tld: str) -> str:
    return f"{local}@{host}.{tld}"


def _shown_parts(local: str, host: str, tld: str) -> tuple[str, str, str]:
    def start(part: str) -> str:
        return part[: 2 if len(part) >= 4 else 1 if len(part) >= 2 else 0]

    return start(local), start(host), tld


def test_examples_tell_old_and_new_apart():
    assert mask_receiver("paypal", "maria@gmail.com") == f"ma{HIDDEN}@gm{HIDDEN}com"
    assert mask_receiver("paypal", "paul@gmail.com") != mask_receiver("paypal", "pete@gmail.com")
    assert mask_receiver("paypal", "pat@yahoo.de") == f"p{HIDDEN}@ya{HIDDEN}de"
    assert mask_receiver("paypal", "p@x.org") == f"{HIDDEN}@{HIDDEN}org"
    assert mask_receiver("payoneer", "DEE-12345") == "****2345"
    assert mask_receiver("payoneer", "DEE-1") == "****-1"
    assert mask_receiver("payoneer", "A") == "****"
    assert mask_receiver(None, None) is None


@given(_PART, _PART, _TLD)
def test_an_email_mask_never_reveals_the_address_or_its_local_part(local, host, tld):
    mask = mask_receiver("paypal", _email(local, host, tld))
    assert _email(local, host, tld) not in mask
    local_shown, host_shown, _ = _shown_parts(local, host, tld)
    assert mask == f"{local_shown}{HIDDEN}@{host_shown}{HIDDEN}{tld}"
    assert len(local_shown) < len(local) and len(host_shown) < len(host)


@given(_PART, _PART, _TLD, _PART, _PART, _TLD)
def test_emails_whose_shown_parts_differ_mask_differently(l1, h1, t1, l2, h2, t2):
    assume(_shown_parts(l1, h1, t1) != _shown_parts(l2, h2, t2))
    assert mask_receiver("paypal", _email(l1, h1, t1)) != mask_receiver(
        "paypal", _email(l2, h2, t2)
    )


@given(st.text(alphabet=st.sampled_from("ABCXYZ0123456789-._"), min_size=1, max_size=30))
def test_a_payee_id_mask_never_reveals_the_id(payee):
    mask = mask_receiver("payoneer", payee)
    assert payee not in mask.removeprefix("****") or len(payee) == 0
    assert len(mask) - 4 <= min(4, len(payee) // 2)


@given(
    st.text(alphabet=st.sampled_from("ABCXYZ0123456789-._"), min_size=1, max_size=30),
    st.text(alphabet=st.sampled_from("ABCXYZ0123456789-._"), min_size=1, max_size=30),
)
def test_payee_ids_whose_shown_ends_differ_mask_differently(a, b):
    def end(payee: str) -> str:
        shown = 4 if len(payee) >= 8 else len(payee) // 2
        return payee[-shown:] if shown else ""

    assume(end(a) != end(b))
    assert mask_receiver("payoneer", a) != mask_receiver("payoneer", b)
