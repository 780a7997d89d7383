"""One polling pass: lease due feeds, fetch, parse, normalize, store (with matching and outbox).

``Poller.poll()`` is what ``monitor poll --once`` and each scheduler tick run.
Network I/O is async (one shared ``Fetcher``); the CPU- and database-bound
part of a feed (parse → normalize → ingest) runs in a small thread pool so
fetching goes on meanwhile. One broken feed never stops the others: every
failure is recorded on its own feed row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from monitor.clock import Clock
from monitor.db import (
    ArticlePlan,
    ArticleText,
    FeedState,
    IngestOptions,
    IngestResult,
    Matcher,
    PendingArticle,
    Router,
    finish_article,
    ingest,
    match_waiting,
    recover_articles,
)
from monitor.db import feeds as feeds_db
from monitor.dedup import Fingerprinter
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.reader import (
    ArticleOutcome,
    ArticleReader,
    Fetcher,
    FetchResult,
    Validators,
    next_poll_after_error,
    next_poll_after_success,
    normalize,
    parse_feed,
)

log = logging.getLogger("monitor.pipeline")


@dataclass
class FeedOutcome:
    """What happened to one feed in a pass."""

    name: str
    status: str  # ok | not_modified | unchanged | failed
    error: str | None = None
    new_stories: int = 0
    matches: int = 0
    fetch_seconds: float | None = None  # network time of the fetch, when there was a response
    matched_rules: list[str] = field(default_factory=list)  # one entry per new match
    articles: dict[str, int] = field(default_factory=dict)  # article outcomes: ok | failed | skipped → count
    article_failures: list[str] = field(default_factory=list)  # each failed article's reason
    article_seconds: list[float] = field(default_factory=list)  # network time of each article fetch


@dataclass(frozen=True)
class ArticleOptions:
    """The article step of full_text feeds: how long matching waits, and how much one poll may fetch."""

    wait: float = 15.0  # seconds a story's matching waits for its text
    per_poll: int = 20  # article pages one poll of one feed may fetch
    per_host: int = 2  # article fetches at once to one host
    pause: float = 0.5  # seconds between article fetch starts to one host


@dataclass
class PollSummary:
    """Counts for one pass, plus every failed feed with its error."""

    outcomes: list[FeedOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def new_stories(self) -> int:
        return sum(o.new_stories for o in self.outcomes)

    @property
    def matches(self) -> int:
        return sum(o.matches for o in self.outcomes)

    def articles(self, status: str) -> int:
        """Article pages of full_text feeds with this outcome (ok | failed | skipped) in the pass."""
        return sum(o.articles.get(status, 0) for o in self.outcomes)

    def line(self) -> str:
        text = (
            f"{len(self.outcomes)} feeds: {self.count('ok')} ok, "
            f"{self.count('not_modified') + self.count('unchanged')} not modified, "
            f"{len(self.failed)} failed; {self.new_stories} new stories, {self.matches} matches"
        )
        counts = {s: self.articles(s) for s in ("ok", "failed", "skipped")}
        if any(counts.values()):
            text += f"; articles: {counts['ok']} read, {counts['failed']} failed, {counts['skipped']} skipped"
        return text


class Poller:
    """Polls feeds into the database. Build once, call ``poll()`` per pass.

    ``matcher`` is the compiled rule set's match function; ``router`` maps a
    rule id to its alert destinations. Time comes from ``clock``.

    Feeds with ``full_text`` (after their silent backlog) get the article
    step: each new story's page is read through ``fetcher`` (``articles``
    bounds it); a story's matching waits for its text up to
    ``articles.wait`` seconds, then goes on with title and summary, and text
    that comes later is still stored and matched (a rule alerts once per
    cluster either way). Each pass first closes the claims of a worker that
    died mid-fetch (``recover_articles``).
    """

    def __init__(
        self,
        *,
        engine: Engine,
        fetcher: Fetcher,
        fingerprinter: Fingerprinter,
        matcher: Matcher,
        router: Router,
        options: IngestOptions,
        clock: Clock,
        owner: str,
        max_backoff: float = 6 * 3600.0,
        lease_seconds: float = 300.0,
        batch_size: int = 200,
        threads: int = 4,
        rng: random.Random | None = None,
        on_feed_done: Callable[[FeedOutcome], None] | None = None,
        articles: ArticleOptions | None = None,
    ) -> None:
        self.engine = engine
        self.fetcher = fetcher
        self.fingerprinter = fingerprinter
        self.matcher = matcher
        self.router = router
        self.options = options
        self.clock = clock
        self.owner = owner
        self.max_backoff = max_backoff
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self.rng = rng or random.Random()
        self.on_feed_done = on_feed_done
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ingest")
        self.articles = articles or ArticleOptions()
        self.reader = ArticleReader(
            fetcher, per_host=self.articles.per_host, pause=self.articles.pause, executor=self._pool
        )
        deadline = fetcher.limits.deadline
        # a claim outlives the worst case: every page of one poll queued at one host, each taking the deadline
        queued = -(-self.articles.per_poll // self.articles.per_host) * (deadline + self.articles.pause)
        self.plan = ArticlePlan(limit=self.articles.per_poll, lease=self.articles.wait + queued + 60.0)
        self._unchanged: list[feeds_db.Unchanged] = []  # 304s of the batch in flight, written together
        self._unchanged_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    async def poll(self, *, due_only: bool = True, names: Sequence[str] | None = None) -> PollSummary:
        """Poll every due feed (or all enabled ones, or the named ones) once; returns the summary."""
        summary = PollSummary()
        started = self.clock.now()
        done: set[int] = set()
        await asyncio.get_running_loop().run_in_executor(self._pool, self._recover)
        while True:
            batch = await asyncio.get_running_loop().run_in_executor(
                self._pool, self._lease, started, due_only, names, done
            )
            if not batch:
                break
            done.update(f.id for f in batch)
            results = await asyncio.gather(*(self._poll_one(f) for f in batch))
            await self._run(self._flush_unchanged)
            summary.outcomes.extend(results)
            if names is not None or not due_only:
                # one pass over the chosen feeds: stop when all have been taken
                if len(batch) < self.batch_size:
                    break
        return summary

    def _lease(
        self, started: datetime, due_only: bool, names: Sequence[str] | None, done: set[int]
    ) -> list[FeedState]:
        now = self.clock.now()
        with self.engine.begin() as conn:
            leased = feeds_db.lease_feeds(
                conn, now=now, owner=self.owner, lease=self.lease_seconds, limit=self.batch_size,
                due_only=due_only, names=names, exclude_polled_since=None if due_only else started,
            )
        return [f for f in leased if f.id not in done]

    async def _poll_one(self, feed: FeedState) -> FeedOutcome:
        try:
            result = await self.fetcher.fetch(feed.url, Validators(feed.etag, feed.last_modified))
        except FetchError as exc:
            outcome = await self._run(self._record_error, feed, str(exc), exc.status, exc.retry_after)
        except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the pass
            log.exception("fetch crashed", extra={"feed": feed.name})
            outcome = await self._run(self._record_error, feed, f"fetch: unexpected {type(exc).__name__}", None, None)
        else:
            pending: list[PendingArticle] = []
            if result.not_modified and not result.permanent_redirect_to:
                outcome = self._record_unchanged(feed, result, self.clock.now(), "not_modified")  # no parse, no I/O
            else:
                outcome = await self._run(self._process, feed, result, pending)
            outcome.fetch_seconds = result.elapsed
            if pending:
                await self._read_articles(feed, pending, outcome)
        if self.on_feed_done:
            self.on_feed_done(outcome)
        return outcome

    async def _run(self, fn: Callable[..., FeedOutcome], *args: object) -> FeedOutcome:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _process(self, feed: FeedState, result: FetchResult, pending: list[PendingArticle] | None = None) -> FeedOutcome:
        now = self.clock.now()
        if result.not_modified:
            return self._record_unchanged(feed, result, now, "not_modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if feed.backlog_done and body_hash == feed.body_hash:
            return self._record_unchanged(feed, result, now, "unchanged")
        try:
            parsed = parse_feed(result.body, url=result.url, headers=result.headers)
            stories = [
                normalize(e, feed=parsed, feed_name=feed.name, feed_url=result.url, seen_at=now, tags=feed.tags)
                for e in parsed.entries
            ]
        except ParseError as exc:
            return self._record_error(feed, str(exc), result.status, None)
        except Exception as exc:  # noqa: BLE001
            log.exception("parse crashed", extra={"feed": feed.name})
            return self._record_error(feed, f"parse: unexpected {type(exc).__name__}: {exc}", result.status, None)
        matcher = self.matcher if feed.backlog_done else None
        try:
            with self.engine.begin() as conn:
                stored: IngestResult = ingest(
                    conn, feed_id=feed.id, stories=stories, now=now, fingerprinter=self.fingerprinter,
                    matcher=matcher, router=self.router, options=self.options,
                    articles=self.plan if feed.full_text else None,
                )
                feeds_db.record_success(
                    conn, feed.id, now=now,
                    next_poll_at=next_poll_after_success(
                        now, feed.interval, ttl_minutes=parsed.ttl_minutes, max_age=result.max_age,
                        retry_after=result.retry_after,
                    ),
                    http_status=result.status, not_modified=False, etag=result.etag,
                    last_modified=result.last_modified, body_hash=body_hash,
                    new_url=result.permanent_redirect_to, bozo=parsed.bozo,
                )
                feeds_db.note_new_stories(conn, feed.id, now=now, count=stored.new_stories, previous=feed.last_new_at)
        except MonitorError as exc:
            return self._record_error(feed, str(exc), result.status, None)
        if pending is not None:
            pending.extend(stored.pending)
        articles = {"skipped": stored.skipped} if stored.skipped else {}
        log.info(
            "polled",
            extra={"feed": feed.name, "new_stories": stored.new_stories, "matches": stored.matches, "entries": stored.seen},
        )
        return FeedOutcome(
            feed.name, "ok", new_stories=stored.new_stories, matches=stored.matches, matched_rules=stored.matched_rules,
            articles=articles,
        )

    # ---- the article step ----

    async def _read_articles(self, feed: FeedState, pending: list[PendingArticle], outcome: FeedOutcome) -> None:
        """Read each pending story's page; match each as its text comes, or on what it has at the bound."""
        loop = asyncio.get_running_loop()
        tasks = {asyncio.ensure_future(self.reader.read(p.story.url)): p for p in pending}
        bound = loop.time() + self.articles.wait
        waiting = set(tasks)
        late = False
        while waiting:
            timeout = None if late else max(0.0, bound - loop.time())
            finished, waiting = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            results = [(tasks[t], t.result()) for t in finished]
            overdue = [tasks[t] for t in waiting] if not late and loop.time() >= bound else []
            if overdue:
                late = True  # matched now on title and summary; their text is stored when it comes
            await self._run(self._record_articles, feed, results, overdue, outcome)

    def _record_articles(
        self, feed: FeedState, results: list[tuple[PendingArticle, ArticleOutcome]],
        overdue: list[PendingArticle], outcome: FeedOutcome,
    ) -> FeedOutcome:
        now = self.clock.now()
        counts = IngestResult()
        try:
            with self.engine.begin() as conn:
                for p, got in results:
                    found = ArticleText(status=got.status, reason=got.reason)
                    if got.article is not None:
                        a = got.article
                        found = ArticleText(
                            status="ok", text=a.text, title=a.title, byline=a.byline, language=a.language,
                            published=a.published,
                        )
                    finish_article(conn, p, found, now=now, matcher=self.matcher, router=self.router,
                                   options=self.options, result=counts)
                for p in overdue:
                    match_waiting(conn, p, now=now, matcher=self.matcher, router=self.router,
                                  options=self.options, result=counts)
        except MonitorError as exc:  # the claims stay; recovery matches these stories on what they have
            log.warning("article step: %s", exc, extra={"feed": feed.name})
            return outcome
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the pass
            log.exception("article step crashed", extra={"feed": feed.name})
            return outcome
        for p, got in results:
            outcome.articles[got.status] = outcome.articles.get(got.status, 0) + 1
            if got.status != "ok":
                outcome.article_failures.append(got.reason or "")
                log.info("article failed: %s", got.reason, extra={"feed": feed.name, "story_id": p.story_id})
            if got.fetch_seconds:
                outcome.article_seconds.append(got.fetch_seconds)
        outcome.matches += counts.matches
        outcome.matched_rules.extend(counts.matched_rules)
        return outcome

    def _recover(self) -> None:
        """Close article claims of a worker that died mid-fetch (never fetched again; matched if waiting)."""
        try:
            with self.engine.begin() as conn:
                got = recover_articles(conn, now=self.clock.now(), matcher=self.matcher, router=self.router,
                                       options=self.options)
        except Exception:  # noqa: BLE001
            log.exception("article recovery failed")
            return
        if got.seen:
            log.warning("article step: %d interrupted fetches closed, %d matches", got.seen, got.matches)

    def _record_unchanged(self, feed: FeedState, result: FetchResult, now: datetime, status: str) -> FeedOutcome:
        """A 304 or the same body again. Without a new URL to store, the feed's row is queued and
        written with the rest of its batch in one statement (``_flush_unchanged``): a steady pass
        costs one transaction a batch, not one a feed. Until then the feed stays leased."""
        next_at = next_poll_after_success(now, feed.interval, max_age=result.max_age, retry_after=result.retry_after)
        if not result.permanent_redirect_to:
            with self._unchanged_lock:
                self._unchanged.append(
                    feeds_db.Unchanged(feed.id, now, next_at, result.status)
                )
            return FeedOutcome(feed.name, status)
        with self.engine.begin() as conn:
            feeds_db.record_success(
                conn, feed.id, now=now,
                next_poll_at=next_at,
                http_status=result.status, not_modified=True, etag=None, last_modified=None, body_hash=None,
                new_url=result.permanent_redirect_to,
            )
        return FeedOutcome(feed.name, status)

    def _flush_unchanged(self) -> None:
        """Write the queued unchanged feeds of the batch, in one transaction."""
        with self._unchanged_lock:
            queued, self._unchanged = self._unchanged, []
        if queued:
            with self.engine.begin() as conn:
                feeds_db.record_unchanged(conn, queued)

    def _record_error(
        self, feed: FeedState, message: str, status: int | None, retry_after: float | None
    ) -> FeedOutcome:
        now = self.clock.now()
        count = feed.error_count + 1
        with self.engine.begin() as conn:
            feeds_db.record_error(
                conn, feed.id, now=now, message=message, http_status=status,
                next_poll_at=next_poll_after_error(
                    now, feed.interval, count, max_backoff=self.max_backoff, retry_after=retry_after, rng=self.rng
                ),
            )
        log.warning("poll failed: %s", message, extra={"feed": feed.name, "feed_url": feed.url})
        return FeedOutcome(feed.name, "failed", error=message)

