"""The portal's pages. Server-rendered (Jinja2), no script needed; every form carries a CSRF
token; sessions are signed cookies naming a server-side session (so logout really ends it).

Authorization is by the session only: a collector's pages and profile are always their own,
whatever id a URL or form names; ops (a role) may read any collector's dashboard, never change
it, and no page shows a password or a whole payment identifier.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg2.pool
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from collector.accounts import logins
from collector.core import settings
from collector.core.identity import normalize_email
from collector.dashboards.content import (
    PAYMENTS_HEADER,
    SUMMARY_HEADER,
    VIDEOS_HEADER,
    Dashboard,
    build_dashboards,
)
from collector.dashboards.html import _shown, weekly_chart
from collector.delivery import links
from collector.delivery.vault import TokenVault
from collector.payouts import report
from collector.payouts.profiles import ProfileError

log = logging.getLogger("portal")
SESSION_COOKIE = "collector_session"
LOGIN_CSRF_COOKIE = "collector_login_csrf"
PER_PAGE = 50
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    database_url: str | None = None,
    secret: str | None = None,
    sheets_web_url: str | None = None,
) -> FastAPI:
    app = FastAPI(title="Collector portal", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
    secret_key = secret or settings.portal_secret()
    signer = URLSafeSerializer(secret_key, salt="collector-portal")
    pool = psycopg2.pool.ThreadedConnectionPool(
        1, 32, database_url or settings.database_url(), application_name="portal"
    )
    sheets_base = sheets_web_url or settings.sheets_web_url()
    dropbox_app = settings.dropbox_app()
    dropbox_callback = f"{settings.portal_url()}/dropbox/callback"
    vault_keys = settings.token_keys()

    @contextlib.contextmanager
    def connection() -> Iterator:
        conn = pool.getconn()
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            pool.putconn(conn)

    def db() -> Iterator:
        with connection() as conn:
            yield conn

    def current(request: Request, conn=Depends(db)) -> tuple[logins.Account, str] | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        try:
            raw = signer.loads(cookie)
        except BadSignature:
            return None
        return logins.session_account(conn, raw, _now())

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def secure(request: Request) -> bool:
        return request.url.hostname not in LOCAL_HOSTS

    def sessionless_form(request: Request, name: str, status: int = 200, **context):
        """A form posted without a session (login, set password, reset): its CSRF token goes
        in the page and, signed, in a cookie; ``login_csrf_ok`` compares the two."""
        token = secrets.token_urlsafe(24)
        response = page(request, name, status, csrf=token, **context)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            signer.dumps(token),
            httponly=True,
            secure=secure(request),
            samesite="lax",
        )
        return response

    def login_form(request: Request, status: int = 200, **context) -> HTMLResponse:
        return sessionless_form(request, "login.html", status, **context)

    def login_csrf_ok(request: Request, submitted: str) -> bool:
        try:
            expected = signer.loads(request.cookies.get(LOGIN_CSRF_COOKIE, ""))
        except BadSignature:
            return False
        return bool(submitted) and hmac.compare_digest(str(expected), submitted)

    def refuse(request: Request, status: int, message: str) -> HTMLResponse:
        return page(request, "message.html", status, title="Not allowed", message=message)

    def collector_form(request: Request, who, csrf_token: str, what: str) -> Response | None:
        """Why a collector's own form may not be taken (a response to return), or None."""
        if who is None:
            return RedirectResponse("/login", 303)
        if who[0].role != "collector":
            return refuse(request, 403, f"Only collectors {what}.")
        if not hmac.compare_digest(who[1], csrf_token or ""):
            return refuse(request, 403, "The form expired. Please go back and try again.")
        return None

    @app.get("/healthz")
    def healthz(conn=Depends(db)) -> dict:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return {"status": "ok"}

    @app.get("/")
    def home(who=Depends(current)) -> Response:
        if who is None:
            return RedirectResponse("/login", 303)
        return RedirectResponse("/ops" if who[0].role == "ops" else "/dashboard", 303)

    @app.get("/login")
    def login_page(request: Request) -> HTMLResponse:
        return login_form(request)

    @app.post("/login")
    def login(
        request: Request,
        email: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form(""),
        conn=Depends(db),
    ) -> Response:
        if not login_csrf_ok(request, csrf_token):
            return login_form(request, 403, error="The form expired. Please try again.")
        client = request.client.host if request.client else "unknown"
        result = logins.authenticate(conn, email, password, client, _now())
        if result.account is None:
            conn.commit()  # the failed attempt counts
            status = 429 if result.retry_after_s else 401
            response = login_form(request, status, error=result.message, email=email)
            if result.retry_after_s:
                response.headers["Retry-After"] = str(result.retry_after_s)
            return response
        raw, _ = logins.open_session(conn, result.account, _now())
        target = "/ops" if result.account.role == "ops" else "/dashboard"
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE,
            signer.dumps(raw),
            max_age=int(logins.SESSION_TTL.total_seconds()),
            httponly=True,
            secure=secure(request),
            samesite="lax",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        log.info("login: account %s (%s)", result.account.account_id, result.account.role)
        return response

    @app.post("/logout")
    def logout(
        request: Request, csrf_token: str = Form(""), who=Depends(current), conn=Depends(db)
    ):
        if who is None:
            return RedirectResponse("/login", 303)
        if not hmac.compare_digest(who[1], csrf_token or ""):
            return refuse(request, 403, "The form expired. Please go back and try again.")
        logins.close_session(conn, signer.loads(request.cookies[SESSION_COOKIE]), _now())
        response = RedirectResponse("/login?bye=1", 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    def dashboard_page(
        request: Request, conn, who, collector_id: str, page_no: int, read_only: bool
    ) -> HTMLResponse:
        page_no = max(1, page_no)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT spreadsheet_id FROM collector_dashboards WHERE collector_id = %s",
                (collector_id,),
            )
            row = cur.fetchone()
        sheet_url = (sheets_base + quote(row[0])) if row else None
        boards = build_dashboards(
            conn,
            [collector_id],
            _now(),
            dashboard_urls={collector_id: sheet_url} if sheet_url else None,
            videos_page=((page_no - 1) * PER_PAGE, PER_PAGE),
        )
        board = boards.get(collector_id) or Dashboard(collector_id)
        pages = max(1, -(-board.video_count // PER_PAGE))
        videos = [
            [{"text": _shown(v), "formula": v if str(v).startswith("=") else ""} for v in row]
            for row in board.videos
        ]
        return page(
            request,
            "dashboard.html",
            account=who[0],
            csrf=who[1],
            collector_id=collector_id,
            read_only=read_only,
            videos_header=VIDEOS_HEADER,
            videos=videos,
            payments_header=PAYMENTS_HEADER,
            payments=board.payments,
            summary_header=SUMMARY_HEADER,
            summary=board.summary,
            chart=weekly_chart(_weekly_earnings(board.payments)),
            sheet_url=sheet_url,
            page_no=min(page_no, pages),
            pages=pages,
            video_count=board.video_count,
        )

    @app.get("/dashboard")
    def own_dashboard(request: Request, page: int = 1, who=Depends(current), conn=Depends(db)):
        if who is None:
            return RedirectResponse("/login", 303)
        if who[0].role != "collector":
            return RedirectResponse("/ops", 303)
        return dashboard_page(request, conn, who, who[0].collector_id, page, read_only=False)

    @app.get("/collectors/{collector_id}/dashboard")
    def any_dashboard(
        request: Request, collector_id: str, page: int = 1, who=Depends(current), conn=Depends(db)
    ):
        if who is None:
            return RedirectResponse("/login", 303)
        collector_id = normalize_email(collector_id)
        if who[0].role == "collector":
            if collector_id == who[0].collector_id:
                return RedirectResponse(f"/dashboard?page={max(1, page)}", 303)
            return refuse(request, 404, "There is no such page.")  # never confirm others exist
        return dashboard_page(request, conn, who, collector_id, page, read_only=True)

    @app.get("/ops")
    def ops_home(request: Request, q: str = "", who=Depends(current), conn=Depends(db)):
        if who is None:
            return RedirectResponse("/login", 303)
        if who[0].role != "ops":
            return refuse(request, 404, "There is no such page.")
        with conn.cursor() as cur:
            cur.execute(
                """SELECT c.collector_id, count(v.video_id), p.method IS NOT NULL
                   FROM collectors c LEFT JOIN videos v USING (collector_id)
                   LEFT JOIN payment_profiles p USING (collector_id)
                   WHERE c.collector_id LIKE %s
                   GROUP BY c.collector_id, p.method ORDER BY c.collector_id LIMIT 200""",
                (f"%{normalize_email(q)}%",),
            )
            collectors = cur.fetchall()
        return page(request, "ops.html", account=who[0], csrf=who[1], collectors=collectors, q=q)

    def ops_only(request: Request, who) -> Response | None:
        """Why a finance page may not be shown (a response to return), or None for ops."""
        if who is None:
            return RedirectResponse("/login", 303)
        if who[0].role != "ops":
            return refuse(request, 403, "Only ops accounts read payout reports.")
        return None

    @app.get("/ops/payout-reports")
    def payout_reports(request: Request, who=Depends(current), conn=Depends(db)) -> Response:
        """Every recorded weekly payout report, newest first (read-only, ops only)."""
        if stop := ops_only(request, who):
            return stop
        return page(
            request,
            "payout_reports.html",
            account=who[0],
            csrf=who[1],
            reports=report.stored_reports(conn),
            usd=report.usd,
        )

    @app.get("/ops/payout-reports/{report_id}")
    def payout_report_page(
        request: Request, report_id: str, who=Depends(current), conn=Depends(db)
    ) -> Response:
        """The report's HTML exactly as written, found by id in ``payout_reports`` (never by a
        path from the request), and only while it matches its recorded SHA-256. The CSV is not
        served: it holds whole receivers, which no portal page shows."""
        if stop := ops_only(request, who):
            return stop
        stored = (
            report.stored_report(conn, int(report_id))
            if report_id.isdigit() and len(report_id) < 19
            else None
        )
        if stored is None:
            return refuse(request, 404, "There is no such payout report.")
        try:
            data = report.read_recorded(stored.html_path, stored.html_sha256)
        except report.ReportFileError as exc:
            log.error("payout report %s not served: %s", stored.report_id, exc)
            return page(
                request, "message.html", 409, account=who[0], csrf=who[1],
                title="Report unavailable", message=str(exc),
            )  # fmt: skip
        return Response(
            data,
            media_type="text/html; charset=utf-8",
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                # The page is ours, but served as a record: no script, nothing loaded.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            },
        )

    def profile_page(request: Request, conn, who, status: int = 200, **context) -> HTMLResponse:
        from collector.notify import emails  # noqa: PLC0415

        on_file = logins.payment_profile(conn, who[0].collector_id)
        return page(
            request,
            "profile.html",
            status,
            account=who[0],
            csrf=who[1],
            on_file=on_file,
            digest=emails.digest_subscribed(conn, who[0].collector_id),
            dropbox=links.link_of(conn, who[0].collector_id),
            dropbox_ready=bool(dropbox_app.get("app_key")),
            **context,
        )

    @app.get("/profile")
    def profile(request: Request, who=Depends(current), conn=Depends(db)):
        if who is None:
            return RedirectResponse("/login", 303)
        if who[0].role != "collector":
            return refuse(request, 403, "Only collectors have payment details.")
        return profile_page(request, conn, who)

    @app.post("/profile")
    def change_profile(
        request: Request,
        method: str = Form(""),
        receiver: str = Form(""),
        csrf_token: str = Form(""),
        who=Depends(current),
        conn=Depends(db),
    ):
        if stop := collector_form(request, who, csrf_token, "have payment details"):
            return stop
        try:
            change = logins.change_payment_profile(conn, who[0], method, receiver, _now())
        except ProfileError as exc:
            conn.rollback()
            return profile_page(
                request, conn, who, 400, error=str(exc), method=method, receiver=receiver
            )
        log.info("payment details changed: account %s, %s", who[0].account_id, change.method)
        return profile_page(request, conn, who, saved=change)

    @app.get("/unsubscribe")
    def unsubscribe_page(request: Request, c: str = "", t: str = "") -> HTMLResponse:
        return page(request, "unsubscribe.html", collector=c, token=t)

    @app.post("/unsubscribe")
    def unsubscribe(request: Request, c: str = "", t: str = "", conn=Depends(db)) -> HTMLResponse:
        """One click from the digest (RFC 8058 POSTs to the List-Unsubscribe URL); the token in
        the link is the proof, no login needed. Digests only: account and payment mail stays."""
        from collector.notify import emails  # noqa: PLC0415

        collector = normalize_email(c)
        expected = emails.unsubscribe_token(collector, secret_key)
        if not collector or not hmac.compare_digest(expected, t or ""):
            return refuse(request, 403, "This unsubscribe link is not valid.")
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM collectors WHERE collector_id = %s", (collector,))
            if cur.fetchone() is None:
                return refuse(request, 403, "This unsubscribe link is not valid.")
        emails.set_digest_subscription(conn, collector, False)
        return page(request, "message.html", title="Unsubscribed", message=(
            "You will no longer get the weekly digest. Emails about your account and your "
            "payments still come."
        ))  # fmt: skip

    @app.post("/profile/emails")
    def email_settings(
        request: Request,
        digest: str = Form(""),
        csrf_token: str = Form(""),
        who=Depends(current),
        conn=Depends(db),
    ):
        from collector.notify import emails  # noqa: PLC0415

        if stop := collector_form(request, who, csrf_token, "get collector emails"):
            return stop
        emails.set_digest_subscription(conn, who[0].collector_id, digest == "on")
        return profile_page(request, conn, who)

    @app.post("/dropbox/link")
    def link_dropbox(
        request: Request, csrf_token: str = Form(""), who=Depends(current), conn=Depends(db)
    ) -> Response:
        """Off to Dropbox's page (OAuth 2 code flow, PKCE, offline access)."""
        if stop := collector_form(request, who, csrf_token, "link a Dropbox"):
            return stop
        try:
            target = links.start_link(
                conn, TokenVault(vault_keys), who[0].collector_id, dropbox_app,
                dropbox_callback, _now(),
            )  # fmt: skip
        except links.LinkError as exc:
            return profile_page(request, conn, who, 400, dropbox_error=str(exc))
        return RedirectResponse(target, 303)

    @app.get("/dropbox/callback")
    def dropbox_callback_page(
        request: Request,
        code: str = "",
        state: str = "",
        error: str = "",
        who=Depends(current),
        conn=Depends(db),
    ) -> Response:
        """Dropbox sends the collector back here with a code (or ``error=access_denied``)."""
        if who is None:
            return RedirectResponse("/login", 303)
        if who[0].role != "collector":
            return refuse(request, 403, "Only collectors link a Dropbox.")
        if error or not code:
            links.abandon_link(conn, who[0].collector_id, state, _now())
            message = (
                "You did not allow the link on Dropbox, so nothing changed."
                if error == "access_denied"
                else "Dropbox did not complete the link; please start again."
            )
            response = profile_page(request, conn, who, 400, dropbox_error=message)
        else:
            try:
                link = links.finish_link(
                    conn, TokenVault(vault_keys), who[0].collector_id, code, state,
                    dropbox_app, dropbox_callback, _now(),
                )  # fmt: skip
            except links.LinkError as exc:
                response = profile_page(request, conn, who, 400, dropbox_error=str(exc))
            else:
                log.info("Dropbox linked: account %s", who[0].account_id)
                response = profile_page(request, conn, who, dropbox_saved=link)
        response.headers["Referrer-Policy"] = "no-referrer"  # the code and state are in this URL
        return response

    @app.post("/dropbox/unlink")
    def unlink_dropbox(
        request: Request, csrf_token: str = Form(""), who=Depends(current), conn=Depends(db)
    ) -> Response:
        if stop := collector_form(request, who, csrf_token, "link a Dropbox"):
            return stop
        removed = links.unlink(conn, TokenVault(vault_keys), who[0].collector_id, dropbox_app)
        log.info("Dropbox unlinked: account %s (%s)", who[0].account_id, removed)
        return profile_page(request, conn, who, dropbox_unlinked=removed)

    @app.get("/set-password")
    def set_password_page(request: Request, token: str = "") -> HTMLResponse:
        response = sessionless_form(request, "set_password.html", token=token)
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this URL
        return response

    @app.post("/set-password")
    def set_password(
        request: Request,
        token: str = Form(""),
        password: str = Form(""),
        confirm: str = Form(""),
        csrf_token: str = Form(""),
        conn=Depends(db),
    ) -> Response:
        if not login_csrf_ok(request, csrf_token):
            return refuse(request, 403, "The form expired. Open the link again.")
        if password != confirm:
            return page(
                request, "set_password.html", 400, token=token, csrf=csrf_token,
                error="The two passwords are not the same.",
            )  # fmt: skip
        try:
            logins.use_link(conn, token, password, _now())
        except logins.AccountError as exc:
            conn.rollback()
            return page(
                request, "set_password.html", 400, token=token, csrf=csrf_token, error=str(exc)
            )
        return login_form(request, info="Your password is set. You can log in now.")

    @app.get("/reset")
    def reset_page(request: Request) -> HTMLResponse:
        return sessionless_form(request, "reset.html")

    @app.post("/reset")
    def request_reset(
        request: Request, email: str = Form(""), csrf_token: str = Form(""), conn=Depends(db)
    ) -> HTMLResponse:
        """The same answer whether or not the email has an account; the link itself is made and
        mailed by the notifications pipeline (only its hash is ever stored)."""
        if not login_csrf_ok(request, csrf_token):
            return refuse(request, 403, "The form expired. Please try again.")
        logins.request_reset(conn, email, _now())
        return page(request, "message.html", title="Check your email", message=(
            "If an account exists for that address, a link to choose a new password is on its "
            "way. It works once, for two hours."
        ))  # fmt: skip

    return app


def _weekly_earnings(payments: list[list]) -> list[list]:
    """One bar per week: expected plus sent, leaving out failed and returned money."""
    by_week: dict[str, Decimal] = {}
    for week, _, amount, _, status, _ in payments:
        if str(status).startswith(("failed", "returned")):
            continue
        by_week[week] = by_week.get(week, Decimal(0)) + Decimal(str(amount).lstrip("$"))
    return [[w, "", f"${a:.2f}"] for w, a in sorted(by_week.items(), reverse=True)]
