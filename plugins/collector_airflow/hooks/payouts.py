"""Payout providers behind one small interface: PayPal Payouts (paypalrestsdk) and Payoneer.

A provider sends one *chunk* (up to ``max_items_per_request`` payments) per request, under an
idempotency key the ledger wrote before the call, and reports each payment's status in its own
words (:class:`collector.payouts.ledger.ItemOutcome`). A third provider implements
:class:`PayoutProviderHook`'s three methods and registers its name in ``PROVIDER_HOOKS``.

Connections (docs/connections.md): ``paypal_default`` (type ``paypal``: login = client id, password =
client secret, extras ``mode`` ("sandbox"/"live"), optional ``endpoint`` for a local emulator,
``timeout_s``) and ``payoneer_default`` (type ``payoneer``: login/password = client
credentials, extras ``program_id``, ``api_base_url``, ``token_url``, ``timeout_s``). Secrets and
tokens are never logged: paypalrestsdk's own DEBUG logging (which prints headers) is silenced.

A provider that cannot be reached, answers 5xx or 429, or refuses our credentials (401) raises
:class:`PayoutServiceError`: a ``PayoutProviderError`` (retry later with the same keys, as
before) whose message is one sentence naming the connection, the call, the answer and the next
step (service_errors.py). ``PayoutRefused`` still means only a definitive refusal of the money.
"""

from __future__ import annotations

import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from airflow.sdk import BaseHook

from collector.core.money import dollars
from collector.payouts.ledger import ItemOutcome
from collector.payouts.submission import Chunk, Instruction
from collector_airflow.hooks.service_errors import (
    ExternalServiceError,
    connection_test_crash,
    connection_test_failure,
    endpoint,
    safe_url,
    transport_status,
)

log = logging.getLogger(__name__)
# paypalrestsdk logs request headers (the Basic secret, the bearer token) at DEBUG.
logging.getLogger("paypalrestsdk").setLevel(logging.INFO)


class PayoutProviderError(RuntimeError):
    """The provider could not be asked or answered unexpectedly: retry later, same keys."""


class PayoutRefused(RuntimeError):
    """The provider refused this money outright (insufficient funds, invalid request)."""


class PayoutServiceError(ExternalServiceError, PayoutProviderError):
    """The provider was unreachable, failed (5xx, 429) or refused our credentials (401): one
    sentence (connection, call, answer, next step). Retrying with the same keys is safe."""


_STATUS_PAGES = {
    "PayPal": "PayPal's status page https://www.paypal-status.com",
    "Payoneer": "Payoneer's service status (their support, or the account manager)",
}


def provider_unavailable(
    service: str,
    conn_id: str,
    method: str,
    url: str,
    *,
    status_code: int | None = None,
    error: BaseException | None = None,
    times: int = 1,
    secrets: Sequence[str | None] = (),
) -> PayoutServiceError:
    """The sentence for a provider call that failed: HTTP ``status_code``, or the transport
    ``error``; ``times`` > 1 when the same answer came back that often."""
    status_page = _STATUS_PAGES.get(service, f"{service}'s status")
    if status_code is None:
        status = transport_status(error) if error is not None else "no answer"
        step = (
            f"check {status_page} and the connection `{conn_id}` (its endpoint extras, "
            "Admin → Connections); a retry sends the same keys, nothing is paid twice"
        )
    else:
        status = f"HTTP {status_code}" + (f" {times} times" if times > 1 else "")
        if status_code == 401:
            step = (
                f"{service} refused our client credentials (client secret rotated or wrong): "
                f"update the connection `{conn_id}` (login = client id, password = client "
                "secret) in Admin → Connections, then clear the task"
            )
        elif status_code == 403:
            step = (
                f"{service} does not allow this app the payouts API: enable it for the app "
                f"whose client id is in `{conn_id}`, then clear the task"
            )
        elif status_code == 429:
            step = (
                f"{service} is rate limiting us: wait and retry (same keys, nothing paid "
                "twice); if it persists, ask them to raise the limit"
            )
        else:
            step = (
                f"{service} failed on its side: check {status_page}; a retry sends the same "
                "keys, nothing is paid twice"
            )
    return PayoutServiceError(
        service=service,
        conn_id=conn_id,
        endpoint=endpoint(method, url),
        status=status,
        next_step=step,
        secrets=secrets,
    )


