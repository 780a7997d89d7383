"""From a feed URL to ``Story`` objects: fetch (with the address guard), parse (lxml fast path,
feedparser, JSON Feed), normalize, canonical URLs, the poll schedule, OPML; and a story's
article page to its main text (``article``, ``articles``).
"""

from monitor.reader.article import Article, ExtractError, decode_html, extract_article
from monitor.reader.articles import ArticleOutcome, ArticleReader, failure_kind
from monitor.reader.fetch import Fetcher, FetchLimits, FetchResult, Validators
from monitor.reader.netguard import AddressGuard
from monitor.reader.normalize import normalize
from monitor.reader.opml import append_feeds, read_opml, write_opml
from monitor.reader.parse import parse_feed
from monitor.reader.schedule import (
    next_poll_after_error,
    next_poll_after_success,
    retry_delay,
)

__all__ = [
    "Article",
    "ArticleOutcome",
    "ArticleReader",
    "ExtractError",
    "decode_html",
    "extract_article",
    "failure_kind",
    "AddressGuard",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "Validators",
    "append_feeds",
    "next_poll_after_error",
    "next_poll_after_success",
    "normalize",
    "parse_feed",
    "read_opml",
    "retry_delay",
    "write_opml",
]
