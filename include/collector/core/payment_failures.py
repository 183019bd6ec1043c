"""Why a payment did not arrive, as the collector reads it (issue 21): what they can do, or
that there is nothing for them to do. Shared by the dashboards, the portal and the emails.

A failed or returned payout item keeps the provider's reason for finance and ops
(``payout_items.failure_reason``: error names, batch keys, our balance). Collectors never see
it. :func:`collector_words` sorts it into one of two sides:

* **receiver**: the collector can fix it: the address has no account, is not confirmed, the
  account is locked or limited, cannot receive from this country, the payee id is unknown or
  inactive, or the money came back unclaimed; they are told what to do under Profile or with
  their provider.
* **ours**: everything else (our funds, a batch the provider denied, a refused or unknown
  request, any reason we do not recognise): nothing for them to do, we send it with the next
  payout. An unknown reason is ours, so a collector is never sent to change details that
  were fine.

Sources: PayPal's Payouts error names (``RECEIVER_UNREGISTERED``, ``RECEIVER_UNCONFIRMED``,
``RECEIVER_ACCOUNT_LOCKED``, ``RECEIVER_COUNTRY_NOT_ALLOWED``, ``RECEIVER_YOUTH_ACCOUNT``,
``RECEIVER_STATE_RESTRICTED``, ``RECEIVER_ACCOUNT_LIMITATION``, ``RECEIVER_REFUSED``; sender
errors such as ``INSUFFICIENT_FUNDS``), and the Payoneer reason codes our clients see
(``PayeeNotRegistered``, "Payee is not registered or not active").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RECEIVER, OURS = "receiver", "ours"
# How a freeze's hold reason starts when stored details fail the receiver rules (the ledger
# writes it, the dashboards show it to the collector until they change their details).
UNPAYABLE_DETAILS = "payment details on file cannot be paid"
PROVIDER_NAMES = {"paypal": "PayPal", "payoneer": "Payoneer"}

# (pattern in the provider's reason, what the collector can do), first match wins.
_RECEIVER_SIDE: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\bRECEIVER_UNREGISTERED\b"),
        "no {name} account uses the address under Profile: check it there, or open a {name} "
        "account with that address",
    ),
    (
        re.compile(r"\bRECEIVER_UNCONFIRMED\b"),
        "the {name} account's email address is not confirmed yet: confirm it in {name}",
    ),
    (
        re.compile(r"\bRECEIVER_(ACCOUNT_LOCKED|ACCOUNT_LIMITATION|REFUSED)\b"),
        "your {name} account cannot receive money right now: check it with {name}, or enter "
        "other details under Profile",
    ),
    (
        re.compile(r"\bRECEIVER_(COUNTRY_NOT_ALLOWED|STATE_RESTRICTED|YOUTH_ACCOUNT)\b"),
        "your {name} account cannot receive this payment (its country or account type): "
        "enter other details under Profile",
    ),
    (
        re.compile(r"\bPayeeNot(Registered|Active)\b|^Payee is not registered or not active"),
        "the payee id under Profile is not registered or not active at {name}: check it in "
        "your {name} account and under Profile",
    ),
]
RETURNED = (
    "the payment was not accepted in your {name} account within 30 days and came back to "
    "us: check the details under Profile"
)
OUR_SIDE = "a problem on our side, not with your details, so there is nothing you need to do"


@dataclass(frozen=True)
class FailureWords:
    """What a collector reads about a failed or returned payment."""

    side: str  # RECEIVER or OURS
    why: str  # one clause: what happened, and what to do when it is theirs

    @property
    def theirs(self) -> bool:
        return self.side == RECEIVER


def collector_words(provider: str, status: str, reason: str | None) -> FailureWords:
    """The collector's side of a ``failed`` or ``returned`` item's ``failure_reason``; never
    quotes the reason itself (it may hold batch keys, error payloads, our balance)."""
    name = PROVIDER_NAMES.get(provider, provider)
    if status == "returned":
        return FailureWords(RECEIVER, RETURNED.format(name=name))
    for pattern, words in _RECEIVER_SIDE:
        if reason and pattern.search(reason):
            return FailureWords(RECEIVER, words.format(name=name))
    return FailureWords(OURS, OUR_SIDE)
