"""The daily digest email: from a list of entries to a message accepted by SMTP.

    model    DigestEntry, DigestSection, Digest, build_digest   (plain data)
    render   render_text, render_html, highlight                (Jinja2, autoescaped, CSS inlined)
    message  build_message                                      (multipart/alternative EmailMessage)
    smtp     SmtpSettings, SmtpSender                           (smtplib, typed DeliveryError)
    runner   DigestRunner, scheduled_at                         (gather from the database, claim a day, send once)

The ``[digest]`` table is parsed in ``monitor.config``.
"""

from monitor.digest.message import build_message
from monitor.digest.model import Digest, DigestEntry, DigestSection, build_digest
from monitor.digest.render import highlight, render_html, render_text
from monitor.digest.runner import DigestRunner, scheduled_at
from monitor.digest.smtp import SmtpSender, SmtpSettings

__all__ = [
    "Digest",
    "DigestEntry",
    "DigestRunner",
    "DigestSection",
    "SmtpSender",
    "SmtpSettings",
    "build_digest",
    "build_message",
    "highlight",
    "render_html",
    "render_text",
    "scheduled_at",
]
