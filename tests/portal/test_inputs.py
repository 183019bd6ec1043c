"""Issue 21, finding 7, through the portal as its own uvicorn process: every value a route takes
(form fields, query and path parameters, found by walking the app's routes) is bounded; too
long, a control character or not a number answers 400 with a sentence naming it, never 500.
The issue's case: a login with a 5 KB email answered 500 (the attempt's row could not be
indexed: a btree entry holds at most ~2.7 KB)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

import pytest
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute
from portal_client import SECRET, csrf_token, http_client, invite, login, set_password

from portal.security import FIELD_NAMES


def test_a_login_with_a_5_kb_email_answers_400_with_a_sentence(live_portal):
    client = http_client(live_portal)
    # Random letters: PostgreSQL compresses "aaaa..." enough to index it; not these.
    answer = login(client, secrets.token_urlsafe(3750) + "@example.com", "whatever it is")
    assert answer.status_code == 400
    assert "The email is too long: at most 254 characters." in answer.text
    assert "Nothing was changed" in answer.text


def every_value(app) -> list[tuple[str, str, str, str, bool]]:
    """(method, path, where, name, is a number) for every value any route takes."""
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        flat = get_flat_dependant(route.dependant)
        for where, params in (
            ("form", flat.body_params),
            ("query", flat.query_params),
            ("path", flat.path_params),
        ):
            for param in params:
                number = param.field_info.annotation is int
                for method in sorted(route.methods):
                    found.append((method, route.path, where, param.alias, number))
    return found


@pytest.fixture
def ann(live_portal, warehouse):
    """Ann logged in over HTTP, and the CSRF token of her forms."""
    client = http_client(live_portal)
    set_password(client, invite(warehouse, "ann@example.com"))
    assert login(client, "ann@example.com").status_code == 303
    return client, csrf_token(client.get("/profile").text)


@pytest.mark.parametrize(
    ("text", "number", "said"),
    [
        ("x" * 5000, "9" * 5000, "too long"),
        ("a\x00b", "1\x00", "not allowed"),
        ("\x1b[0m", "-1", "not allowed"),
    ],
    ids=["5000 characters", "NUL", "escape, negative"],
)
def test_every_value_of_every_route_is_bounded_with_a_sentence(
    warehouse_url, ann, text, number, said
):
    from portal.app import create_app

    client, csrf = ann
    values = every_value(create_app(warehouse_url, SECRET))
    assert {name for *_, name, _ in values} <= set(FIELD_NAMES)  # each has a name on the page
    assert len(values) >= 20
    for method, path, where, name, is_number in values:
        bad = number if is_number else text
        url = path.replace("{" + name + "}", quote(bad, safe="")) if where == "path" else path
        form = {"csrf_token": csrf} | ({name: bad} if where == "form" else {})
        params = {name: bad} if where == "query" else {}
        if method == "GET":
            answer = client.get(url, params=params, follow_redirects=False)
        else:
            answer = client.post(url, params=params, data=form, follow_redirects=False)
        assert answer.status_code == 400, (method, path, name, answer.status_code)
        expected = "is not valid" if is_number else f"(is|contains) .*({said})"
        assert re.search(f"The {FIELD_NAMES[name]} {expected}", answer.text), (
            method,
            path,
            name,
            answer.text[-300:],
        )
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"


def test_sql_and_markup_in_values_are_only_data(live_portal, warehouse):
    """ASVS 5.3.3, 5.3.4: quotes, SQL and markup typed into the forms change nothing and come
    back escaped."""
    client = http_client(live_portal)
    set_password(client, invite(warehouse, "ann@example.com"))
    for email in ("ann@example.com' OR '1'='1", "ann@example.com'--", "<script>x</script>@a.b"):
        answer = login(client, email)
        assert answer.status_code == 401, email
        assert "<script>x" not in answer.text
    ops = http_client(live_portal)
    set_password(ops, invite(warehouse, "ops@example.com", "ops"))
    assert login(ops, "ops@example.com").status_code == 303
    listing = ops.get("/ops", params={"q": "%' OR '1'='1"})
    assert listing.status_code == 200 and "ann@example.com" not in listing.text


def test_a_body_over_64_kb_answers_413_before_it_is_read(live_portal):
    client = http_client(live_portal)
    big = client.post("/login", data={"email": "a@b.c", "password": "x" * 70_000})
    assert big.status_code == 413 and "larger than any form of this portal takes" in big.text

    def chunks():
        for _ in range(100):
            yield b"password=" + b"x" * 1000

    streamed = client.post(
        "/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413
