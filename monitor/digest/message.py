"""Build the digest email: one multipart/alternative message (text, then HTML).

Headers mark the mail as automatic bulk mail so auto-responders stay quiet
(``Auto-Submitted``, ``Precedence``, ``X-Auto-Response-Suppress``) and list
filters can sort it (``List-Id``). No feed text ever goes into a header.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid

from monitor.config import DigestConfig
from monitor.digest.model import Digest
from monitor.digest.render import render_html, render_text


def footer_for(digest: Digest, *, to: Sequence[str], rules: Collection[str] = ()) -> str:
    """Why these recipients get this mail, and what it covers."""
    who = ", ".join(to)
    scope = f"for the rules {', '.join(sorted(rules))}" if rules else "for all rules"
    return (
        f"You receive this daily digest because {who} is on the media monitor's digest list "
        f"{scope}. It covers stories matched from {digest.period_start.astimezone(digest.zone):%d %b %Y %H:%M} "
        f"to {digest.period_end.astimezone(digest.zone):%d %b %Y %H:%M} ({digest.timezone}). "
        "To change what you receive, ask whoever runs the monitor to edit the [digest] settings."
    )


def build_message(
    digest: Digest,
    config: DigestConfig,
    *,
    to: Sequence[str],
    now: datetime,
    domain: str,
    rules: Collection[str] = (),
) -> EmailMessage:
    """The digest for ``to`` as an ``EmailMessage`` ready for ``SmtpSender.send``.

    ``digest`` should already be restricted to the audience's rules
    (``digest.only(rules)``); ``rules`` only words the footer. ``now`` must be
    timezone-aware; it becomes the Date header. ``domain`` is the right-hand
    side of the Message-ID. Raises ValueError for an empty ``to`` or a naive
    ``now``.
    """
    if not to:
        raise ValueError("digest: a message needs at least one recipient")
    if now.tzinfo is None:
        raise ValueError("digest: now must be timezone-aware")
    footer = footer_for(digest, to=to, rules=rules)
    msg = EmailMessage(policy=default_policy)
    msg["Subject"] = config.format_subject(date=digest.day.isoformat(), count=digest.total_stories)
    msg["From"] = config.sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(idstring=f"digest.{digest.day.isoformat()}", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["List-Id"] = f"Media monitor digest <{config.list_id}>"
    msg.set_content(render_text(digest, footer=footer), subtype="plain", charset="utf-8")
    msg.add_alternative(render_html(digest, footer=footer), subtype="html", charset="utf-8")
    return msg
