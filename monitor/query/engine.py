"""Compiled rules and matching: the ``match`` step of the pipeline.

``build_ruleset(rules)`` compiles every rule once (query tree, predicate,
presearch anchors) and reports the broken ones; ``compile_rules(rules)`` does
the same but raises ``ConfigError`` listing every problem. ``match(story,
ruleset)`` (or ``ruleset.match(story)``) is pure: it tokenizes each field of
the story once, asks the presearch index for candidate rules, evaluates only
those, and returns a ``RuleMatch`` per matching enabled rule, in rule order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.errors import ConfigError, Problem
from monitor.model import Rule, RuleMatch, Story
from monitor.query.errors import QuerySyntaxError
from monitor.query.evaluate import (
    Doc,
    Predicate,
    compile_query,
    fields_of,
    matched_terms,
)
from monitor.query.lexer import FIELDS
from monitor.query.parser import Node, parse_query
from monitor.query.presearch import (
    Anchor,
    PresearchIndex,
    anchors,
    rule_set_shares,
    word_filters,
)

__all__ = ["CompiledRule", "RuleSet", "build_ruleset", "compile_rules", "match", "story_texts"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to evaluate: its tree, predicate and presearch anchors
    (None: evaluated against every story)."""

    rule: Rule
    tree: Node
    predicate: Predicate
    anchors: frozenset[Anchor] | None
    languages: tuple[str, ...]
    limited: bool  # the rule has feed, tag or language limits
    filters: tuple[frozenset[str], ...] = ()  # presearch's second pass (``presearch.word_filters``)

    def admits(self, story: Story) -> bool:
        """Whether the rule's feed, tag and language limits let ``story`` through.

        A rule limited to some languages never matches a story whose language
        is unknown; ``"en"`` admits ``en``, ``en-US`` and ``en_GB``.
        """
        rule = self.rule
        if rule.feeds and story.feed not in rule.feeds:
            return False
        if rule.tags and not set(rule.tags).intersection(story.feed_tags):
            return False
        if self.languages:
            lang = (story.language or "").strip().lower().replace("_", "-")
            if not any(lang == want or lang.startswith(want + "-") for want in self.languages):
                return False
        return True

    def evaluate(self, story: Story, doc: Doc) -> RuleMatch | None:
        """The match of this rule on ``story`` (seen as ``doc``), or None."""
        if not self.predicate(doc):
            return None
        return self.explain(story, doc)

    def explain(self, story: Story, doc: Doc) -> RuleMatch | None:
        """The match of a rule whose predicate holds on ``doc``, with the
        matched terms, or None when its feed, tag or language limits keep
        ``story`` out."""
        if self.limited and not self.admits(story):
            return None
        return RuleMatch(self.rule.id, matched_terms(self.tree, self.rule.fields, doc))


class RuleSet:
    """Every compiled rule plus the presearch index over the enabled ones.

    Built once at start-up and then only read, so one RuleSet may serve any
    number of threads.
    """

    def __init__(self, compiled: Iterable[CompiledRule]) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(compiled)
        enabled = [(i, c.anchors) for i, c in enumerate(self.rules) if c.rule.enabled]
        self._enabled = tuple(i for i, _ in enabled)
        self._predicates = tuple(c.predicate for c in self.rules)
        self.index = PresearchIndex(enabled, {i: self.rules[i].filters for i, _ in enabled})
        used: set[str] = set()
        for i, found in enabled:
            if found is not None:
                used |= fields_of(self.rules[i].tree, self.rules[i].rule.fields)
        self._index_fields = tuple(f for f in FIELDS if f in used)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, story: Story, doc: Doc | None = None) -> list[int]:
        """Numbers of the enabled rules presearch picks for ``story``, ascending."""
        if doc is None:
            doc = Doc(story_texts(story))
        return sorted(self.index.candidates(doc[self._index_fields]))

    def match(self, story: Story) -> list[RuleMatch]:
        """Matches of ``story``, evaluating only the presearch candidates."""
        doc = Doc(story_texts(story))
        predicates = self._predicates
        out = []
        for i in self.candidates(story, doc):
            if predicates[i](doc):
                found = self.rules[i].explain(story, doc)
                if found is not None:
                    out.append(found)
        return out

    def match_exhaustive(self, story: Story) -> list[RuleMatch]:
        """Matches of ``story``, evaluating every enabled rule (no presearch).

        Gives the same result as ``match``; kept as the reference for tests
        and benchmarks.
        """
        doc = Doc(story_texts(story))
        out = []
        for i in self._enabled:
            found = self.rules[i].evaluate(story, doc)
            if found is not None:
                out.append(found)
        return out


