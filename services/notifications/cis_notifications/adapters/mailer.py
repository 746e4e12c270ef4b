"""Sending email through the District's SMTP relay (CIS_SMTP_HOST / CIS_SMTP_PORT)."""
import smtplib
from email.message import EmailMessage

from cis_runtime import config


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 30):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    @classmethod
    def from_config(cls) -> "SmtpMailer":
        host, port = config.smtp_address()
        return cls(host, port, config.env("CIS_MAIL_FROM", "customer.service@water-district.example"))

    @property
    def domain(self) -> str:
        """The District's mail domain, the right-hand side of every Message-ID (CIS_MAIL_DOMAIN, else the
        sender's domain)."""
        return config.env("CIS_MAIL_DOMAIN", self.sender.rpartition("@")[2] or "water-district.example")

    def send(self, recipient: str, subject: str, body: str, message_id: str | None = None) -> None:
        """Hand the message to the relay; raises smtplib.SMTPException or OSError if it is not accepted.
        `message_id` (RFC 5322, with angle brackets) is the fact's stable id: the same on a resend."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, recipient, subject
        if message_id:
            message["Message-ID"] = message_id
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def address_refused(error: Exception) -> bool:
    """True when the relay refused the recipient for good (a 5xx to RCPT TO, or to the message itself):
    trying again cannot help, so the address is not working. A 4xx, a lost connection or a refused sender
    is the relay's trouble, not the customer's address: those are retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500
