"""The [digest] table: defaults, recipients, and a problem for every bad key."""

from __future__ import annotations

from datetime import time

import pytest

from monitor.config.digest import (
    DEFAULT_LIST_ID,
    DEFAULT_SUBJECT,
    Audience,
    DigestConfig,
    is_address,
    parse_digest_config,
    unknown_rule_problems,
)

FILE = "feeds.toml"
BASE = {"to": "desk@example.org", "from": "Media Monitor <monitor@example.org>"}


def parse_ok(table: dict) -> DigestConfig:
    config, problems = parse_digest_config(table, file=FILE)
    assert problems == []
    assert config is not None
    return config


def test_it_fills_in_defaults_for_a_minimal_table() -> None:
    config = parse_ok(BASE)
    assert config.to == ("desk@example.org",)
    assert config.sender == "Media Monitor <monitor@example.org>"
    assert config.time == time(8, 0)
    assert config.timezone == "UTC"
    assert config.subject == DEFAULT_SUBJECT
    assert config.empty == "skip"
    assert config.list_id == DEFAULT_LIST_ID
    assert config.recipients == ()


def test_it_reads_every_key() -> None:
    config = parse_ok(
        {
            "to": ["a@example.org", "Desk <b@example.org>"],
            "from": "monitor@example.org",
            "time": "07:30",
            "timezone": "Europe/Moscow",
            "subject": "Digest {date} ({count})",
            "empty": "send",
            "list_id": "digest.example.org",
            "recipients": [{"to": "russia@example.org", "rules": ["russia-us-syria"]}],
        }
    )
    assert config.to == ("a@example.org", "Desk <b@example.org>")
    assert config.time == time(7, 30)
    assert config.zone.key == "Europe/Moscow"
    assert config.send_empty
    assert config.format_subject(date="2017-03-08", count=4) == "Digest 2017-03-08 (4)"
    assert config.recipients == (Audience(to=("russia@example.org",), rules=("russia-us-syria",)),)


def test_it_accepts_a_toml_local_time() -> None:
    assert parse_ok({**BASE, "time": time(6, 15)}).time == time(6, 15)


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"colour": "blue"}, "digest.colour", "unknown key"),
        ({"timezone": "Mars/Olympus"}, "digest.timezone", "unknown time zone"),
        ({"timezone": "../../etc/passwd"}, "digest.timezone", "unknown time zone"),
        ({"timezone": 3}, "digest.timezone", "must be str"),
        ({"time": "25:00"}, "digest.time", "time of day"),
        ({"time": "08:61"}, "digest.time", "time of day"),
        ({"time": "8am"}, "digest.time", "time of day"),
        ({"time": 8}, "digest.time", "time of day"),
        ({"to": "not-an-address"}, "digest.to", "not an email address"),
        ({"to": ["ok@example.org", "two@@example.org"]}, "digest.to", "'two@@example.org'"),
        ({"to": [1]}, "digest.to", "list of strings"),
        ({"from": "monitor at example.org"}, "digest.from", "not an email address"),
        ({"from": "x@example.org\nBcc: victim@example.org"}, "digest.from", "not an email address"),
        ({"subject": "Digest {day}"}, "digest.subject", "{day}"),
        ({"subject": "Digest {date"}, "digest.subject", "format string"),
        ({"subject": "line\nbreak"}, "digest.subject", "one line"),
        ({"empty": "maybe"}, "digest.empty", "skip, send"),
        ({"list_id": "not a domain"}, "digest.list_id", "domain name"),
        ({"recipients": {"to": "a@example.org"}}, "digest.recipients", "array of tables"),
        ({"recipients": [{"rules": ["x"]}]}, "digest.recipients[0].to", "required"),
        ({"recipients": [{"to": "a@example.org", "channel": "x"}]}, "digest.recipients[0].channel", "unknown key"),
        ({"recipients": [{"to": "desk@example.org", "rules": ["x"]}]}, "digest.recipients[0].to", "listed twice"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, dict) else None,
)
def test_it_reports_a_problem_naming_file_and_key(change: dict, key: str, words: str) -> None:
    config, problems = parse_digest_config({**BASE, **change}, file=FILE)
    assert config is None
    assert [p.key for p in problems] == [key], problems
    assert problems[0].file == FILE
    assert words in problems[0].message
    assert str(problems[0]).startswith(f"{FILE}: {key}: ")


def test_it_accepts_a_single_string_where_a_list_is_expected() -> None:
    config = parse_ok({**BASE, "recipients": [{"to": "a@example.org", "rules": "x"}]})
    assert config.recipients == (Audience(to=("a@example.org",), rules=("x",)),)


def test_it_requires_a_sender_and_some_recipient() -> None:
    config, problems = parse_digest_config({}, file=FILE)
    assert config is None
    assert sorted(p.key for p in problems) == ["digest.from", "digest.to"]


def test_it_accepts_recipients_without_a_to_list() -> None:
    config = parse_ok({"from": "m@example.org", "recipients": [{"to": "a@example.org"}]})
    assert config.audiences() == (Audience(to=("a@example.org",)),)


def test_it_reports_every_problem_at_once() -> None:
    _, problems = parse_digest_config({**BASE, "time": "99:99", "timezone": "Nowhere/City", "empty": "x"}, file=FILE)
    assert {p.key for p in problems} == {"digest.time", "digest.timezone", "digest.empty"}


def test_it_groups_audiences_by_rule_filter() -> None:
    config = parse_ok(
        {
            **BASE,
            "recipients": [
                {"to": "r1@example.org", "rules": ["russia-us-syria"]},
                {"to": ["all@example.org"]},
                {"to": "r2@example.org", "rules": ["russia-us-syria", "russia-us-syria"]},
                {"to": "e@example.org", "rules": ["energy", "china-sea"]},
            ],
        }
    )
    assert config.audiences() == (
        Audience(to=("desk@example.org", "all@example.org")),
        Audience(to=("r1@example.org", "r2@example.org"), rules=("russia-us-syria",)),
        Audience(to=("e@example.org",), rules=("china-sea", "energy")),
    )
    everything, russia, _ = config.audiences()
    assert everything.selects("anything")
    assert russia.selects("russia-us-syria") and not russia.selects("energy")


def test_it_reports_recipient_filters_naming_unknown_rules() -> None:
    config = parse_ok({**BASE, "recipients": [{"to": "a@example.org", "rules": ["russia-us-syria", "typo"]}]})
    problems = unknown_rule_problems(config, ["russia-us-syria"], file=FILE)
    assert [(p.key, "'typo'" in p.message) for p in problems] == [("digest.recipients[0].rules", True)]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a@example.org", True),
        ("Media Monitor <monitor@example.org>", True),
        ("first.last+tag@sub.example.co.uk", True),
        ("@example.org", False),
        ("a@", False),
        ("a@-bad-.org", False),
        ("a b@example.org", False),
        ("", False),
    ],
)
def test_it_tells_addresses_from_non_addresses(value: str, ok: bool) -> None:
    assert is_address(value) is ok
