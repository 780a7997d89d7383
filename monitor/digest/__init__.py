"""The daily digest email: from a list of entries to a message accepted by SMTP.

    model    DigestEntry, DigestSection, Digest, build_digest   (plain data)
    config   DigestConfig, Audience, parse_digest_config        (the [digest] table)
    render   render_text, render_html, highlight                (Jinja2, autoescaped, CSS inlined)
    message  build_message                                      (multipart/alternative EmailMessage)
    smtp     SmtpSettings, SmtpSender                           (smtplib, typed DeliveryError)

Gathering entries from the database, claiming a day, and scheduling live above
this package.
"""

from monitor.config.digest import Audience, DigestConfig, parse_digest_config
from monitor.digest.message import build_message
from monitor.digest.model import Digest, DigestEntry, DigestSection, build_digest
from monitor.digest.render import highlight, render_html, render_text
from monitor.digest.smtp import SmtpSender, SmtpSettings

__all__ = [
    "Audience",
    "Digest",
    "DigestConfig",
    "DigestEntry",
    "DigestSection",
    "SmtpSender",
    "SmtpSettings",
    "build_digest",
    "build_message",
    "highlight",
    "parse_digest_config",
    "render_html",
    "render_text",
]
