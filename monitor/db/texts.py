"""Story texts for rules by example: document frequencies and example stories."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Engine, select

from monitor.db.schema import StoryRow

__all__ = ["recent_story_texts", "story_texts_by_id"]


def recent_story_texts(engine: Engine, limit: int = 5000) -> Iterator[str]:
    """Title and summary of the ``limit`` most recently seen stories."""
    st = StoryRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(st.c.title, st.c.summary).order_by(st.c.id.desc()).limit(limit))
        for r in rows:
            yield f"{r.title or ''}\n{r.summary or ''}".strip()


def story_texts_by_id(engine: Engine, ids: Sequence[str]) -> Mapping[str, str]:
    """Title and summary of the stored stories with these ids (as strings); unknown ids are absent."""
    wanted = sorted({int(i) for i in ids if str(i).isdigit()})
    if not wanted:
        return {}
    st = StoryRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(st.c.id, st.c.title, st.c.summary).where(st.c.id.in_(wanted)))
        return {str(r.id): f"{r.title or ''}\n{r.summary or ''}".strip() for r in rows}
