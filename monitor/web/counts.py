"""Per-feed counts for ``/feeds``, kept warm: counting a million sightings takes half a second.

``FeedCounts.get()`` answers from memory: the first call counts (and waits),
later calls return the last counts at once and, once they are older than
``ttl`` seconds, start one recount in a background thread (stale while it
revalidates). ``refresh()`` counts now; the service calls it once at start so
the first visitor does not wait. Thread-safe; a failed count is logged and
the previous counts stay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Engine

from monitor.db import feed_counts

__all__ = ["FeedCounts"]

log = logging.getLogger("monitor.web")


class FeedCounts:
    """``(entries, stories)`` by feed name, at most ``ttl`` seconds old plus one recount."""

    def __init__(self, engine: Engine, *, ttl: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.ttl = ttl
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] | None = None
        self._at = 0.0
        self.counted_at: datetime | None = None
        self._running = False

    def refresh(self) -> dict[str, tuple[int, int]] | None:
        """Count now (in the calling thread); the new counts, or None when the count failed."""
        try:
            with self.engine.connect() as conn:
                counts = feed_counts(conn)
        except Exception as exc:  # noqa: BLE001 - the page shows the last counts instead
            log.error("web: counting feed entries failed: %s", type(exc).__name__)
            return None
        finally:
            with self._lock:
                self._running = False
        with self._lock:
            self._counts, self._at, self.counted_at = counts, self.monotonic(), datetime.now(timezone.utc)
        return counts

    def get(self) -> dict[str, tuple[int, int]]:
        """The counts: counted now when there are none yet, else the last ones (a recount started when stale)."""
        with self._lock:
            counts, stale = self._counts, self.monotonic() - self._at >= self.ttl
            start = counts is not None and stale and not self._running
            if start:
                self._running = True
        if counts is None:
            return self.refresh() or {}
        if start:
            threading.Thread(target=self.refresh, name="feed-counts", daemon=True).start()
        return counts
