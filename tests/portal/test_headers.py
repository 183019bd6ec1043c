"""Issue 21, finding 4, through the portal as its own uvicorn process: every answer of every
route (found by walking the app's routes), for a visitor, a collector and ops, and the error
pages (404, 405, 400, 413), carries the security headers: a CSP without script or inline
style and with frame-ancestors 'none', X-Frame-Options DENY, nosniff, a Referrer-Policy, and
Cache-Control: no-store on everything but the stylesheet; and no page holds inline script or
style that the CSP would block."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from portal_client import SECRET, csrf_token, http_client, invite, login, set_password
from starlette.routing import Mount

SAMPLE = {"collector_id": "ann@example.com", "report_id": "1"}


def check(answer, static: bool = False) -> None:
    where = f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}"
    headers = answer.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives.get("default-src") == "'none'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert "script-src" not in directives, where  # default-src 'none': no script at all
    assert directives.get("base-uri") == "'none'", where
    if "style-src" in directives and "unsafe-inline" in directives["style-src"]:
        assert answer.request.url.path.startswith("/ops/payout-reports/"), where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    if static:
        assert "no-store" not in headers.get("Cache-Control", ""), where
    else:
        assert headers.get("Cache-Control") == "no-store", where
    if headers.get("content-type", "").startswith("text/html"):
        body = answer.text
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", body, re.I), where


def member(url: str, warehouse, email: str, role: str = "collector"):
    client = http_client(url)
    set_password(client, invite(warehouse, email, role))
    assert login(client, email).status_code == 303
    return client


def test_every_route_answers_with_the_security_headers(live_portal, warehouse, warehouse_url):
    from portal.app import create_app

    app = create_app(warehouse_url, SECRET)
    visitor = http_client(live_portal)
    ann = member(live_portal, warehouse, "ann@example.com")
    ops = member(live_portal, warehouse, "ops@example.com", "ops")
    seen = set()
    for route in app.routes:
        if isinstance(route, Mount):
            check(visitor.get(f"{route.path}/portal.css"), static=True)
            seen.add(route.path)
            continue
        if not isinstance(route, APIRoute):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], route.path)
        for method in route.methods:
            for client in (visitor, ann, ops):
                if method == "GET":
                    answer = client.get(path, follow_redirects=False)
                else:
                    form = client.get("/profile" if client is ann else "/login").text
                    token = csrf_token(form) if "csrf_token" in form else ""
                    if path == "/logout":
                        continue  # would end the session the other routes need; below
                    answer = client.post(path, data={"csrf_token": token}, follow_redirects=False)
                assert answer.status_code < 500, (method, path, answer.status_code)
                check(answer)
            seen.add(route.path)
    assert {"/login", "/profile", "/dashboard", "/ops", "/ops/payout-reports"} <= seen
    assert len(seen) >= 15
    # The error pages, and the logout last.
    check(visitor.get("/no/such/page"))
    check(visitor.get("/logout"))  # 405
    check(visitor.get("/dashboard?page=0"))  # 400
    check(visitor.post("/login", content=b"x" * 70_000))  # 413
    check(ann.post("/logout", data={"csrf_token": csrf_token(ann.get("/profile").text)}))


def test_nothing_extra_is_served_or_said(live_portal):
    """No API documents, no directory listing, no server banner, no CORS; HTML says its
    charset (ASVS 14.3.3, 14.4.1, 14.5.3, 4.3.2)."""
    visitor = http_client(live_portal)
    for path in ("/docs", "/redoc", "/openapi.json", "/static/", "/static", "/.git/config"):
        assert visitor.get(path, follow_redirects=True).status_code == 404, path
    page = visitor.get("/login", headers={"Origin": "https://evil.example"})
    assert "server" not in page.headers
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert not any(name.startswith("access-control-") for name in page.headers)


def test_the_payment_details_page_is_never_stored_or_framed(live_portal, warehouse):
    """The issue's case: Profile (payment details) without no-store, and the one-click forms
    (Unlink, unsubscribe) could be framed."""
    ann = member(live_portal, warehouse, "ann@example.com")
    page = ann.get("/profile")
    assert page.status_code == 200 and "Payment details" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    unsubscribe = http_client(live_portal).get("/unsubscribe?c=ann@example.com&t=x")
    assert unsubscribe.headers["X-Frame-Options"] == "DENY"
