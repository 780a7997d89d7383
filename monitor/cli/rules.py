"""``monitor rules ...``: commands for rule authors.

``rules test`` matches stories given as JSON lines against the rules and
prints what matched. The rules folder comes from the parent command
(``ctx.obj["rules_dir"]``) when it set one, else from ``rules --rules DIR``,
else ``./rules``; RULE_FILE arguments replace the folder.

Exit codes: 0 when every rule and every input line was read (whether or not
anything matched); 1 when a rule is broken (nothing is matched) or when some
input lines were bad (the good lines are still matched and printed, and each
bad line is reported on standard error with its line number).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import click

from monitor.clock import SystemClock
from monitor.errors import Problem
from monitor.model import Rule, Story
from monitor.query import Similarity, build_ruleset, load_rule, load_rules

__all__ = ["rules", "rules_dir_of", "story_from_json"]

_TEXT_KEYS = ("id", "title", "summary", "content", "url", "source", "published", "language", "feed")


@click.group("rules")
@click.option(
    "--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of rule files (default: the configured one, else ./rules).",
)
def rules(rules_dir: Path | None) -> None:
    """Write and try rules."""


def rules_dir_of(ctx: click.Context) -> Path:
    """The rules folder: the parent's ``ctx.obj["rules_dir"]`` (a dict key or an
    attribute) when set, else the ``rules --rules`` option, else ``./rules``."""
    obj = ctx.find_object(dict)
    chosen = obj.get("rules_dir") if obj is not None else getattr(ctx.obj, "rules_dir", None)
    if chosen:
        return Path(chosen)
    c: click.Context | None = ctx
    while c is not None:
        if c.command is rules and c.params.get("rules_dir"):
            return Path(c.params["rules_dir"])
        c = c.parent
    return Path("rules")


@rules.command("test")
@click.option("--input", "input_path", default=None, metavar="FILE|-", help="JSON lines of stories; - or absent: standard input.")
@click.option("--text", "texts", multiple=True, help="Match this text (as a story title) instead of reading input. Repeatable.")
@click.option(
    "--json", "as_json", is_flag=True,
    help='One JSON line per match: {"id", "rule", "terms"}, plus "similarity" and "example" for a match by example.',
)
@click.argument("rule_files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def test_rules(
    ctx: click.Context, input_path: str | None, texts: tuple[str, ...], as_json: bool, rule_files: tuple[Path, ...]
) -> None:
    """Match stories against the rules and print what matched.

    Stories are JSON lines {"id", "title", "summary", "content", "url",
    "source", "published", "language"}, all optional but "id". A bad line is
    reported with its number and skipped; the exit code is then 1.
    """
    loaded, problems = _load(rules_dir_of(ctx), rule_files)
    ruleset, more = build_ruleset(loaded, similarity=edge_similarity())
    problems += more
    for note in ruleset.notes:
        click.echo(f"warning: {note}", err=True)
    if problems:
        for p in problems:
            click.echo(str(p), err=True)
        click.echo(f"rules test: {len(problems)} problem(s) in the rules; nothing matched", err=True)
        ctx.exit(1)
    clock = SystemClock()
    if texts:
        stories: Iterable[tuple[int, Story | str]] = (
            (n, Story(f"text-{n}", t, "", "", clock.now(), "")) for n, t in enumerate(texts, 1)
        )
        source_name = "--text"
    elif input_path in (None, "-"):
        stories, source_name = _read_stories(sys.stdin, clock.now()), "<stdin>"
    else:
        try:
            handle = open(input_path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise click.ClickException(f"rules test: cannot read {input_path}: {exc.strerror}") from None
        ctx.call_on_close(handle.close)
        stories, source_name = _read_stories(handle, clock.now()), input_path
    bold = sys.stdout.isatty() and not as_json
    seen = matched = bad = 0
    for n, item in stories:
        if isinstance(item, str):
            bad += 1
            click.echo(f"rules test: {source_name}:{n}: {item}; line skipped", err=True)
            continue
        seen += 1
        for m in ruleset.match(item):
            matched += 1
            if as_json:
                out: dict[str, Any] = {"id": item.entry_key, "rule": m.rule_id, "terms": list(m.terms)}
                if m.similarity is not None:
                    out["similarity"], out["example"] = m.similarity, m.example
                click.echo(json.dumps(out, ensure_ascii=False))
            else:
                _print_match(item, m.rule_id, m.terms, bold)
                if m.similarity is not None:
                    click.echo(f"\tsimilarity {m.similarity:.2f} to example: {m.example}")
    if not as_json:
        click.echo(f"{seen} stories, {matched} matches, {len(ruleset)} rules", err=True)
    if bad:
        click.echo(f"rules test: {bad} bad input line(s)", err=True)
        ctx.exit(1)


def edge_similarity() -> Similarity:
    """Backends for commands without a database: the shipped background
    corpus; semantic where installed unless MONITOR_SIMILARITY=builtin."""
    return Similarity(semantic=os.environ.get("MONITOR_SIMILARITY", "auto").strip().lower() != "builtin")


def _load(folder: Path, files: tuple[Path, ...]) -> tuple[list[Rule], list[Problem]]:
    if not files:
        return load_rules(folder)
    found: list[Rule] = []
    problems: list[Problem] = []
    for path in files:
        rule, more = load_rule(path)
        problems += more
        if rule is not None:
            found.append(rule)
    return found, problems


def _read_stories(handle: TextIO, now: datetime) -> Iterator[tuple[int, Story | str]]:
    """(line number, Story) per line, or (line number, what is wrong); blank lines skipped."""
    for n, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        try:
            yield n, story_from_json(data, now)
        except ValueError as exc:
            yield n, str(exc)


def story_from_json(data: Any, now: datetime) -> Story:
    """A Story from one decoded JSON line. Raises ValueError saying what is wrong.

    ``id`` is required (string or number); the text keys must be strings;
    ``published`` is an ISO 8601 time (``now`` when absent); ``tags`` is an
    optional list of feed tags. Other keys are ignored.
    """
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if "id" not in data or not isinstance(data["id"], (str, int)) or isinstance(data["id"], bool):
        raise ValueError('"id" is required (a string or a number)')
    for key in _TEXT_KEYS[1:]:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f'"{key}" must be a string')
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError('"tags" must be a list of strings')
    published = now
    if data.get("published"):
        try:
            published = datetime.fromisoformat(data["published"].replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f'"published" is not an ISO 8601 time: {data["published"]!r}') from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=timezone.utc)
    return Story(
        entry_key=str(data["id"]), title=data.get("title") or "", summary=data.get("summary") or "",
        url=data.get("url") or "", published=published, source=data.get("source") or "",
        content=data.get("content") or "", language=data.get("language"), feed=data.get("feed") or "",
        feed_tags=tuple(tags),
    )


def _print_match(story: Story, rule_id: str, terms: tuple[str, ...], bold: bool) -> None:
    def mark(m: re.Match[str]) -> str:
        return click.style(m.group(), bold=True) if bold else f"**{m.group()}**"

    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")(?!\w)"
    )
    click.echo(f"{story.entry_key}\t{rule_id}\t{', '.join(pattern.sub(mark, t) for t in terms)}")
    line = story.title or story.summary or story.content
    click.echo(f"\t{pattern.sub(mark, line) if terms else line}")
