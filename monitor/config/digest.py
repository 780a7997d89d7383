"""The ``[digest]`` table of ``feeds.toml``: who gets the daily digest, when, and how.

Layout::

    [digest]
    to = ["desk@example.org"]              # get every rule (string or list)
    from = "Media Monitor <monitor@example.org>"
    time = "08:00"                          # local time of day (or a TOML time)
    timezone = "Europe/Moscow"              # IANA name; the day runs midnight to midnight here
    subject = "Media monitor digest for {date}: {count} stories"   # or {stories}: "1 story"
    empty = "skip"                          # skip | send (a short "No matches" mail)
    list_id = "media-monitor.localhost"

    [[digest.recipients]]                   # optional: addresses with a rule filter
    to = "russia-desk@example.org"
    rules = ["russia-us-syria"]             # rule ids (file stems); empty or absent: all rules

``parse_digest_config`` returns the config (None when unusable) and every
problem; keys in problems read like ``digest.timezone`` or
``digest.recipients[0].rules``. Unknown keys are errors.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.tomlcheck import TableChecker, TomlLocator
from monitor.errors import Problem

DEFAULT_SUBJECT = "Media monitor digest for {date}: {count} stories"
DEFAULT_LIST_ID = "media-monitor.localhost"
DEFAULT_TIME = time(8, 0)

_KEYS = {"to", "from", "time", "timezone", "subject", "empty", "recipients", "list_id"}
_RECIPIENT_KEYS = {"to", "rules"}
_SUBJECT_FIELDS = {"date", "count", "stories"}
_ADDRESS = re.compile(
    r"^[^@\s<>\"(),;:\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_LIST_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+$")


@dataclass(frozen=True)
class Audience:
    """Addresses that get the same digest: every rule when ``rules`` is empty."""

    to: tuple[str, ...]
    rules: tuple[str, ...] = ()

    def selects(self, rule_id: str) -> bool:
        return not self.rules or rule_id in self.rules


@dataclass(frozen=True)
class DigestConfig:
    """The validated ``[digest]`` table.

    ``to`` get every rule; each of ``recipients`` gets the rules it names (or
    every rule when it names none). ``audiences()`` groups them into one
    message per distinct rule filter.
    """

    to: tuple[str, ...]
    sender: str
    time: time = DEFAULT_TIME
    timezone: str = "UTC"
    subject: str = DEFAULT_SUBJECT
    empty: str = "skip"
    recipients: tuple[Audience, ...] = ()
    list_id: str = DEFAULT_LIST_ID

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def send_empty(self) -> bool:
        return self.empty == "send"

    def audiences(self) -> tuple[Audience, ...]:
        """One ``Audience`` per distinct rule filter, in config order.

        Addresses with the same filter share one message; ``to`` is the
        audience with no filter.
        """
        groups: dict[tuple[str, ...], list[str]] = {}
        if self.to:
            groups[()] = list(self.to)
        for r in self.recipients:
            key = tuple(sorted(set(r.rules)))
            bucket = groups.setdefault(key, [])
            bucket.extend(a for a in r.to if a not in bucket)
        return tuple(Audience(to=tuple(addrs), rules=key) for key, addrs in groups.items())

    def format_subject(self, *, date: str, count: int) -> str:
        """The subject line: ``{date}`` is ISO, ``{count}`` a number, ``{stories}`` "1 story"/"3 stories"."""
        stories = f"{count} {'story' if count == 1 else 'stories'}"
        return self.subject.format(date=date, count=count, stories=stories)


def is_address(value: str, *, display_name: bool = True) -> bool:
    """True for ``user@host`` (or ``Name <user@host>`` when ``display_name``)."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        return False
    name, addr = parseaddr(value)
    if not addr or (name and not display_name):
        return False
    if not display_name and addr != value.strip():
        return False
    return bool(_ADDRESS.match(addr))


def _parse_time(value: Any) -> time | None:
    if isinstance(value, time):
        return value if value.tzinfo is None else None
    if isinstance(value, str):
        m = _TIME.match(value.strip())
        if m:
            h, mnt, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if h < 24 and mnt < 60 and s < 60:
                return time(h, mnt, s)
    return None


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _subject_problem(subject: str) -> str | None:
    if "\n" in subject or "\r" in subject:
        return "must be one line"
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(subject) if f is not None}
    except ValueError as exc:
        return f"is not a valid format string ({exc}); write {{{{ and }}}} for literal braces"
    unknown = sorted("{" + f + "}" for f in fields if f not in _SUBJECT_FIELDS)
    if unknown:
        return f"may use only {{date}}, {{count}} and {{stories}}; found {', '.join(unknown)}"
    try:
        subject.format(date="2000-01-01", count=0, stories="0 stories")
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        return f"is not a valid format string ({exc})"
    return None