@dataclass
class ChunkStatus:
    """Where a submitted chunk stands; ``outcomes`` only when asked for the items."""

    done: bool
    denied: str | None = None  # the provider refused the whole chunk, and why
    outcomes: list[ItemOutcome] = field(default_factory=list)


class PayoutProviderHook(BaseHook, ABC):
    """The provider interface the ledger's operators and trigger use."""

    provider: ClassVar[str]
    max_items_per_request: ClassVar[int]

    @abstractmethod
    def submit_chunk(self, chunk: Chunk) -> str | None:
        """Send the chunk under ``chunk.idempotency_key``, or find it when it was sent already
        (``chunk.attempted``); return the provider's reference for it. Never pays twice."""

    @abstractmethod
    def chunk_status(self, chunk: Chunk, waiting: Sequence[str], with_items: bool) -> ChunkStatus:
        """Is the provider done with this chunk? With ``with_items``, every item's outcome
        (``waiting`` = keys of the items the ledger still waits for)."""


class _BoundedApi:
    """paypalrestsdk.Api with a request timeout and at most ``auth_retries`` token refreshes.

    paypalrestsdk passes no timeout to ``requests`` and retries a 401 by recursion without
    limit (docs/service-facts.md); built lazily so importing the hook needs no paypalrestsdk.
    """

    @staticmethod
    def create(
        options: dict, timeout_s: float, auth_retries: int = 2, conn_id: str = "paypal_default"
    ):
        import paypalrestsdk  # noqa: PLC0415

        class Api(paypalrestsdk.Api):
            depth = 0

            def secrets(self) -> list[str | None]:
                token = (self.token_hash or {}).get("access_token")
                return [self.client_secret, token, self.basic_auth()]

            def http_call(self, url, method, **kwargs):
                kwargs.setdefault("timeout", timeout_s)
                try:
                    return super().http_call(url, method, **kwargs)
                except requests.RequestException as exc:
                    raise provider_unavailable(
                        "PayPal", conn_id, method, url, error=exc, secrets=self.secrets()
                    ) from exc

            def request(self, url, method, body=None, headers=None, refresh_token=None):
                self.depth += 1
                try:
                    if self.depth > auth_retries + 1:
                        # Called from the SDK's ``except UnauthorizedAccess``: chain to it.
                        refused = sys.exc_info()[1]
                        raise provider_unavailable(
                            "PayPal",
                            conn_id,
                            method,
                            url,
                            status_code=401,
                            times=auth_retries + 1,
                            secrets=self.secrets(),
                        ) from refused
                    return super().request(url, method, body, headers, refresh_token)
                finally:
                    self.depth -= 1

        return Api(options)


