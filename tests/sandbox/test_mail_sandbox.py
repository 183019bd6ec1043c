"""The SMTP sandbox is as strict about internationalized mail as a real server (RFC 6531/6532),
never kinder, and its SMTPUTF8 switch makes it a relay without the extension. Driven with
Python's smtplib at the protocol level, so what is asserted is what goes over the wire."""

from __future__ import annotations

import smtplib

import pytest

MESSAGE = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"


@pytest.fixture
def smtp(sandbox_admin, sandbox_smtp_port):
    sandbox_admin("mail/reset", {})
    opened: list[smtplib.SMTP] = []

    def connect() -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", sandbox_smtp_port, timeout=10)
        client.ehlo()
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()
    sandbox_admin("mail/reset", {})


def _utf8_command(client: smtplib.SMTP, line: str) -> tuple[int, bytes]:
    client.command_encoding = "utf-8"  # what a careless client would put on the wire
    return client.docmd(line)


def test_a_non_ascii_address_needs_smtputf8_declared_else_553_5_6_7(smtp, sandbox_admin):
    client = smtp()
    assert client.has_extn("smtputf8")
    assert client.docmd("MAIL FROM:<a@example.com>")[0] == 250
    code, text = _utf8_command(client, "RCPT TO:<josé.núñez@example.com>")
    assert (code, text[:5]) == (553, b"5.6.7")
    client.rset()
    code, text = _utf8_command(client, "MAIL FROM:<josé@example.com>")
    assert (code, text[:5]) == (553, b"5.6.7")
    assert sandbox_admin("mail/messages")["messages"] == []
    # Declared, the address and a UTF-8 header arrive as they are.
    client.rset()
    raw = MESSAGE.replace(b"To: b@example.com", "To: josé.núñez@example.com".encode())
    client.sendmail("a@example.com", ["josé.núñez@example.com"], raw, mail_options=["SMTPUTF8"])
    [message] = sandbox_admin("mail/messages")["messages"]
    assert message["to"] == "josé.núñez@example.com"


def test_non_ascii_headers_without_smtputf8_are_refused(smtp, sandbox_admin):
    client = smtp()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("a@example.com", ["b@example.com"], MESSAGE.replace(b"hi", "olá".encode()))
    assert refused.value.smtp_code == 554 and b"5.6.7" in refused.value.smtp_error
    assert sandbox_admin("mail/messages")["messages"] == []


def test_the_switch_turns_smtputf8_off_for_new_sessions(smtp, sandbox_admin):
    assert sandbox_admin("mail/smtputf8", {"enabled": False}) == {"smtputf8": False}
    client = smtp()
    assert not client.has_extn("smtputf8")
    with pytest.raises(smtplib.SMTPNotSupportedError):  # smtplib checks the EHLO answer
        client.sendmail("a@example.com", ["josé@example.com"], MESSAGE, mail_options=["SMTPUTF8"])
    assert client.docmd("MAIL FROM:<a@example.com> SMTPUTF8")[0] == 501
    client.rset()
    assert client.docmd("MAIL FROM:<a@example.com>")[0] == 250
    assert _utf8_command(client, "RCPT TO:<josé@example.com>")[0] == 500  # strict ASCII
    client.rset()
    client.sendmail("a@example.com", ["b@example.com"], MESSAGE)  # ASCII mail still goes
    assert len(sandbox_admin("mail/messages")["messages"]) == 1
    sandbox_admin("mail/reset", {})  # a reset turns it back on
    assert smtp().has_extn("smtputf8")
    with pytest.raises(Exception, match="422"):
        sandbox_admin("mail/smtputf8", {"enabled": "no"})
