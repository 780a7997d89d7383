"""``monitor rules backtest`` and ``monitor rules misses``: a rule against stored stories.

``backtest`` says what a rule would have caught, per day, and how many of
those matches its examples judged. ``misses`` lists the stored stories most
like the rule's matches and examples that the rule did not match, with their
similarity, so an analyst sees what the query misses before a reader does.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from monitor.cli.common import common_options
from monitor.errors import ConfigError

_SINCE = re.compile(r"^(\d+)\s*([dhw])$")


def _span(since: str) -> timedelta:
    m = _SINCE.match(since.strip())
    if not m:
        raise click.BadParameter("use a number and d, h or w, like 30d", param_hint="--since")
    return timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[m.group(2)]: int(m.group(1))})


def _compiled(obj: Any, rule: Path):  # type: ignore[no-untyped-def]
    """(app, the rule enabled, its RuleSet with the store's similarity); exits 1 on a broken rule."""
    from monitor.query import compile_rules, load_rule
    from monitor.service import similarity_for

    settings = obj.settings
    path = rule if rule.suffix == ".toml" else settings.rules_dir / f"{rule}.toml"
    found, problems = load_rule(path)
    try:
        if found is None or problems:
            raise ConfigError(problems or [])
        loaded = replace(found, enabled=True)  # a disabled rule is what one backtests before switching it on
        app = obj.app()
        similarity = similarity_for(settings, app.engine)
        ruleset = compile_rules([loaded], similarity=similarity)
    except ConfigError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        sys.exit(1)
    for note in ruleset.notes:
        click.echo(f"warning: {note}", err=True)
    return app, loaded, ruleset, similarity


def _stored(app: Any, since_at: datetime) -> Iterator[tuple[Any, Any]]:
    """(row, Story) for every story first seen since ``since_at``, oldest first."""
    from monitor.db import Feed, StoryRow
    from monitor.model import Story

    st = StoryRow.__table__
    with app.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(
            select(
                st.c.id, st.c.title, st.c.summary, st.c.url, st.c.source, st.c.language, st.c.published_at,
                Feed.name, Feed.tags,
            )
            .outerjoin(Feed, Feed.id == st.c.feed_id)
            .where(st.c.first_seen_at >= since_at)
            .order_by(st.c.published_at)
        )
        for r in result:
            yield r, Story(
                entry_key=str(r.id), title=r.title, summary=r.summary, url=r.url, published=r.published_at,
                source=r.source, language=r.language, feed=r.name or "", feed_tags=tuple(r.tags or ()),
            )


@click.command("backtest")
@common_options
@click.argument("rule", type=click.Path(path_type=Path))
@click.option("--since", default="30d", show_default=True, help="How far back: like 30d, 12h, 2w.")
@click.option("--show", default=10, show_default=True, help="How many example titles to print.")
@click.pass_obj
def backtest(obj, rule: Path, since: str, show: int) -> None:  # type: ignore[no-untyped-def]
    """What RULE (a rule file, or a rule id in the rules folder) would have caught among stored stories."""
    span = _span(since)
    app, loaded, ruleset, _ = _compiled(obj, rule)
    since_at = app.clock.now() - span
    per_day: Counter[str] = Counter()
    examples: list[str] = []
    total = by_example = 0
    for r, story in _stored(app, since_at):
        total += 1
        found = ruleset.match(story)
        if found:
            per_day[r.published_at.date().isoformat()] += 1
            m = found[0]
            if m.similarity is not None:
                by_example += 1
            if len(examples) < show:
                why = f"[{', '.join(m.terms)}]"
                if m.similarity is not None:
                    why += f" similar {m.similarity:.2f} to: {m.example}"
                examples.append(f"  {r.published_at:%Y-%m-%d}  {r.source}: {r.title}  {why}")
    hits = sum(per_day.values())
    click.echo(f"rule {loaded.id}: {hits} of {total} stories since {since_at:%Y-%m-%d %H:%M} UTC")
    if loaded.examples or loaded.example_stories:
        click.echo(f"  {by_example} judged by the rule's examples, {hits - by_example} by its query alone")
    for day_, n in sorted(per_day.items()):
        click.echo(f"  {day_}  {n:>5}  {'#' * min(n, 60)}")
    if examples:
        click.echo("examples:")
        click.echo("\n".join(examples))


@click.command("misses")
@common_options
@click.argument("rule", type=click.Path(path_type=Path))
@click.option("--since", default="7d", show_default=True, help="How far back: like 7d, 12h, 2w.")
@click.option("--limit", default=20, show_default=True, help="How many stories to list.")
@click.pass_obj
def misses(obj, rule: Path, since: str, limit: int) -> None:  # type: ignore[no-untyped-def]
    """Stored stories most like RULE's matches and examples that RULE did not match.

    The rule's matches in the window and its examples are the references; every
    other story is scored by its cosine with the nearest reference (the rule's
    backend, or the built-in one for a rule without examples), best first.
    """
    from monitor.query import similarity_text
    from monitor.similar import Examples, first_words

    span = _span(since)
    app, loaded, ruleset, similarity = _compiled(obj, rule)
    compiled = ruleset.rules[0]
    backend = compiled.examples.backend if compiled.examples is not None else similarity.builtin()
    since_at = app.clock.now() - span
    matched: list[str] = list(compiled.examples.texts) if compiled.examples is not None else []
    others: list[tuple[Any, str]] = []
    for r, story in _stored(app, since_at):
        text = similarity_text(story)
        if ruleset.match(story):
            matched.append(text)
        elif text:
            others.append((r, text))
    if not matched:
        click.echo(f"rule {loaded.id}: no matches and no examples since {since_at:%Y-%m-%d %H:%M} UTC: nothing to compare with")
        return
    references = Examples(backend, matched, (), 1.0)
    scored = []
    for start in range(0, len(others), 256):
        batch = others[start : start + 256]
        vectors = backend.embed([t for _, t in batch])
        for i, (r, _) in enumerate(batch):
            near = references.nearest(backend.row(vectors, i))
            scored.append((near.score, r, near.example))
    scored.sort(key=lambda x: -x[0])
    click.echo(
        f"rule {loaded.id}: {len(others)} stories not matched since {since_at:%Y-%m-%d %H:%M} UTC, "
        f"compared with {len(matched)} matches and examples ({backend.name})"
    )
    for score, r, example in scored[:limit]:
        click.echo(f"  {score:.2f}  {r.published_at:%Y-%m-%d}  #{r.id}  {r.source}: {r.title}")
        click.echo(f"        nearest: {first_words(example)}")
