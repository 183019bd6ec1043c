"""Issue 21: the PayPal and Payoneer emulators are never kinder than PayPal's contract, and
never stricter than our own receiver rules: every receiver ``collector.payouts.profiles``
accepts at entry is one the emulator takes, so a payout the Profile page allowed is not
refused for its receiver at submit. Checked on the emulators' validators directly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.payouts.profiles import normalize_payment_profile, receiver_problem
from sandbox.payments.payoneer import PAYEE_ID
from sandbox.payments.paypal_validation import _receiver_problems

_LOCAL = st.text(alphabet=st.sampled_from("abcxyzABC019._+-'ßéøçñ"), min_size=1, max_size=70)
_HOST = st.text(alphabet=st.sampled_from("abcdexyz019-üé"), min_size=1, max_size=30)
_TLD = st.sampled_from(["com", "de", "org", "co.uk", "xn--p1ai"])


@settings(max_examples=400, deadline=None)
@given(_LOCAL, _HOST, _TLD)
def test_every_paypal_email_the_profile_accepts_the_emulator_accepts(local, host, tld):
    typed = f"{local}@{host}.{tld}"
    if receiver_problem("paypal", typed) is not None:
        return
    _, receiver = normalize_payment_profile("paypal", typed)
    assert _receiver_problems("items[0].receiver", receiver, "EMAIL") == [], receiver
    assert len(receiver.encode()) <= 127


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_every_payee_id_the_profile_accepts_the_emulator_accepts(payee):
    if receiver_problem("payoneer", payee) is None:
        assert PAYEE_ID.match(payee), payee


def test_what_the_emulator_refuses_the_profile_refuses_too():
    for receiver in ("ann@x.com\u200b", "ａnn@x.com", "ß" * 60 + "@example.de", "a b@x.com"):
        assert _receiver_problems("r", receiver, "EMAIL"), receiver
        assert receiver_problem("paypal", receiver), receiver
