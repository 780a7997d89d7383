"""Re-fingerprinting stored stories after the fingerprint format changes.

``stale_count`` says how many stories hold a fingerprint of an older format
(``fingerprint_version`` NULL or below ``FINGERPRINT_VERSION``);
``refingerprint`` rewrites them in id order, a batch per transaction, with
their LSH band rows, and reports progress through a callback. Cluster
assignments already made are kept: only the comparisons of stories stored
from now on use the new fingerprints. Safe to interrupt and run again (each
batch commits on its own; finished rows are no longer stale), and safe while
the service runs (a story's bands and fingerprint change in one transaction).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, and_, bindparam, func, or_, select

from monitor.db.schema import StoryBand, StoryRow
from monitor.dedup import FINGERPRINT_VERSION, MIN_SHINGLES, Fingerprinter

stories_t = StoryRow.__table__
bands_t = StoryBand.__table__

_STALE = or_(stories_t.c.fingerprint_version.is_(None), stories_t.c.fingerprint_version < FINGERPRINT_VERSION)


def stale_count(engine: Engine) -> int:
    """How many stored stories need ``refingerprint``."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(stories_t).where(_STALE)).scalar_one()


def refingerprint(
    engine: Engine,
    fingerprinter: Fingerprinter,
    *,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rewrite every stale fingerprint and its band rows; returns how many stories were rewritten.

    ``progress`` is called after each batch with the number of stories it rewrote.
    """
    done, after = 0, 0
    update = (
        stories_t.update()
        .where(stories_t.c.id == bindparam("sid"))
        .values(fingerprint=bindparam("fp"), fingerprint_version=FINGERPRINT_VERSION)
    )
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(stories_t.c.id, stories_t.c.title, stories_t.c.summary, stories_t.c.first_seen_at)
                .where(and_(_STALE, stories_t.c.id > after))
                .order_by(stories_t.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return done
            prints = {r.id: fingerprinter.fingerprint(r.title, r.summary) for r in rows}
            ids = list(prints)
            conn.execute(bands_t.delete().where(bands_t.c.story_id.in_(ids)))
            conn.execute(update, [{"sid": sid, "fp": fp.to_bytes()} for sid, fp in prints.items()])
            band_rows = [
                {"band": i, "key": key, "story_id": r.id, "seen_at": r.first_seen_at}
                for r in rows
                if prints[r.id].shingle_count >= MIN_SHINGLES
                for i, key in enumerate(prints[r.id].bands)
            ]
            if band_rows:
                conn.execute(bands_t.insert(), band_rows)
        after = rows[-1].id
        done += len(rows)
        if progress is not None:
            progress(len(rows))
