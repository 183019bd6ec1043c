"""Email through Airflow's SMTP provider (connection ``smtp_default``).

``SmtpHook.send_email_smtp`` builds HTML-only ``multipart/mixed`` messages; collectors' mail
needs a plain-text alternative and headers such as ``List-Unsubscribe``. This hook keeps the
provider's connection handling (SSL/TLS switches, login, retries to connect) and sends prepared
messages on the open connection, so a batch shares one SMTP session.

A server that cannot be reached, refuses our login, or drops the session raises
:class:`MailUnavailable`: one sentence naming the connection, the server, what happened and the
next step (service_errors.py). What concerns one message only passes unchanged
(:data:`MESSAGE_REFUSALS`): the server's clear refusals (``SMTPRecipientsRefused``,
``SMTPSenderRefused``, ``SMTPDataError``), a server without SMTPUTF8 for an internationalized
address (``SMTPNotSupportedError``) and a message that cannot be written at all
(:class:`UnsendableMessage`); the outbox marks that message failed and goes on with the rest.

Internationalized addresses (``josé.núñez@example.com``, RFC 6531/6532): such a message is built
with ``email.policy.SMTPUTF8`` (the address stays UTF-8 in ``To``; compat32 would write it as an
RFC 2047 encoded word, which is not an address) and sent with ``MAIL FROM:<...> SMTPUTF8`` when
the server offers the extension; when it does not, nothing is sent and
``SMTPNotSupportedError`` says why. Python's ``smtplib.sendmail`` alone encodes the envelope as
ASCII and raises ``UnicodeEncodeError``; ``send_message`` adds SMTPUTF8 by itself but not for a
compat32 message (whose policy has no ``utf8``).
"""

from __future__ import annotations

import email.errors
import email.policy
import smtplib
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook

from collector_airflow.hooks.service_errors import (
    ExternalServiceError,
    connection_test_crash,
    transport_status,
)


class UnsendableMessage(ValueError):
    """A message that cannot be written as SMTP data (e.g. an address that is no address)."""


# About one message, not the session: the caller marks it failed and goes on with the rest.
MESSAGE_REFUSALS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,  # an internationalized address, a server without SMTPUTF8
    UnsendableMessage,
)


def is_ascii(*addresses: str) -> bool:
    """Whether every address can go in a plain (not SMTPUTF8) envelope and header."""
    return all(address.isascii() for address in addresses)


