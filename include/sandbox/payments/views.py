"""``/payouts/``: a read-only HTML view of every PayPal batch and Payoneer payment (for people)."""

from __future__ import annotations

import html
import time
from functools import partial

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from sandbox.common import page
from sandbox.payments.state import PaymentsDep, PaymentsState

_page = partial(page, footer="PayPal / Payoneer sandbox, read-only view")

router = APIRouter()


@router.get("/payouts", response_class=HTMLResponse)
@router.get("/payouts/", response_class=HTMLResponse)
async def html_payouts(state: PaymentsDep):
    return _page("Sandbox payouts", payouts_html(state, time.time()))


def payouts_html(state: PaymentsState, now: float, shown: int = 200) -> str:
    """``now`` is real time; PayPal's part is shown on the sandbox clock (``clock/advance``)."""
    paypal_now = now + state.settings.clock_offset_seconds
    return _paypal_html(state, paypal_now, shown) + _payoneer_html(state, now)


def _cells(values) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>"


def _paypal_html(state: PaymentsState, now: float, shown: int) -> str:
    parts = ["<h2>PayPal batches</h2>"]
    batches = sorted(state.batches.values(), key=lambda b: b["created"], reverse=True)
    for batch in batches:
        header = state.batch_header(batch, now)
        rows = []
        for item in batch["items"][:shown]:
            payout_item = item["payout_item"]
            rows.append(
                _cells(
                    (
                        item["payout_item_id"],
                        payout_item.get("sender_item_id", ""),
                        payout_item["receiver"],
                        f"{payout_item['amount']['value']} {payout_item['amount']['currency']}",
                        state.item_status(batch, item, now),
                    )
                )
            )
        more = len(batch["items"]) - shown
        parts.append(
            f"<h3>{html.escape(batch['payout_batch_id'])} · "
            f"{html.escape(header['sender_batch_header']['sender_batch_id'])} · "
            f"{header['batch_status']}</h3><p><small>created {header['time_created']}, "
            f"{len(batch['items'])} items, {header['amount']['value']} "
            f"{html.escape(header['amount']['currency'])}</small></p>"
            "<table><tr><th>item</th><th>sender_item_id</th><th>receiver</th><th>amount</th>"
            f"<th>status</th></tr>{''.join(rows)}</table>"
            + (f"<p><small>… and {more} more items</small></p>" if more > 0 else "")
        )
    if not batches:
        parts.append("<p>none yet</p>")
    return "".join(parts)


def _payoneer_html(state: PaymentsState, now: float) -> str:
    parts = ["<h2>Payoneer payments</h2>"]
    if state.payments:
        rows = []
        for payment in state.payments.values():
            view = state.payment_view(payment, now)
            rows.append(
                _cells(
                    (
                        view["client_reference_id"],
                        view["payee_id"],
                        f"{view['amount']} {view['currency']}",
                        view["status"],
                        view.get("reason_code", ""),
                    )
                )
            )
        parts.append(
            "<table><tr><th>client_reference_id</th><th>payee_id</th><th>amount</th>"
            f"<th>status</th><th>reason</th></tr>{''.join(rows)}</table>"
        )
    else:
        parts.append("<p>none yet</p>")
    return "".join(parts)
