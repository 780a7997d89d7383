"""The rule engine: query language, rule files, presearch and matching.

Public surface::

    load_rules(folder) -> (rules, problems)     # rules/*.toml, every problem at once
    load_rule(path) -> (rule | None, problems)
    compile_rules(rules) -> RuleSet             # raises ConfigError(problems)
    build_ruleset(rules) -> (RuleSet, problems) # lenient: skips broken rules
    match(story, ruleset) -> list[RuleMatch]    # pure; also RuleSet.match(story)
    parse_query(text) -> Node                   # raises QuerySyntaxError
    index_clauses(tree, fields, indexed)        # words a full-text index must find
    Similarity(frequencies, semantic, story_texts) # backends for rules by example

The query language is described in ``monitor.query.parser`` and, for rule
authors, in ``rules/README.md``.
"""

from monitor.query.engine import (
    CompiledRule,
    RuleSet,
    build_ruleset,
    compile_rules,
    match,
)
from monitor.query.errors import QuerySyntaxError
from monitor.query.examples import DEFAULT_THRESHOLDS, Similarity, similarity_text, threshold_for
from monitor.query.loader import load_rule, load_rules
from monitor.query.parser import parse_query
from monitor.query.prefilter import index_clauses

__all__ = [
    "DEFAULT_THRESHOLDS", "CompiledRule", "QuerySyntaxError", "RuleSet", "Similarity", "build_ruleset",
    "compile_rules", "index_clauses", "similarity_text", "threshold_for",
    "load_rule", "load_rules", "match", "parse_query",
]
