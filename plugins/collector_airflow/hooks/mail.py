"""Email through Airflow's SMTP provider (connection ``smtp_default``).

``SmtpHook.send_email_smtp`` builds HTML-only ``multipart/mixed`` messages; collectors' mail
needs a plain-text alternative and headers such as ``List-Unsubscribe``. This hook keeps the
provider's connection handling (SSL/TLS switches, login, retries to connect) and sends prepared
messages on the open connection, so a batch shares one SMTP session.

A server that cannot be reached, refuses our login, or drops the session raises
:class:`MailUnavailable`: one sentence naming the connection, the server, what happened and the
next step (service_errors.py). The server's clear refusals of one message
(``SMTPRecipientsRefused``, ``SMTPSenderRefused``, ``SMTPDataError``) pass unchanged: the
outbox marks that message failed and retries it.
"""

from __future__ import annotations

import smtplib
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook

from collector_airflow.hooks.service_errors import ExternalServiceError, transport_status

# The server answered about one message: the caller decides (mark failed, retry next run).
MESSAGE_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


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
        # email.mime (compat32) rather than EmailMessage: the modern policy re-parses and folds
        # every header, which measured at ~3 ms a message (bench/notifications.py).
        message = MIMEMultipart("alternative")
        message["From"] = self.from_email or "collector@visym.com"
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="collector.visym.com")
        for key, value in (headers or {}).items():
            message[key] = value
        message.attach(MIMEText(text, "plain", "utf-8"))
        message.attach(MIMEText(html, "html", "utf-8"))
        return message

    def send(self, message: MIMEMultipart, recipients: list[str] | None = None) -> None:
        """Send a built message to ``recipients`` (default: its one ``To`` address)."""
        if self._smtp_client is None:
            raise RuntimeError("CollectorMailHook must be used as a context manager")
        try:
            self._smtp_client.sendmail(
                message["From"], recipients or [message["To"]], message.as_string()
            )
        except MESSAGE_REFUSALS:
            raise
        except (OSError, smtplib.SMTPException) as exc:  # the session dropped mid-send
            raise self._unavailable("SEND", exc) from exc
