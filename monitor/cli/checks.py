"""``monitor check``: every problem in feeds.toml, the rules and the environment, at once."""

from __future__ import annotations

from monitor.config import Settings, read_config
from monitor.errors import ConfigError, Problem
from monitor.query import Similarity, compile_rules, load_rules
from monitor.similar import semantic_unavailable


def run_checks(settings: Settings) -> tuple[list[Problem], str]:
    """Returns (problems, a one-line summary of what was checked)."""
    problems, _, summary = check_all(settings)
    return problems, summary


def check_all(settings: Settings) -> tuple[list[Problem], list[Problem], str]:
    """Returns (problems, warnings, a one-line summary). A warning does not
    fail the check: a rule asking for the semantic backend where it is not
    installed (it falls back to the built-in one)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
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
                # the built-in backend is enough to check; the model is not loaded for that
                compile_rules(rules, similarity=Similarity(semantic=False))
            except ConfigError as exc:
                problems.extend(exc.problems)
        why = semantic_unavailable() if settings.similarity != "builtin" else "MONITOR_SIMILARITY=builtin"
        for rule in rules:
            if (rule.examples or rule.example_stories) and rule.similarity == "semantic" and why:
                warnings.append(Problem(rule.path, f"asks for the semantic backend, but {why}: using builtin", key="similarity"))
    feeds = len(config.feeds) if config else 0
    summary = f"ok: {feeds} feeds in {settings.config_path}, {len(rules)} rules in {settings.rules_dir}"
    return problems, warnings, summary
