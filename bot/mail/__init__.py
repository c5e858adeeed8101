"""Sending mail over SMTP (aiosmtplib), with failures reported by stage."""

from bot.mail.smtp import Mailer, SmtpAccount, SmtpConnection

__all__ = ["Mailer", "SmtpAccount", "SmtpConnection"]
