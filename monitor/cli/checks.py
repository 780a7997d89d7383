"""``monitor check``: every problem in feeds.toml, the rules and the environment, at once."""

from __future__ import annotations

from monitor.config import Settings, read_config
from monitor.errors import ConfigError, Problem
from monitor.query import compile_rules, load_rules


def run_checks(settings: Settings) -> tuple[list[Problem], str]:
    """Returns (problems, a one-line summary of what was checked)."""
    problems: list[Problem] = []
    config, config_problems = read_config(settings.config_path)
    problems.extend(config_problems)
    if not settings.rules_dir.is_dir():
        problems.append(Problem(str(settings.rules_dir), "rules folder not found"))
        rules = []
    else:
        rules, rule_problems = load_rules(settings.rules_dir)
        problems.extend(rule_problems)
        if not rule_problems:
            try:
                compile_rules(rules)
            except ConfigError as exc:
                problems.extend(exc.problems)
    feeds = len(config.feeds) if config else 0
    summary = f"ok: {feeds} feeds in {settings.config_path}, {len(rules)} rules in {settings.rules_dir}"
    return problems, summary