def _addresses(check: TableChecker, key: str, *, required: bool) -> tuple[str, ...]:
    if key not in check.data:
        if required:
            check.error(key, "required key is missing")
        return ()
    values = check.string_list(key)
    good = []
    for value in values:
        if is_address(value):
            good.append(value.strip())
        else:
            check.error(key, f"not an email address: {value!r}")
    return tuple(good)


def parse_digest_config(
    table: dict[str, Any], *, file: str, locator: TomlLocator | None = None
) -> tuple[DigestConfig | None, list[Problem]]:
    """Validate the ``[digest]`` table from ``file``.

    Returns (config, problems); config is None when any problem was found.
    Problems carry ``file`` and a dotted ``key``; they carry a line only when
    ``locator`` (built from the file's text) is given.
    """
    problems: list[Problem] = []
    locator = locator or TomlLocator("")
    check = TableChecker(file, "digest", table, locator, problems, table="digest")
    check.unknown_keys(_KEYS)

    to = _addresses(check, "to", required=False)
    sender = ""
    if "from" not in table:
        check.error("from", "required key is missing (the sender address)")
    else:
        value = check.get("from", str, "")
        if value and is_address(value):
            sender = value.strip()
        elif isinstance(value, str):
            check.error("from", f"not an email address: {value!r}")

    at = DEFAULT_TIME
    if "time" in table:
        parsed = _parse_time(table["time"])
        if parsed is None:
            check.error("time", f'must be a time of day like "08:00"; got {table["time"]!r}')
        else:
            at = parsed

    zone = check.get("timezone", str, "UTC")
    if not _zone_ok(zone):
        check.error("timezone", f'unknown time zone {zone!r} (use an IANA name like "Europe/Berlin")')
        zone = "UTC"

    subject = check.get("subject", str, DEFAULT_SUBJECT)
    why = _subject_problem(subject)
    if why:
        check.error("subject", why)

    empty = check.choice("empty", ("skip", "send"), "skip")

    list_id = check.get("list_id", str, DEFAULT_LIST_ID)
    if not _LIST_ID.match(list_id):
        check.error("list_id", f'must look like a domain name (e.g. "media-monitor.example.org"); got {list_id!r}')

    recipients = _read_recipients(table.get("recipients"), file, locator, problems)
    if not to and not recipients and not any(p.key in ("digest.to", "digest.recipients") for p in problems):
        check.error("to", "no recipients: set digest.to or add [[digest.recipients]]")
    _check_duplicates(to, recipients, check)

    if problems:
        return None, problems
    return (
        DigestConfig(
            to=to,
            sender=sender,
            time=at,
            timezone=zone,
            subject=subject,
            empty=empty,
            recipients=recipients,
            list_id=list_id,
        ),
        problems,
    )


def _read_recipients(value: Any, file: str, locator: TomlLocator, problems: list[Problem]) -> tuple[Audience, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.append(Problem(file, "must be an array of tables ([[digest.recipients]])", key="digest.recipients"))
        return ()
    out = []
    for i, item in enumerate(value):
        check = TableChecker(
            file, f"digest.recipients[{i}]", item, locator, problems, table="digest.recipients", index=i
        )
        check.unknown_keys(_RECIPIENT_KEYS)
        to = _addresses(check, "to", required=True)
        rules = check.string_list("rules")
        for rule in rules:
            if not rule.strip():
                check.error("rules", "rule ids must not be empty")
        if to:
            out.append(Audience(to=to, rules=tuple(dict.fromkeys(r for r in rules if r.strip()))))
    return tuple(out)


def _check_duplicates(to: tuple[str, ...], recipients: tuple[Audience, ...], check: TableChecker) -> None:
    seen: dict[str, str] = {}
    for where, addrs in [("to", to)] + [(f"recipients[{i}].to", r.to) for i, r in enumerate(recipients)]:
        for addr in addrs:
            bare = parseaddr(addr)[1].lower()
            if bare in seen and seen[bare] != where:
                check.error(where, f"{bare} is listed twice (also in digest.{seen[bare]}); it would get two digests")
            seen.setdefault(bare, where)


def unknown_rule_problems(config: DigestConfig, rule_ids: Iterable[str], *, file: str) -> list[Problem]:
    """Problems for recipient filters that name rules that do not exist."""
    known = set(rule_ids)
    problems = []
    for i, r in enumerate(config.recipients):
        for rule in r.rules:
            if rule not in known:
                problems.append(
                    Problem(
                        file,
                        f"unknown rule {rule!r} (rule ids are rule file stems)",
                        key=f"digest.recipients[{i}].rules",
                    )
                )
    return problems
