"""The failure sentence itself: one line, no secret, no query string, picklable."""

from __future__ import annotations

import pickle

from collector_airflow.hooks.service_errors import ExternalServiceError, endpoint, safe_url


def test_secrets_the_hook_knows_are_replaced_wherever_they_appear():
    error = ExternalServiceError(
        service="Partner",
        conn_id="partner_default",
        endpoint="POST https://api.example.com/v1/token-tk_live_51Hx",
        status="refused client tk_live_51Hx\nwith\tsecret pw-123456",
        next_step="rotate pw-123456",
        secrets=["tk_live_51Hx", "pw-123456", None, ""],
    )
    text = str(error)
    assert "tk_live_51Hx" not in text and "pw-123456" not in text and "***" in text
    assert "\n" not in text and "\t" not in text
    assert text.startswith("Partner call POST https://api.example.com/v1/token-*** ")
    assert "(connection `partner_default`) failed: refused client *** with secret ***." in text
    assert text.endswith("Next step: rotate ***.")  # no task running: no retry plan


def test_urls_lose_user_info_query_and_fragment():
    assert safe_url("https://bob:pw@host:8443/a/b?key=SECRET&x=1#frag") == "https://host:8443/a/b"
    assert endpoint("get", "http://h/p?access_token=abc") == "GET http://h/p"


def test_the_sentence_survives_pickling():
    error = ExternalServiceError(
        service="S", conn_id="c", endpoint="GET http://h/p", status="HTTP 503", next_step="wait"
    )
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.conn_id == "c"
