"""A Dropbox user of the sandbox, as their browser would act: open the authorize page the app
sent them to, type their email, click Allow, and follow the redirect back to the app.

For the demo, tests and benchmarks, which link accounts through the project's own OAuth code
(the portal's start and callback) without a browser. The browser test clicks the real page.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests


class _AuthorizeForm(HTMLParser):
    """Where the authorize page's form posts, and its hidden fields (the request's params)."""

    def __init__(self, text: str):
        super().__init__()
        self.action, self.hidden = "", {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action") or ""
        if tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value") or ""


def allow(authorize_url: str, email: str, http=requests, timeout: float = 30) -> dict[str, str]:
    """Allow the app as ``email``; the query the app's callback gets (``code``, ``state``)."""
    form = _AuthorizeForm(http.get(authorize_url, timeout=timeout).text)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
    answer = http.post(
        origin + form.action,
        data={**form.hidden, "email": email, "decision": "allow"},
        allow_redirects=False,
        timeout=timeout,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"the authorize page answered {answer.status_code}: {answer.text[:200]}")
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return {name: values[0] for name, values in query.items()}
