"""Dropbox OAuth 2: the authorize page (``/oauth2/authorize``) and the token endpoint
(``/oauth2/token``), for the code flow with PKCE or a client secret and refresh tokens.

Follows https://www.dropbox.com/developers/documentation/http/documentation#oauth2-authorize,
``#oauth2-token`` and the OAuth guide (https://developers.dropbox.com/oauth-guide):
``authorization_code`` answers ``access_token``, ``token_type: bearer``, ``expires_in``
(14,400 s), ``refresh_token`` (``token_access_type=offline`` only), ``scope``, ``uid``,
``account_id``; ``refresh_token`` answers ``access_token``, ``token_type``, ``expires_in``.
Errors are 400 ``{"error": "invalid_grant", "error_description": ...}`` ("code doesn't exist or
has expired", "refresh token is invalid or revoked"). The authorize page is the sandbox's own:
the user types an email (any address is an account) and clicks Allow or Cancel.

Assumptions:

- Token endpoint client errors are 400 ``invalid_client`` / ``invalid_request`` /
  ``unsupported_grant_type``; a wrong PKCE verifier or a redirect_uri differing from the
  authorize request is ``invalid_grant``. A code is burnt by its first exchange attempt.
- ``redirect_uri`` may be any absolute http(s) URI (no registration list). ``login_hint`` (not a
  Dropbox parameter) pre-fills the email box.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from sandbox.common import page
from sandbox.dropbox.errors import oauth_error, request_id
from sandbox.dropbox.state import ACCESS_TOKEN_SECONDS, DropboxDep, DropboxState

_page = partial(page, footer="Dropbox sandbox")

CODE_SECONDS = 600
SCOPE = "account_info.read files.content.write files.metadata.read"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

router = APIRouter()


def authorize_problem(state: DropboxState, params: dict) -> str | None:
    if params.get("client_id") != state.app["app_key"]:
        return "Invalid client_id: this app does not exist."
    if params.get("response_type") != "code":
        return 'Invalid response_type: only "code" is supported.'
    redirect_uri = params.get("redirect_uri")
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return "Invalid redirect_uri: it must be an absolute http(s) URI."
    method = params.get("code_challenge_method")
    if params.get("code_challenge"):
        if method not in ("S256", "plain"):
            return "Invalid code_challenge_method: expected S256 or plain."
        if not 43 <= len(params["code_challenge"]) <= 128:
            return "Invalid code_challenge: 43 to 128 characters expected."
    elif method:
        return "code_challenge_method given without code_challenge."
    if params.get("token_access_type") not in (None, "", "online", "offline", "legacy"):
        return "Invalid token_access_type: expected online, offline or legacy."
    if len(params.get("state", "").encode()) > 500:
        return "Invalid state: at most 500 bytes."
    return None


def authorize_page(
    state: DropboxState, params: dict, error: str = "", status: int = 200
) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k != "login_hint"
    )
    email = params.get("login_hint", "")
    app_name = state.app["app_name"]
    folder = html.escape(f"Apps/{app_name}")
    body = (
        (f'<p id="error" class="error">{html.escape(error)}</p>' if error else "")
        + f"<p><b>{html.escape(app_name)}</b> would like access to its own folder, "
        f"<code>{folder}</code>, inside your Dropbox.</p>"
        '<form id="authorize-form" method="post" action="/oauth2/authorize">'
        f"{hidden}"
        '<p><label for="email">Dropbox account email</label><br>'
        f'<input id="email" name="email" type="email" required value="{html.escape(email)}"'
        ' autocomplete="email" size="40"></p>'
        '<p><button id="cancel" name="decision" value="cancel" type="submit" formnovalidate>'
        "Cancel</button> "
        '<button id="allow" name="decision" value="allow" type="submit">Allow</button></p>'
        "</form>"
    )
    return _page(f"Sandbox Dropbox: authorize {app_name}", body, status)


def redirect(redirect_uri: str, extra: dict) -> RedirectResponse:
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, v) for k, v in extra.items() if v is not None
    ]
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), 302)


@router.get("/oauth2/authorize", response_class=HTMLResponse)
async def authorize_form(request: Request, state: DropboxDep):
    params = dict(request.query_params)
    problem = authorize_problem(state, params)
    with state.lock:
        state.record("oauth2/authorize", None, 400 if problem else 200, problem)
    if problem:
        return _page("Sandbox Dropbox: error", f'<p id="error">{html.escape(problem)}</p>', 400)
    return authorize_page(state, params)


@router.post("/oauth2/authorize")
async def authorize_decision(request: Request, state: DropboxDep):
    params = {k: str(v) for k, v in (await request.form()).items()}
    decision, email = params.pop("decision", ""), params.pop("email", "").strip()
    problem = authorize_problem(state, params)
    if problem:
        with state.lock:
            state.record("oauth2/authorize", None, 400, problem)
        return _page("Sandbox Dropbox: error", f'<p id="error">{html.escape(problem)}</p>', 400)
    redirect_uri, url_state = params.get("redirect_uri"), params.get("state")
    if decision != "allow":
        with state.lock:
            state.count_oauth("authorize_denied")
            state.record("oauth2/authorize", None, 302, "access_denied")
        if not redirect_uri:
            return _page("Sandbox Dropbox", '<p id="denied">Access was not granted.</p>')
        return redirect(
            redirect_uri,
            {
                "error": "access_denied",
                "error_description": "The user chose not to give your app access to their "
                "Dropbox account.",
                "state": url_state,
            },
        )
    if not _EMAIL.match(email):
        return authorize_page(
            state, dict(params, login_hint=email), "Type the email of a Dropbox account.", 400
        )
    account = state.link_account(email)
    code = secrets.token_urlsafe(32)
    with state.lock:
        state.codes[code] = {
            "account_id": account["account_id"],
            "client_id": params["client_id"],
            "redirect_uri": redirect_uri,
            "code_challenge": params.get("code_challenge"),
            "code_challenge_method": params.get("code_challenge_method") or None,
            "token_access_type": params.get("token_access_type") or "online",
            "expires_at": time.time() + CODE_SECONDS,
        }
        state.save_tokens()
        state.count_oauth("authorize_allowed")
        state.record("oauth2/authorize", account, 302, None)
    if not redirect_uri:
        return _page(
            "Sandbox Dropbox",
            "<p>Enter this code into the app to finish linking:</p>"
            f'<p><code id="auth-code">{html.escape(code)}</code></p>',
        )
    return redirect(redirect_uri, {"code": code, "state": url_state})


def client_credentials(request: Request, form: dict) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            return user, password
        except (ValueError, UnicodeDecodeError):
            return None, None
    return form.get("client_id"), form.get("client_secret")


def grant_code(
    state: DropboxState, form: dict, client_id: str, secret: str | None
) -> tuple[JSONResponse, Any]:
    code = state.codes.pop(form.get("code") or "", None)
    if code is None or code["expires_at"] <= time.time() or code["client_id"] != client_id:
        return oauth_error("invalid_grant", "code doesn't exist or has expired"), None
    account = state.account_by_id(code["account_id"])
    if account is None:
        return oauth_error("invalid_grant", "code doesn't exist or has expired"), None
    challenge = code["code_challenge"]
    if challenge:
        verifier = form.get("code_verifier") or ""
        if code["code_challenge_method"] == "plain":
            computed = verifier
        else:
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if not verifier or not secrets.compare_digest(computed, challenge):
            return oauth_error("invalid_grant", "invalid code verifier"), account
    elif secret is None:
        return oauth_error("invalid_request", "No client_secret or code_verifier"), account
    if (form.get("redirect_uri") or None) != code["redirect_uri"]:
        return oauth_error("invalid_grant", "redirect_uri mismatch"), account
    refresh = None
    if code["token_access_type"] == "offline":
        refresh = secrets.token_urlsafe(48)
        state.refresh[refresh] = {
            "account_id": account["account_id"],
            "client_id": client_id,
            "pkce": bool(challenge),
            "created": time.time(),
        }
    body = {
        "access_token": state.issue_access(account["account_id"], refresh),
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
    }
    if refresh:
        body["refresh_token"] = refresh
    body.update(scope=SCOPE, uid=account["uid"], account_id=account["account_id"])
    state.count_oauth("authorization_code")
    return JSONResponse(body), account


def grant_refresh(
    state: DropboxState, form: dict, client_id: str, secret: str | None
) -> tuple[JSONResponse, Any]:
    record = state.refresh.get(form.get("refresh_token") or "")
    if record is None or record["client_id"] != client_id:
        return oauth_error("invalid_grant", "refresh token is invalid or revoked"), None
    account = state.account_by_id(record["account_id"])
    if secret is None and not record["pkce"]:
        return oauth_error("invalid_request", "No client_secret provided"), account
    token = state.issue_access(record["account_id"], form["refresh_token"])
    state.count_oauth("refresh_token")
    body = {"access_token": token, "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS}
    return JSONResponse(body), account


@router.post("/oauth2/token")
async def token(request: Request, state: DropboxDep):
    form = dict(request.query_params)
    form.update({k: str(v) for k, v in (await request.form()).items()})
    client_id, secret = client_credentials(request, form)
    account = None
    with state.lock:
        if client_id != state.app["app_key"] or (
            secret is not None and secret != state.app["app_secret"]
        ):
            response = oauth_error("invalid_client", "Invalid client_id or client_secret")
        elif form.get("grant_type") == "authorization_code":
            response, account = grant_code(state, form, client_id, secret)
        elif form.get("grant_type") == "refresh_token":
            response, account = grant_refresh(state, form, client_id, secret)
        else:
            response = oauth_error(
                "unsupported_grant_type",
                'grant_type must be "authorization_code" or "refresh_token"',
            )
        state.save_tokens()
        error = None
        if response.status_code != 200:
            error = json.loads(response.body)["error"]
            state.count_oauth("refused")
        state.record("oauth2/token", account, response.status_code, error)
    response.headers["X-Dropbox-Request-Id"] = request_id()
    return response