def story_texts(story: Story) -> dict[str, str]:
    """The searchable fields of a story, by name."""
    return {
        "title": story.title or "",
        "summary": story.summary or "",
        "content": story.content or "",
        "source": story.source or "",
        "url": story.url or "",
    }


def compile_rule(rule: Rule, stats: Mapping[str, float] | None = None, tree: Node | None = None) -> CompiledRule:
    """One rule compiled (``tree``: its query already parsed). Raises
    ``QuerySyntaxError`` for a bad query and ``ConfigError`` for unknown
    fields (problems name ``rule.path`` or ``rule <id>``)."""
    _check_fields(rule)
    if tree is None:
        tree = parse_query(rule.query)
    found = anchors(tree, stats)
    languages = tuple(lang.strip().lower().replace("_", "-") for lang in rule.languages)
    limited = bool(rule.feeds or rule.tags or rule.languages)
    return CompiledRule(
        rule, tree, compile_query(tree, rule.fields), found[0] if found else None, languages, limited,
        word_filters(tree, stats),
    )


def _check_fields(rule: Rule) -> None:
    """Raises ``ConfigError`` unless the rule names one or more known fields."""
    bad = [f for f in rule.fields if f not in FIELDS]
    if bad or not rule.fields:
        what = f"unknown field(s) {', '.join(map(repr, bad))}" if bad else "no fields"
        raise ConfigError(
            [Problem(rule.path or f"rule {rule.id}", f"{what}; fields are {', '.join(FIELDS)}", key="fields")]
        )


def build_ruleset(
    rules: Iterable[Rule], stats: Mapping[str, float] | None = None
) -> tuple[RuleSet, list[Problem]]:
    """A RuleSet of every rule that compiles, and a Problem for each that does not.

    ``stats`` optionally maps folded words to the share of stories that
    contain them, to choose better presearch anchors; without it the shares
    are estimated from the words and how many rules name each
    (``presearch.rule_set_shares``). Either way the matches are the same.
    """
    parsed: list[tuple[Rule, Node]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for rule in rules:
        where = rule.path or f"rule {rule.id}"
        if rule.id in seen:
            problems.append(Problem(where, f"rules: duplicate rule id {rule.id!r}"))
            continue
        seen.add(rule.id)
        try:
            _check_fields(rule)
            parsed.append((rule, parse_query(rule.query)))
        except QuerySyntaxError as exc:
            problems.append(exc.problem(where))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if stats is None:
        stats = rule_set_shares(tree for _, tree in parsed)
    return RuleSet(compile_rule(rule, stats, tree) for rule, tree in parsed), problems


def compile_rules(rules: Iterable[Rule], stats: Mapping[str, float] | None = None) -> RuleSet:
    """A RuleSet of ``rules``; raises ``ConfigError`` listing every broken rule."""
    ruleset, problems = build_ruleset(rules, stats)
    if problems:
        raise ConfigError(problems)
    return ruleset


def match(story: Story, ruleset: RuleSet) -> list[RuleMatch]:
    """The rules of ``ruleset`` that ``story`` matches, with the matched terms.

    Pure: no I/O, no clock. Disabled rules never match.
    """
    return ruleset.match(story)
