"""The article step's network half: fetch a story's page politely and extract its text.

``ArticleReader.read(url)`` fetches through the shared ``Fetcher`` (so the
same deadline, size cap after decompression, redirect limit, connect-time
address guard and user agent apply), accepts only ``http``/``https`` URLs and
HTML responses, and runs the extraction in the given executor. It never
raises for a bad page: every outcome is an ``ArticleOutcome`` with a status
and, on failure, a reason fit to store and show.

Politeness: at most ``per_host`` article fetches at once to one host, and
their starts at least ``pause`` seconds apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.errors import FetchError
from monitor.reader.article import Article, ExtractError, extract_article
from monitor.reader.fetch import Fetcher

log = logging.getLogger("monitor.reader.articles")

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
REASON_LIMIT = 300


@dataclass(frozen=True, slots=True)
class ArticleOutcome:
    """``status`` is ``ok`` (``article`` set) or ``failed`` (``reason`` says why)."""

    status: str
    article: Article | None = None
    reason: str | None = None
    fetch_seconds: float = 0.0
    extract_seconds: float = 0.0  # CPU time of the extraction


@dataclass
class _Gate:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0
    users: int = 0


class ArticleReader:
    """Reads article pages through ``fetcher`` with a per-host limit and pause. One per event loop."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        per_host: int = 2,
        pause: float = 0.5,
        executor: Executor | None = None,
        extract: Callable[[bytes, dict[str, str], str], Article] = extract_article,
    ) -> None:
        if per_host < 1 or pause < 0:
            raise ValueError("articles: per_host must be at least 1 and pause not negative")
        self.fetcher = fetcher
        self.per_host = per_host
        self.pause = pause
        self.executor = executor
        self._extract = extract
        self._gates: dict[str, _Gate] = {}

    async def read(self, url: str) -> ArticleOutcome:
        """Fetch ``url`` and extract its main text; never raises (except cancellation)."""
        parts = urlsplit(url or "")
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return ArticleOutcome("failed", reason=f"article: not an http(s) link: {url[:200]!r}")
        started = time.perf_counter()
        try:
            async with self._turn(parts.hostname.lower()):
                started = time.perf_counter()
                result = await self.fetcher.fetch(url, accept=ACCEPT_HTML, content_types=HTML_TYPES)
        except FetchError as exc:
            return ArticleOutcome("failed", reason=_reason(str(exc)), fetch_seconds=time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - one page's bug must not stop the others
            log.exception("article fetch crashed", extra={"url": url})
            return ArticleOutcome("failed", reason=f"article: unexpected {type(exc).__name__}")
        fetched = time.perf_counter() - started
        loop = asyncio.get_running_loop()
        try:
            article, cpu = await loop.run_in_executor(self.executor, _timed, self._extract, result.body, result.headers, result.url)
        except ExtractError as exc:
            return ArticleOutcome("failed", reason=_reason(str(exc)), fetch_seconds=fetched)
        except Exception as exc:  # noqa: BLE001
            log.exception("article extraction crashed", extra={"url": url})
            return ArticleOutcome("failed", reason=f"extract: unexpected {type(exc).__name__}", fetch_seconds=fetched)
        return ArticleOutcome("ok", article=article, fetch_seconds=fetched, extract_seconds=cpu)

    def _turn(self, host: str) -> _Turn:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _Gate(asyncio.Semaphore(self.per_host))
        return _Turn(self, host, gate)


class _Turn:
    """Holds one of a host's slots, starting no sooner than ``pause`` after the previous start."""

    def __init__(self, reader: ArticleReader, host: str, gate: _Gate) -> None:
        self.reader, self.host, self.gate = reader, host, gate

    async def __aenter__(self) -> None:
        self.gate.users += 1
        try:
            await self.gate.semaphore.acquire()
        except BaseException:
            self._leave()
            raise
        wait = self.gate.next_start - time.monotonic()
        self.gate.next_start = max(self.gate.next_start, time.monotonic()) + self.reader.pause
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except BaseException:
                self.gate.semaphore.release()
                self._leave()
                raise

    async def __aexit__(self, *exc: object) -> None:
        self.gate.semaphore.release()
        self._leave()

    def _leave(self) -> None:
        self.gate.users -= 1
        if self.gate.users == 0 and self.gate.next_start <= time.monotonic():
            self.reader._gates.pop(self.host, None)


def _timed(
    extract: Callable[[bytes, dict[str, str], str], Article], body: bytes, headers: dict[str, str], url: str
) -> tuple[Article, float]:
    started = time.thread_time()
    article = extract(body, headers, url)
    return article, time.thread_time() - started


def _reason(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= REASON_LIMIT else message[: REASON_LIMIT - 1] + "…"


FAILURE_KINDS = ("deadline", "timeout", "too_large", "not_html", "http", "redirect", "refused", "connect", "extract", "interrupted", "link", "other")


def failure_kind(reason: str | None) -> str:
    """A coarse, bounded label for a failure reason (for metrics): one of ``FAILURE_KINDS``."""
    r = (reason or "").lower()
    checks = (
        ("interrupted", "interrupted"), ("deadline", "deadline"), ("timeout", "timeout"), ("larger than", "too_large"),
        ("content type", "not_html"), ("refusing", "refused"), ("redirect", "redirect"), ("refused", "refused"),
        ("http ", "http"), ("connect", "connect"), ("resolve", "connect"), ("extract:", "extract"),
        ("link", "link"),
    )
    for needle, kind in checks:
        if needle in r:
            return kind
    return "other"
