"""Masking of secrets wherever text could be printed or logged.

Two tools:

- ``mask(text, secrets)`` replaces every given secret in ``text`` (and, by
  default, anything shaped like a Slack token, a Slack incoming-webhook URL
  on one of Slack's hosts, a bearer token or a password in a URL) with
  ``****``. A ``/services/a/b/c`` path on any other host is a feed's path
  (``https://rss.nytimes.com/services/xml/rss/nyt/MiddleEast.xml``) and is
  left alone unless it is one of the named secrets.
- ``SecretMaskingFilter(secrets)`` is a ``logging.Filter`` that applies
  ``mask`` to each record's message, arguments, exception text and stack text
  before any handler formats it. Attach it to a handler (it then covers every
  logger) or to a logger (it then covers only records logged on that logger).

``mask_url(url)`` gives the printable form of one URL:
``https://hooks.slack.com/services/T000/B000/****``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "****"

# Secrets shorter than this are ignored: masking "a" would wreck every line.
MIN_SECRET_LENGTH = 4

# Query keys whose values are credentials.
_SECRET_QUERY_KEYS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "secret", "password", "pass", "sig", "signature", "auth"}
)

# Hosts that serve Slack incoming webhooks (hooks.slack.com, and GovSlack's). Only there does a
# /services/T…/B…/… path carry a secret by its shape alone.
SLACK_HOST_SUFFIXES = ("slack.com", "slack-gov.com")


def is_slack_host(host: str | None) -> bool:
    """True for ``slack.com``, ``slack-gov.com`` and their subdomains (``hooks.slack.com``)."""
    host = (host or "").lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in SLACK_HOST_SUFFIXES)


# Shapes of secrets worth masking even when nobody named them.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, xapp-
    (re.compile(r"\b(xox[abeoprs]|xapp)-[A-Za-z0-9-]+"), r"\1-" + MASK),
    # Incoming-webhook secrets: https://hooks.slack.com/services/T…/B…/<secret>, on Slack's hosts only
    (
        re.compile(
            r"(\b(?:[A-Za-z0-9-]+\.)*(?:slack\.com|slack-gov\.com)(?::\d+)?"
            r"/services/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/)[A-Za-z0-9_-]+",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # Passwords in URL userinfo: scheme://user:password@host
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@"), r"\1" + MASK + "@"),
    # Authorization headers
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + MASK),
)


def mask_url(url: str, *, webhook: bool = False) -> str:
    """Return ``url`` with its secret parts replaced by ``****``.

    Masks the password in the userinfo, the values of credential-like query
    keys (``token``, ``key``, ``sig``, ...) and, for a Slack incoming webhook,
    every path segment after the team and bot ids of its ``/services/`` path.
    A URL is taken for a webhook when its host is one of Slack's
    (``hooks.slack.com``) or when the caller knows it is one (``webhook=True``:
    the configured webhook URL, wherever it points); a feed's
    ``/services/…`` path on any other host stays as it is. Text that is not a
    URL comes back with only the generic patterns of ``mask`` applied.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask(url, ())
    if not parts.scheme or not parts.netloc:
        return mask(url, ())
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}"
    path = parts.path
    segments = path.split("/")
    if "services" in segments and (webhook or is_slack_host(parts.hostname)):
        start = segments.index("services") + 3  # keep /services/T…/B…/
        segments = [MASK if i >= start and seg else seg for i, seg in enumerate(segments)]
        path = "/".join(segments)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_QUERY_KEYS for k, _ in pairs):
            query = urlencode([(k, MASK if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _replacements(secret: str) -> list[tuple[str, str]]:
    """The (needle, replacement) pairs that hide one secret, longest first."""
    pairs: list[tuple[str, str]] = []
    if "://" in secret:
        masked = mask_url(secret, webhook=True)  # a named secret's /services/ path is secret wherever it points
        if masked != secret:
            pairs.append((secret, masked))
        # The secret pieces of a URL can also show up on their own.
        try:
            parts = urlsplit(secret)
        except ValueError:
            parts = None
        if parts is not None:
            if parts.password:
                pairs.append((parts.password, MASK))
            segments = parts.path.split("/")
            if "services" in segments:
                start = segments.index("services") + 3
                pairs.extend((seg, MASK) for seg in segments[start:] if seg)
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                if key.lower() in _SECRET_QUERY_KEYS and value:
                    pairs.append((value, MASK))
    else:
        pairs.append((secret, MASK))
    return [(n, r) for n, r in pairs if len(n) >= MIN_SECRET_LENGTH]


def mask(text: str, secrets: Iterable[str | None], *, patterns: bool = True) -> str:
    """Return ``text`` with each secret replaced by ``****``.

    A secret that is a URL is replaced by its ``mask_url`` form, and its
    secret pieces (password, webhook path, token query values) are masked
    wherever they appear alone. ``None``, empty and very short secrets (under
    ``MIN_SECRET_LENGTH`` characters) are ignored. With ``patterns`` (the
    default) Slack tokens, webhook paths, URL passwords and bearer tokens are
    masked even when not listed (webhook paths only on Slack's hosts).
    """
    if not text:
        return text
    pairs: list[tuple[str, str]] = []
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            pairs.extend(_replacements(secret))
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    for needle, replacement in pairs:
        if needle in text:
            text = text.replace(needle, replacement)
    if patterns:
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    return text


# What every LogRecord has; anything else on a record came from ``extra`` and is masked too.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class SecretMaskingFilter(logging.Filter):
    """A logging filter that masks secrets in every record it sees.

    The record's message is formatted with its arguments, masked, and stored
    back as ``msg`` with ``args`` cleared; text fields passed with ``extra``
    (such as ``feed_url``) are masked in place; the exception text (``exc_text``)
    and ``stack_info`` are rendered and masked too, so a formatter downstream
    prints only masked text. The filter never drops a record.
    """

    def __init__(self, secrets: Iterable[str | None] = (), *, patterns: bool = True) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)
        self._patterns = patterns
        self._formatter = logging.Formatter()

    def _mask(self, text: str) -> str:
        return mask(text, self._secrets, patterns=self._patterns)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw parts, masked
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self._mask(message)
        record.args = None
        for key, value in list(vars(record).items()):  # context passed with ``extra`` (feed_url, …)
            if key not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, self._mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        return True
