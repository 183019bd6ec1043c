"""PayPal Payouts v1 and Payoneer mass payouts, the subset our hooks use, on the sandbox's port.

Contract points kept (docs/service-facts.md): OAuth client-credentials tokens; PayPal batch
create (1–15,000 items, ``sender_batch_id`` as the dedupe guard, 400 ``USER_BUSINESS_ERROR`` with a
link to the original batch), paged batch reads, item reads and cancel of UNCLAIMED items; Payoneer
``masspayouts`` (≤1,000 payments) and per-reference status. Statuses move with time, computed on
read from timestamps, so there is no background thread. Outcomes are chosen by the receiver or
payee id (case-insensitive): ``unclaimed`` (PayPal: UNCLAIMED, RETURNED later), ``unregistered``
(FAILED / Cancelled), ``blocked`` (PayPal: BLOCKED), anything else succeeds. ``/_sandbox/payments``
holds the admin switches (faults, timings, stats, reset); ``/payouts/`` is a read-only HTML view.

Public contracts followed:

- PayPal OAuth: https://developer.paypal.com/api/rest/authentication/
- PayPal Payouts v1: https://developer.paypal.com/docs/api/payments.payouts-batch/v1/
- Payoneer mass payouts: no complete public reference; the calls open-source clients make, as
  summarised in docs/service-facts.md.

Assumptions where no public source settles the answer:

- PayPal runs on a sandbox clock (``/_sandbox/payments/clock/advance``, forward only); tokens
  and Payoneer keep real time. A ``sender_batch_id`` is forgotten 30 sandbox days after its
  batch was created (then the same request pays again); the old batch stays readable.
- A PayPal batch is PENDING, then PROCESSING, then SUCCESS even with ONHOLD or UNCLAIMED items;
  the sandbox never produces a CANCELED batch or item. ONHOLD, claims, refunds and reversals
  move by the ``paypal/items/{id}/status`` switch.
- An EMAIL receiver must be ASCII with one ``@`` and a dotted domain, a PAYPAL_ID 13 uppercase
  letters or digits; PHONE receivers are not checked at create. Fees are 0.00; no rate limits.

- Cancelling a PayPal item that is not UNCLAIMED: 400 ``ITEM_ALREADY_CANCELLED`` if it is
  already RETURNED, else 400 ``ITEM_INCORRECT_STATUS``.
- ``transaction_id`` is shown for SUCCESS, UNCLAIMED and RETURNED items (PayPal's own cancel
  example shows one on a RETURNED item); ``errors`` only on FAILED items.
- A batch's processing time and unclaimed-return time are fixed when it is created, so changing
  the settings never moves an existing batch backwards.
- Payoneer: a request containing any ``client_reference_id`` that already exists (or repeats one
  within the request) is rejected as a whole and nothing is created: 400 ``Duplicate client
  reference id`` with ``error_details.client_reference_ids``. Only ``sub_code`` 2306 (payout not
  found) is from a public source; 2300 (invalid request), 2307 (duplicate), 2309 (insufficient
  funds) and 2305 (program not found) are the sandbox's own.
- The ``insufficient_funds``, ``server_error_after_accept`` and ``timeout`` faults are consumed
  only by a create request that would otherwise be accepted.

Modules, by API resource (each repeats the assumptions that concern it):

- :mod:`~sandbox.payments.paypal`: PayPal token, ``payouts`` and ``payouts-item``;
  :mod:`~sandbox.payments.paypal_validation`: what a create request may not contain.
- :mod:`~sandbox.payments.payoneer`: Payoneer token, ``masspayouts`` and payout status.
- :mod:`~sandbox.payments.faults`: injected failures; :mod:`~sandbox.payments.admin`: the
  other ``/_sandbox/payments`` switches; :mod:`~sandbox.payments.views`: ``/payouts/``.
- :mod:`~sandbox.payments.state` (storage, statuses), :mod:`~sandbox.payments.errors` (both
  APIs' error bodies), :mod:`~sandbox.payments.request_parsing`, :mod:`~sandbox.payments.app`
  (:func:`register_payments`).
"""

from sandbox.payments.app import register_payments
from sandbox.payments.faults import FAULT_KINDS
from sandbox.payments.payoneer import PAYONEER_MAX_PAYMENTS, PAYONEER_TOKEN_SECONDS
from sandbox.payments.paypal import PAYPAL_MAX_PAGE_SIZE, PAYPAL_TOKEN_SECONDS
from sandbox.payments.paypal_validation import PAYPAL_MAX_ITEMS
from sandbox.payments.state import PaymentsState, Settings, load_clients

__all__ = [
    "FAULT_KINDS",
    "PAYONEER_MAX_PAYMENTS",
    "PAYONEER_TOKEN_SECONDS",
    "PAYPAL_MAX_ITEMS",
    "PAYPAL_MAX_PAGE_SIZE",
    "PAYPAL_TOKEN_SECONDS",
    "PaymentsState",
    "Settings",
    "load_clients",
    "register_payments",
]