class PayPalPayoutsHook(PayoutProviderHook):
    """PayPal Payouts v1 through paypalrestsdk (``Payout.create``; lookups by plain GET,
    because ``Payout.find`` doubles the id)."""

    conn_name_attr = "paypal_conn_id"
    default_conn_name = "paypal_default"
    conn_type = "paypal"
    hook_name = "PayPal Payouts"
    provider = "paypal"
    max_items_per_request = 15_000
    PAGE_SIZE = 1000
    FINAL_BATCH = ("SUCCESS", "DENIED", "CANCELED")
    KNOWN_BATCH = ("PENDING", "PROCESSING", *FINAL_BATCH)  # the contract's batch_enum

    def __init__(self, paypal_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.paypal_conn_id = paypal_conn_id
        self._api = None

    def get_conn(self):
        if self._api is None:
            conn = self.get_connection(self.paypal_conn_id)
            extra = conn.extra_dejson or {}
            options = {
                "mode": (extra.get("mode") or "sandbox"),
                "client_id": conn.login,
                "client_secret": conn.password,
            }
            if extra.get("endpoint"):
                options["endpoint"] = extra["endpoint"]
                options["token_endpoint"] = extra["endpoint"]
            self._api = _BoundedApi.create(
                options, float(extra.get("timeout_s") or 60), conn_id=self.paypal_conn_id
            )
        return self._api

    def test_connection(self) -> tuple[bool, str]:
        """The Connections form's Test: fetch an OAuth token with the client ID and secret
        (``POST /v1/oauth2/token``). Proves both, pays and changes nothing."""
        import paypalrestsdk.exceptions as pp  # noqa: PLC0415

        conn = self.get_connection(self.paypal_conn_id)
        mode = (conn.extra_dejson or {}).get("mode") or "sandbox"
        secrets = [conn.password]
        try:
            api = self.get_conn()
            secrets = api.secrets()
            try:
                api.get_access_token()
            except pp.ConnectionError as exc:
                raise self._unavailable(exc, "POST", "v1/oauth2/token") from exc
        except PayoutServiceError as err:
            if "401" in err.status or "400" in err.status:
                hint = (
                    f"PayPal refused the client ID and secret for mode {mode!r}: copy both "
                    "from developer.paypal.com → Apps & Credentials (the app of that mode)"
                )
            else:
                hint = "PayPal could not be asked: check the mode, the endpoint and the network"
            return connection_test_failure(err, hint)
        except Exception as exc:
            return False, connection_test_crash("PayPal", exc, secrets)
        return True, (
            f"PayPal ({mode}) accepted the client ID and secret: OAuth token fetched from "
            f"{safe_url(api.token_endpoint)}; nothing was paid"
        )

    def _unavailable(self, exc: Exception, method: str, path: str) -> PayoutServiceError:
        """The sentence for a paypalrestsdk error that carries an HTTP answer."""
        response = getattr(exc, "response", None)
        api = self.get_conn()
        url = getattr(response, "url", None) or f"{api.endpoint.rstrip('/')}/{path.lstrip('/')}"
        return provider_unavailable(
            "PayPal",
            self.paypal_conn_id,
            getattr(getattr(response, "request", None), "method", None) or method,
            url,
            status_code=getattr(response, "status_code", None),
            error=None if response is not None else exc,
            secrets=api.secrets(),
        )

    def _get(self, path: str) -> dict:
        import paypalrestsdk.exceptions as pp  # noqa: PLC0415

        try:
            return self.get_conn().get(path)
        except pp.ResourceNotFound:
            raise
        except pp.ConnectionError as exc:
            raise self._unavailable(exc, "GET", path) from exc

    def find_batch(self, payout_batch_id: str, page: int = 1, page_size: int = 1000) -> dict:
        """``Payout.find`` done right: one page of a batch (header and items)."""
        return self._get(
            f"v1/payments/payouts/{payout_batch_id}?page={page}&page_size={page_size}"
            "&total_required=true"
        )

    def find_item(self, payout_item_id: str) -> dict:
        """``PayoutItem.find`` done right: one item, e.g. to answer a collector's question."""
        return self._get(f"v1/payments/payouts-item/{payout_item_id}")

    def submit_chunk(self, chunk: Chunk) -> str | None:
        import paypalrestsdk  # noqa: PLC0415
        import paypalrestsdk.exceptions as pp  # noqa: PLC0415

        body = {
            "sender_batch_header": {
                "sender_batch_id": chunk.idempotency_key,
                "recipient_type": "EMAIL",
                "email_subject": "You have a payment from the Collector team",
                "email_message": "Thank you for your videos. This pays your accepted videos.",
            },
            "items": [_paypal_item(i) for i in chunk.items],
        }
        payout = paypalrestsdk.Payout(body, api=self.get_conn())
        try:
            created = payout.create(sync_mode=False)
        except pp.ConnectionError as exc:
            code = getattr(getattr(exc, "response", None), "status_code", 0)
            if 400 <= code < 500 and code not in (401, 408, 429):
                raise PayoutRefused(
                    f"PayPal refused {chunk.idempotency_key} (HTTP {code}): {_error_name(exc)}"
                ) from None
            # 5xx, 429, 401, timeouts: the same sender_batch_id makes a retry safe.
            raise self._unavailable(exc, "POST", "v1/payments/payouts/") from exc
        if created:
            return payout.batch_header["payout_batch_id"]
        error = payout.error or {}
        original = _duplicate_of(error)
        if original:
            self.log.info(
                "PayPal already holds %s as batch %s: resuming it, nothing sent twice",
                chunk.idempotency_key,
                original,
            )
            return original
        raise PayoutRefused(
            f"PayPal refused {chunk.idempotency_key}: {error.get('name')}: {error.get('message')} "
            f"{[d.get('issue') for d in error.get('details', [])]}"
        )

    def chunk_status(self, chunk: Chunk, waiting: Sequence[str], with_items: bool) -> ChunkStatus:
        ref = chunk.provider_batch_id
        size = self.PAGE_SIZE if with_items else 1
        page = self.find_batch(ref, 1, size)
        status = page["batch_header"]["batch_status"]
        if status not in self.KNOWN_BATCH:  # never guess about money: stop and say so
            raise PayoutProviderError(
                f"PayPal batch {ref} ({chunk.idempotency_key}) has status {status!r}, which we "
                f"do not know (known: {', '.join(self.KNOWN_BATCH)}): nothing recorded; look "
                "the batch up in PayPal and extend the hook's status list before re-running"
            )
        result = ChunkStatus(done=status in self.FINAL_BATCH)
        if status == "DENIED":
            result.denied = "PayPal denied the batch"
        if not with_items:
            return result
        items = list(page.get("items", []))
        for number in range(2, int(page.get("total_pages") or 1) + 1):
            items += self.find_batch(ref, number, size).get("items", [])
        for item in items:
            errors = item.get("errors") or {}
            reason = errors.get("name")
            if reason and errors.get("message"):
                reason = f"{reason}: {errors['message']}"
            if status == "DENIED" and reason:
                result.denied = f"PayPal denied the batch: {reason}"
            result.outcomes.append(
                ItemOutcome(
                    item["payout_item"]["sender_item_id"],
                    item["transaction_status"],
                    item.get("payout_item_id"),
                    reason,
                )
            )
        return result


def _paypal_item(item: Instruction) -> dict:
    return {
        "recipient_type": "EMAIL",
        "amount": {"value": dollars(item.amount_cents), "currency": item.currency},
        "receiver": item.receiver,
        "note": item.note,
        "sender_item_id": item.idempotency_key,
    }


def _error_name(exc: Exception) -> str:
    """PayPal's error name and message from an exception's body (never its headers)."""
    import json  # noqa: PLC0415

    try:
        body = json.loads(getattr(exc, "content", "") or "{}")
    except ValueError:
        return "no JSON body"
    return f"{body.get('name')}: {body.get('message')}"


def _duplicate_of(error: dict) -> str | None:
    """The original batch id when PayPal says this sender_batch_id was used already."""
    if error.get("name") != "USER_BUSINESS_ERROR":
        return None
    if not any(d.get("field") == "SENDER_BATCH_ID" for d in error.get("details", [])):
        return None
    for link in error.get("links", []):
        href = link.get("href", "")
        if "/v1/payments/payouts/" in href:
            return href.rstrip("/").rsplit("/", 1)[-1]
    raise PayoutProviderError(
        "PayPal says the sender_batch_id exists but gave no link to the original batch"
    )


class PayoneerPayoutsHook(PayoutProviderHook):
    """Payoneer mass payouts (REST, OAuth client credentials). Each payment carries its own
    ``client_reference_id``; the chunk's reference is our key (Payoneer has no batch id)."""

    conn_name_attr = "payoneer_conn_id"
    default_conn_name = "payoneer_default"
    conn_type = "payoneer"
    hook_name = "Payoneer mass payouts"
    provider = "payoneer"
    max_items_per_request = 1_000

    def __init__(self, payoneer_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.payoneer_conn_id = payoneer_conn_id
        self._session: requests.Session | None = None
        self._token: str | None = None
        self._connection = None

    def _settings(self) -> tuple[Any, dict]:
        if self._connection is None:
            self._connection = self.get_connection(self.payoneer_conn_id)
        return self._connection, self._connection.extra_dejson or {}

    def get_conn(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _authorize(self) -> None:
        conn, extra = self._settings()
        token_url = extra.get("token_url") or "https://login.payoneer.com/api/v2/oauth2/token"
        try:
            answer = self.get_conn().post(
                token_url,
                data={"grant_type": "client_credentials", "scope": "read write"},
                auth=(conn.login or "", conn.password or ""),
                timeout=float(extra.get("timeout_s") or 60),
            )
        except requests.RequestException as exc:
            raise self._unavailable("POST", token_url, error=exc) from exc
        if answer.status_code != 200:
            # Any refusal of the token is about our credentials (400 invalid_client, 401).
            code = 401 if answer.status_code in (400, 401, 403) else answer.status_code
            raise self._unavailable("POST", token_url, status_code=code) from _http_error(answer)
        self._token = answer.json()["access_token"]

    def test_connection(self) -> tuple[bool, str]:
        """The Connections form's Test: fetch an OAuth token with the client credentials, then
        look up a payment reference that cannot exist (``GET .../payouts/<ref>/status``, "not
        found" proves the program ID). Pays and changes nothing."""
        secrets: list[str | None] = []
        try:
            conn, extra = self._settings()
            secrets = [conn.password]
            if not extra.get("program_id"):
                return False, "Payoneer: the Program ID is empty; it is in the Payoneer account"
            self._authorize()
            secrets.append(self._token)
            answer = self._call("GET", "/payouts/collector-connection-test/status")
        except PayoutServiceError as err:
            if "401" in err.status:
                hint = (
                    "Payoneer refused the client ID and secret: copy both from the Payoneer "
                    "account (API credentials) and check the token URL of that environment"
                )
            else:
                hint = "Payoneer could not be asked: check the token URL, API base URL, network"
            return connection_test_failure(err, hint)
        except Exception as exc:
            return False, connection_test_crash("Payoneer", exc, secrets)
        try:
            sub_code = str((answer.json().get("error_details") or {}).get("sub_code"))
        except (ValueError, AttributeError):
            sub_code = ""
        if answer.status_code == 404 and sub_code == "2306":
            return True, (
                f"Payoneer accepted the client ID and secret (token from "
                f"{safe_url(extra.get('token_url') or 'https://login.payoneer.com')}) and knows "
                f"program {extra['program_id']}; nothing was paid"
            )
        return False, (
            f"Payoneer accepted the client ID and secret, but program {extra['program_id']} "
            f"answered HTTP {answer.status_code}"
            + (f" (sub_code {sub_code})" if sub_code not in ("", "None") else "")
            + ": check the Program ID"
        )

    def _unavailable(
        self,
        method: str,
        url: str,
        *,
        status_code: int | None = None,
        error: BaseException | None = None,
    ) -> PayoutServiceError:
        conn, _ = self._settings()
        return provider_unavailable(
            "Payoneer",
            self.payoneer_conn_id,
            method,
            url,
            status_code=status_code,
            error=error,
            secrets=[conn.password, self._token],
        )

    def _call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        _, extra = self._settings()
        base = (extra.get("api_base_url") or "https://api.payoneer.com").rstrip("/")
        url = f"{base}/v4/programs/{extra['program_id']}{path}"
        for attempt in range(2):  # one token refresh on 401, then give up
            if self._token is None:
                self._authorize()
            try:
                answer = self.get_conn().request(
                    method,
                    url,
                    json=body,
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=float(extra.get("timeout_s") or 60),
                )
            except requests.RequestException as exc:
                raise self._unavailable(method, url, error=exc) from exc
            if answer.status_code == 401 and attempt == 0:
                self._token = None
                continue
            if answer.status_code >= 500 or answer.status_code in (401, 429):
                raise self._unavailable(
                    method, url, status_code=answer.status_code
                ) from _http_error(answer)
            return answer
        raise AssertionError("unreachable")

    def _status(self, key: str) -> dict | None:
        answer = self._call("GET", f"/payouts/{key}/status")
        if answer.status_code == 404:
            try:
                sub_code = (answer.json().get("error_details") or {}).get("sub_code")
            except ValueError:
                sub_code = None
            if str(sub_code) == "2306":  # "payout not found": Payoneer does not hold it
                return None
            raise PayoutProviderError(f"Payoneer status of {key}: HTTP 404 without sub_code 2306")
        if answer.status_code != 200:
            raise PayoutProviderError(f"Payoneer status of {key}: HTTP {answer.status_code}")
        body = answer.json()
        return body.get("result", body) if isinstance(body.get("result"), dict) else body

    def submit_chunk(self, chunk: Chunk) -> str | None:
        todo = list(chunk.items)
        if chunk.attempted:
            # A call may have reached Payoneer: send only what it does not hold.
            todo = [item for item in todo if self._status(item.idempotency_key) is None]
            self.log.info(
                "Payoneer already holds %d of %d payments of %s; sending the other %d",
                len(chunk.items) - len(todo),
                len(chunk.items),
                chunk.idempotency_key,
                len(todo),
            )
        if not todo:
            return chunk.idempotency_key
        answer = self._call(
            "POST",
            "/masspayouts",
            {
                "payments": [
                    {
                        "client_reference_id": item.idempotency_key,
                        "payee_id": item.receiver,
                        "amount": item.amount_cents / 100,  # shortest repr: exactly 2 decimals
                        "currency": item.currency,
                        "description": item.note,
                    }
                    for item in todo
                ]
            },
        )
        if 200 <= answer.status_code < 300:
            return chunk.idempotency_key
        try:
            error = answer.json()
        except ValueError:
            error = {"error": answer.text[:200]}
        if "duplicate" in str(error.get("error", "")).lower():
            # Someone sent part of it already: look each reference up, send only the rest.
            return self.submit_chunk(_as_attempted(chunk))
        # Refused: but Payoneer may hold part of this chunk (an earlier attempt, or a partial
        # acceptance). Releasing those items would pay their videos twice: fail closed instead.
        held = [i.idempotency_key for i in chunk.items if self._status(i.idempotency_key)]
        if held:
            raise PayoutProviderError(
                f"Payoneer refused part of {chunk.idempotency_key} (HTTP {answer.status_code}: "
                f"{error.get('error')}) but holds {len(held)} of its {len(chunk.items)} "
                "payments: nothing released; fix the cause (e.g. funds) and clear the task"
            )
        raise PayoutRefused(
            f"Payoneer refused {chunk.idempotency_key} (HTTP {answer.status_code}): "
            f"{error.get('error')}: {error.get('error_description') or error.get('error_details')}"
        )

    def chunk_status(self, chunk: Chunk, waiting: Sequence[str], with_items: bool) -> ChunkStatus:
        result = ChunkStatus(done=True)
        for key in waiting:
            status = self._status(key)
            if status is None:
                raise PayoutProviderError(f"Payoneer does not know payment {key} it accepted")
            if status["status"] == "Pending":
                result.done = False
                if not with_items:
                    return result
            reason = status.get("reason_description") or status.get("reason_code")
            result.outcomes.append(
                ItemOutcome(key, status["status"], str(status.get("payout_id") or ""), reason)
            )
        return result


def _http_error(answer: requests.Response) -> requests.HTTPError:
    """The answer as the exception a traceback shows (URL without its query)."""
    return requests.HTTPError(
        f"HTTP {answer.status_code} {answer.reason} for {safe_url(answer.url)}", response=answer
    )


def _as_attempted(chunk: Chunk) -> Chunk:
    return Chunk(
        chunk.batch_id,
        chunk.chunk,
        chunk.idempotency_key,
        chunk.provider_batch_id,
        True,
        chunk.accepted,
        chunk.items,
    )


PROVIDER_HOOKS: dict[str, type[PayoutProviderHook]] = {
    "paypal": PayPalPayoutsHook,
    "payoneer": PayoneerPayoutsHook,
}


def provider_hook(provider: str, conn_id: str | None = None) -> PayoutProviderHook:
    """The hook for a provider name, on its default connection unless one is given."""
    cls = PROVIDER_HOOKS[provider]
    return cls(conn_id or cls.default_conn_name)