class MailUnavailable(ExternalServiceError):
    """The SMTP server could not be reached, refused our login, or dropped the session."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(service="Email (SMTP)", **fields)


class CollectorMailHook(SmtpHook):
    """Use as a context manager: ``with CollectorMailHook() as mail: mail.send(...)``.

    Raises :class:`MailUnavailable` when the server cannot be used at all (see the module)."""

    def _server(self) -> str:
        if getattr(self, "smtp_connection", None) is None:
            return "smtp://?"
        port = self.port or (465 if self.use_ssl else 25)
        return f"smtp://{self.host}:{port}"

    def _unavailable(self, action: str, error: BaseException) -> MailUnavailable:
        conn = getattr(self, "smtp_connection", None)
        if isinstance(error, smtplib.SMTPAuthenticationError):
            status = f"login refused (SMTP {error.smtp_code})"
            step = (
                f"update the login and password of the connection `{self.smtp_conn_id}` "
                "(Admin → Connections): the mail account's password was changed or revoked"
            )
        else:
            status = transport_status(error)
            if isinstance(error, smtplib.SMTPResponseException):
                status = f"SMTP {error.smtp_code}"
            step = (
                f"check that the mail server {self._server().removeprefix('smtp://')} is up and "
                f"the connection `{self.smtp_conn_id}` (host, port, SSL/TLS extras; Admin → "
                "Connections); queued emails go out on the next send"
            )
        return MailUnavailable(
            conn_id=self.smtp_conn_id,
            endpoint=f"{action} {self._server()}",
            status=status,
            next_step=step,
            secrets=[getattr(conn, "password", None)],
        )

    def get_conn(self) -> CollectorMailHook:
        from airflow.providers.common.compat.sdk import AirflowException  # noqa: PLC0415

        try:
            return super().get_conn()  # type: ignore[return-value]
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS, login
            self._smtp_client = None
            raise self._unavailable("CONNECT", exc) from exc
        except AirflowException as exc:  # "Unable to connect to smtp server" after retries
            if getattr(self, "smtp_connection", None) is None:
                raise  # no such connection: Airflow's own message says so
            self._smtp_client = None
            raise self._unavailable("CONNECT", exc) from exc

    def build(
        self,
        to: str,
        subject: str,
        html: str,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> MIMEMultipart:
        """A ``multipart/alternative`` (text, then HTML) to ``to``; raises
        :class:`UnsendableMessage` when a header cannot be written."""
        sender = self.from_email or "collector@visym.com"
        # email.mime (compat32) rather than EmailMessage: the modern policy re-parses and folds
        # every header, which measured at ~3 ms a message (bench/notifications.py). Only a
        # message to or from a non-ASCII address pays that (RFC 6532 headers need it).
        policy = email.policy.compat32 if is_ascii(sender, to) else email.policy.SMTPUTF8
        try:
            message = MIMEMultipart("alternative", policy=policy)
            message["From"] = sender
            message["To"] = to
            message["Subject"] = subject
            message["Date"] = formatdate(localtime=False)
            message["Message-ID"] = make_msgid(domain="collector.visym.com")
            for key, value in (headers or {}).items():
                message[key] = value
        except (ValueError, email.errors.MessageError) as exc:
            raise UnsendableMessage(f"cannot write the message to {to!r}: {exc}") from exc
        message.attach(MIMEText(text, "plain", "utf-8", policy=policy))
        message.attach(MIMEText(html, "html", "utf-8", policy=policy))
        return message

    def send(self, message: MIMEMultipart, recipients: list[str] | None = None) -> None:
        """Send a built message to ``recipients`` (default: its one ``To`` address).

        Raises one of :data:`MESSAGE_REFUSALS` for this message alone (nothing was delivered;
        the session stays usable) and :class:`MailUnavailable` when the session is lost."""
        client = self._smtp_client
        if client is None:
            raise RuntimeError("CollectorMailHook must be used as a context manager")
        sender = str(message["From"])
        recipients = recipients or [str(message["To"])]
        try:
            if is_ascii(sender, *recipients):
                client.sendmail(sender, recipients, message.as_string())
                return
            client.ehlo_or_helo_if_needed()
            if not client.has_extn("smtputf8"):  # checked first: nothing goes on the wire
                raise smtplib.SMTPNotSupportedError(
                    f"the mail server {self._server().removeprefix('smtp://')} does not offer "
                    "SMTPUTF8, which a non-ASCII address needs (RFC 6531); nothing was sent"
                )
            try:
                data = message.as_bytes(policy=email.policy.SMTPUTF8)
            except (ValueError, email.errors.MessageError) as exc:
                raise UnsendableMessage(f"cannot write the message: {exc}") from exc
            options = ["SMTPUTF8"] + (["BODY=8BITMIME"] if client.has_extn("8bitmime") else [])
            client.sendmail(sender, recipients, data, mail_options=options)
        except MESSAGE_REFUSALS:
            raise
        except (OSError, smtplib.SMTPException) as exc:  # the session dropped mid-send
            raise self._unavailable("SEND", exc) from exc

    def test_connection(self) -> tuple[bool, str]:
        """Preflight (``collector doctor``): connect, EHLO, STARTTLS when configured, AUTH with
        the connection's login when it has one (Airflow's ``get_conn``), then NOOP. Sends
        nothing; the password never appears in the answer."""
        try:
            self.get_conn()
            client = self._smtp_client
            code = client.noop()[0] if client is not None else 0
        except MailUnavailable as err:
            return False, self._test_failure(err)
        except Exception as exc:  # no such connection, a malformed field
            secrets = [getattr(getattr(self, "smtp_connection", None), "password", None)]
            return False, connection_test_crash("Email (SMTP)", exc, secrets)
        finally:
            if self._smtp_client is not None:
                self.__exit__(None, None, None)
        if code != 250:
            return False, f"{self._server()} answered NOOP with {code}; check the mail server"
        tls = "STARTTLS, " if self.smtp_starttls else ("SSL, " if self.use_ssl else "no TLS, ")
        who = f"logged in as {self.smtp_user}" if self.smtp_user else "no login set (no AUTH)"
        return True, f"{self._server()} answered ({tls}{who}); nothing was sent"

    def _test_failure(self, err: MailUnavailable) -> str:
        cause = err.__cause__
        server = self._server().removeprefix("smtp://")
        if isinstance(cause, smtplib.SMTPAuthenticationError):
            return (
                f"{server} refused the login {self.smtp_user!r} ({err.status}); set the login "
                "and password of the connection (the mail account's SMTP password)"
            )
        if isinstance(cause, smtplib.SMTPNotSupportedError):
            return (
                f"{server} offers no AUTH{' after STARTTLS' if self.smtp_starttls else ''}, "
                "but the connection has a login; set the port and TLS extras of the mail "
                "account's submission service (587 with STARTTLS, or 465 with SSL)"
            )
        return f"{err.status} at {server}; set the host, port and SSL/TLS extras of the connection"
