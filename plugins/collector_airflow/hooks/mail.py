"""Email through Airflow's SMTP provider (connection ``smtp_default``).

``SmtpHook.send_email_smtp`` builds HTML-only ``multipart/mixed`` messages; collectors' mail
needs a plain-text alternative and headers such as ``List-Unsubscribe``. This hook keeps the
provider's connection handling (SSL/TLS switches, login, retries to connect) and sends a
prepared ``EmailMessage`` on the open connection, so a batch shares one SMTP session.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from airflow.providers.smtp.hooks.smtp import SmtpHook


class CollectorMailHook(SmtpHook):
    """Use as a context manager: ``with CollectorMailHook() as mail: mail.send(...)``."""

    def build(
        self,
        to: str,
        subject: str,
        html: str,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.from_email or "collector@visym.com"
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="collector.visym.com")
        for key, value in (headers or {}).items():
            message[key] = value
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    def send(self, message: EmailMessage) -> None:
        if self._smtp_client is None:
            raise RuntimeError("CollectorMailHook must be used as a context manager")
        self._smtp_client.send_message(message)
