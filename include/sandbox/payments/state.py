"""Every batch, payment, token, fault and counter of the payment emulators, and how a stored
batch or payment reads back (statuses are computed on read from timestamps, so nothing runs in
the background). JSON files under ``state_dir/payments``: ``clients.json``, ``settings.json``,
``tokens.json``, one ``paypal/<payout_batch_id>.json`` per batch and ``payoneer.json``.

Routes get the one :class:`PaymentsState` (on the payments app's ``state.payments``) through the
:data:`PaymentsDep` dependency.

Assumptions where no public source settles the answer:

- ``transaction_id`` is shown for SUCCESS, UNCLAIMED, RETURNED, REFUNDED and REVERSED items
  (PayPal's own cancel example shows one on a RETURNED item); ``errors`` only on FAILED items.
- A batch is PENDING for ``processing_seconds``, then PROCESSING as long again, then SUCCESS
  (or DENIED); its items are PENDING until then. The batch ends SUCCESS even when items are
  UNCLAIMED or ONHOLD: those move later, one by one.
- A batch's processing time and unclaimed-return time are fixed when it is created, so changing
  the settings never moves an existing batch backwards.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from sandbox.common import iso, write_json
from sandbox.payments.errors import link

# Items that carry a transaction: money moved (or moved and came back).
WITH_TRANSACTION = ("SUCCESS", "UNCLAIMED", "RETURNED", "REFUNDED", "REVERSED")


def done_at(batch: dict) -> float:
    """When a batch's processing ends: it was PENDING for ``processing_seconds`` (fixed at
    create in ``ready_at``), then PROCESSING as long again."""
    return batch["ready_at"] + (batch["ready_at"] - batch["created"])


def load_clients(state_dir: Path) -> dict:
    """The sandbox's client credentials, created on first use so the server and
    ``python -m sandbox connections`` agree without being told."""
    path = state_dir / "payments" / "clients.json"
    if path.exists():
        return json.loads(path.read_text())
    clients = {
        "paypal": {
            "client_id": "sb-" + secrets.token_urlsafe(24),
            "client_secret": secrets.token_urlsafe(32),
        },
        "payoneer": {
            "client_id": secrets.token_urlsafe(18),
            "client_secret": secrets.token_urlsafe(32),
            "program_id": str(100_000_000 + secrets.randbelow(900_000_000)),
        },
    }
    write_json(path, clients)
    return clients


@dataclass
class Settings:
    processing_seconds: float = 1.0
    unclaimed_return_seconds: float = 2_592_000.0
    clock_offset_seconds: float = 0.0  # how far the sandbox clock is ahead of the real one


class PaymentsState:
    """Every batch, payment, token, fault and counter; JSON files under ``state_dir/payments``."""

    def __init__(self, state_dir: Path, base_url: str = ""):
        self.base = base_url.rstrip("/")  # where the links in PayPal's answers point
        self.folder = state_dir / "payments"
        (self.folder / "paypal").mkdir(parents=True, exist_ok=True)
        self.clients = load_clients(state_dir)
        self.settings = Settings()
        if (self.folder / "settings.json").exists():
            self.settings = Settings(**json.loads((self.folder / "settings.json").read_text()))
        self.tokens: dict[str, dict[str, float]] = {"paypal": {}, "payoneer": {}}
        if (self.folder / "tokens.json").exists():
            self.tokens.update(json.loads((self.folder / "tokens.json").read_text()))
        self.batches: dict[str, dict] = {}
        self.by_sender_batch_id: dict[str, str] = {}
        self.items: dict[str, tuple[str, int]] = {}
        for path in self.folder.glob("paypal/*.json"):
            self.index_batch(json.loads(path.read_text()))
        self.payments: dict[str, dict] = {}
        if (self.folder / "payoneer.json").exists():
            for payment in json.loads((self.folder / "payoneer.json").read_text()):
                self.payments[payment["client_reference_id"]] = payment
        self.faults: list[dict] = []
        self.stats = self.zero_stats()

    @staticmethod
    def zero_stats() -> dict[str, dict[str, int]]:
        return {
            "paypal": {"token": 0, "create": 0, "get_batch": 0, "get_item": 0, "cancel": 0},
            "payoneer": {"token": 0, "create": 0, "status": 0},
        }

    def now(self) -> float:
        """The sandbox clock (epoch seconds): real time plus what ``clock/advance`` added.
        PayPal batches, their statuses and the 30-day ``sender_batch_id`` window follow it."""
        return time.time() + self.settings.clock_offset_seconds

    def index_batch(self, batch: dict) -> None:
        batch_id = batch["payout_batch_id"]
        self.batches[batch_id] = batch
        sender_batch_id = batch["sender_batch_header"]["sender_batch_id"]
        known = self.batches.get(self.by_sender_batch_id.get(sender_batch_id, ""))
        if known is None or known["created"] <= batch["created"]:  # the newest use wins
            self.by_sender_batch_id[sender_batch_id] = batch_id
        for index, item in enumerate(batch["items"]):
            self.items[item["payout_item_id"]] = (batch_id, index)

    def find_item(self, payout_item_id: str) -> tuple[dict, dict] | None:
        """The batch and item of a ``payout_item_id``, or None."""
        where = self.items.get(payout_item_id)
        if where is None:
            return None
        batch = self.batches[where[0]]
        return batch, batch["items"][where[1]]

    # persistence: one file per PayPal batch (a mutation rewrites only its batch), one for Payoneer
    def save_batch(self, batch: dict) -> None:
        write_json(self.folder / "paypal" / f"{batch['payout_batch_id']}.json", batch)

    def save_payments(self) -> None:
        write_json(self.folder / "payoneer.json", list(self.payments.values()))

    def save_tokens(self) -> None:
        now = time.time()
        for tokens in self.tokens.values():
            for token in [t for t, expiry in tokens.items() if expiry <= now]:
                del tokens[token]
        write_json(self.folder / "tokens.json", self.tokens)

    def save_settings(self) -> None:
        write_json(self.folder / "settings.json", asdict(self.settings))

    def reset(self) -> None:
        for path in self.folder.glob("paypal/*.json"):
            path.unlink()
        self.batches.clear()
        self.by_sender_batch_id.clear()
        self.items.clear()
        self.payments.clear()
        self.save_payments()
        self.settings.clock_offset_seconds = 0.0
        self.save_settings()

    # faults
    def take_fault(self, provider: str, kinds: tuple[str, ...]) -> dict | None:
        for fault in self.faults:
            if fault["provider"] == provider and fault["kind"] in kinds:
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def issue_token(self, provider: str, seconds: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[provider][token] = time.time() + seconds
        self.save_tokens()
        return token

    def token_valid(self, provider: str, token: str) -> bool:
        expiry = self.tokens[provider].get(token)
        return expiry is not None and expiry > time.time()

    # --- PayPal views ---------------------------------------------------------------------
    def item_status(self, batch: dict, item: dict, now: float) -> str:
        """PENDING until the batch is done, then the outcome its receiver chose, moved by the
        ``paypal/items/.../status`` switch; UNCLAIMED becomes RETURNED after 30 days."""
        if now < done_at(batch):
            return "PENDING"
        if batch["denied"]:
            return "FAILED"
        status = item["outcome"]
        for move in item.get("moves", []):
            if move["at"] <= now:
                status = move["status"]
        if status == "UNCLAIMED":
            returned = item.get("returned_at")
            if (returned is not None and returned <= now) or now >= batch["return_at"]:
                return "RETURNED"
        return status

    def batch_status(self, batch: dict, now: float) -> str:
        """PENDING (accepted, checks passed), PROCESSING (paying), then SUCCESS or DENIED."""
        if now < batch["ready_at"]:
            return "PENDING"
        if now < done_at(batch):
            return "PROCESSING"
        return "DENIED" if batch["denied"] else "SUCCESS"

    def item_view(self, base: str, batch: dict, item: dict, now: float, rel: str) -> dict:
        status = self.item_status(batch, item, now)
        payout_item = item["payout_item"]
        view: dict[str, Any] = {"payout_item_id": item["payout_item_id"]}
        if item["transaction_id"] and status in WITH_TRANSACTION:
            view["transaction_id"] = item["transaction_id"]
        view.update(
            {
                "transaction_status": status,
                "payout_item_fee": {"currency": payout_item["amount"]["currency"], "value": "0.00"},
                "payout_batch_id": batch["payout_batch_id"],
                "payout_item": payout_item,
            }
        )
        if rel == "self":  # the item read has it; a batch read's items do not (OpenAPI)
            view["sender_batch_id"] = batch["sender_batch_header"]["sender_batch_id"]
        if status != "PENDING":
            view["time_processed"] = iso(done_at(batch))
        if status == "FAILED":
            view["errors"] = (
                {
                    "name": "INSUFFICIENT_FUNDS",
                    "message": "Sender does not have sufficient funds. Please add funds and retry.",
                }
                if batch["denied"]
                else {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"}
            ) | {"debug_id": item["payout_item_id"].lower()}  # OpenAPI ``error`` requires it
        item_url = f"{base}/v1/payments/payouts-item/{item['payout_item_id']}"
        links = [link(item_url, rel)]
        if rel == "self":
            links.append(link(f"{base}/v1/payments/payouts/{batch['payout_batch_id']}", "batch"))
        view["links"] = links
        return view

    def batch_header(self, batch: dict, now: float) -> dict:
        status = self.batch_status(batch, now)
        header: dict[str, Any] = {
            "payout_batch_id": batch["payout_batch_id"],
            "batch_status": status,
            "time_created": iso(batch["created"]),
        }
        if status not in ("PENDING", "PROCESSING"):
            header["time_completed"] = iso(done_at(batch))
        header.update(
            {
                "sender_batch_header": batch["sender_batch_header"],
                "amount": {"currency": batch["currency"], "value": batch["total"]},
                "fees": {"currency": batch["currency"], "value": "0.00"},
            }
        )
        return header  # a DENIED header has no ``errors`` (OpenAPI); its items carry them

    # --- Payoneer view --------------------------------------------------------------------
    def payment_view(self, payment: dict, now: float) -> dict:
        view = {
            "status": "Pending",
            "payout_id": payment["payout_id"],
            "client_reference_id": payment["client_reference_id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
            "payee_id": payment["payee_id"],
        }
        if now >= payment["ready_at"]:
            if payment["outcome"] == "Cancelled":
                view.update(
                    status="Cancelled",
                    reason_code="PayeeNotRegistered",
                    reason_description="Payee is not registered or not active",
                )
            else:
                view["status"] = "Transferred"
        return view


def payments_state(request: Request) -> PaymentsState:
    return request.app.state.payments


PaymentsDep = Annotated[PaymentsState, Depends(payments_state)]
