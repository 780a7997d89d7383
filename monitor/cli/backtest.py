"""``monitor rules backtest``: what a rule would have caught among stored stories."""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import select

from monitor.cli.common import common_options
from monitor.errors import ConfigError

_SINCE = re.compile(r"^(\d+)\s*([dhw])$")


@click.command("backtest")
@common_options
@click.argument("rule", type=click.Path(path_type=Path))
@click.option("--since", default="30d", show_default=True, help="How far back: like 30d, 12h, 2w.")
@click.option("--show", default=10, show_default=True, help="How many example titles to print.")
@click.pass_obj
def backtest(obj, rule: Path, since: str, show: int) -> None:  # type: ignore[no-untyped-def]
    """What RULE (a rule file, or a rule id in the rules folder) would have caught among stored stories."""
    from monitor.db import Feed, StoryRow
    from monitor.model import Story
    from monitor.query import compile_rules, load_rule

    settings = obj.settings
    path = rule if rule.suffix == ".toml" else settings.rules_dir / f"{rule}.toml"
    m = _SINCE.match(since.strip())
    if not m:
        raise click.BadParameter("use a number and d, h or w, like 30d", param_hint="--since")
    span = timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[m.group(2)]: int(m.group(1))})
    found, problems = load_rule(path)
    try:
        if found is None or problems:
            raise ConfigError(problems or [])
        loaded = replace(found, enabled=True)  # a disabled rule is what one backtests before switching it on
        ruleset = compile_rules([loaded])
    except ConfigError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        sys.exit(1)
    app = obj.app()
    since_at = app.clock.now() - span
    st = StoryRow.__table__
    per_day: Counter[str] = Counter()
    examples: list[str] = []
    total = 0
    with app.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(
            select(st.c.title, st.c.summary, st.c.url, st.c.source, st.c.language, st.c.published_at, Feed.name, Feed.tags)
            .outerjoin(Feed, Feed.id == st.c.feed_id)
            .where(st.c.first_seen_at >= since_at)
            .order_by(st.c.published_at)
        )
        for r in result:
            total += 1
            story = Story(
                entry_key="", title=r.title, summary=r.summary, url=r.url, published=r.published_at, source=r.source,
                language=r.language, feed=r.name or "", feed_tags=tuple(r.tags or ()),
            )
            found = ruleset.match(story)
            if found:
                per_day[r.published_at.date().isoformat()] += 1
                if len(examples) < show:
                    examples.append(f"  {r.published_at:%Y-%m-%d}  {r.source}: {r.title}  [{', '.join(found[0].terms)}]")
    hits = sum(per_day.values())
    click.echo(f"rule {loaded.id}: {hits} of {total} stories since {since_at:%Y-%m-%d %H:%M} UTC")
    for day_, n in sorted(per_day.items()):
        click.echo(f"  {day_}  {n:>5}  {'#' * min(n, 60)}")
    if examples:
        click.echo("examples:")
        click.echo("\n".join(examples))
