"""console indexes: the web console's lists and its search

Revision ID: 0005_console_indexes
Revises: 0002_fingerprints

- stories.feed_id: the per-feed story counts of /feeds (and ``monitor feeds``);
- matches (rule_id, matched_at): /rules' per-day counts and last match, the
  rule filter of /; matches.cluster_id and matches.story_id: a story's rules;
  deliveries.match_id: the delivery status of each alert on /;
- full-text search for /search, over title and summary: on SQLite an FTS5
  external-content table ``stories_fts`` kept in step by triggers; on
  PostgreSQL a stored generated column ``stories.search_tsv``
  (``to_tsvector('simple', title || ' ' || summary)``) with a GIN index. Stored,
  not an expression index: a search for a common word walks the newest stories
  and tests each one's vector, which must not mean re-parsing its text.
  Neither is a model in ``monitor/db/schema.py`` (an engine feature, not a
  table of ours); ``monitor.web.search`` is their only reader.
"""
from alembic import op


revision = "0005_console_indexes"
down_revision = "0002_fingerprints"
branch_labels = None
depends_on = None

#: the expression of PostgreSQL's generated column ``stories.search_tsv``
PG_TSVECTOR = "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(summary, ''))"

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS stories_fts USING fts5("
    "title, summary, content='stories', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS stories_fts_ai AFTER INSERT ON stories BEGIN "
    "INSERT INTO stories_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER IF NOT EXISTS stories_fts_ad AFTER DELETE ON stories BEGIN "
    "INSERT INTO stories_fts(stories_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER IF NOT EXISTS stories_fts_au AFTER UPDATE OF title, summary ON stories BEGIN "
    "INSERT INTO stories_fts(stories_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO stories_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stories_feed_id"), ["feed_id"], unique=False)
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index("ix_matches_rule_matched", ["rule_id", "matched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_story_id"), ["story_id"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_match_id"), ["match_id"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(f"ALTER TABLE stories ADD COLUMN IF NOT EXISTS search_tsv tsvector GENERATED ALWAYS AS ({PG_TSVECTOR}) STORED")
        op.execute("CREATE INDEX IF NOT EXISTS ix_stories_fts ON stories USING gin (search_tsv)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("stories_fts_ai", "stories_fts_ad", "stories_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS stories_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_stories_fts")
        op.execute("ALTER TABLE stories DROP COLUMN IF EXISTS search_tsv")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_match_id"))
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matches_story_id"))
        batch_op.drop_index(batch_op.f("ix_matches_cluster_id"))
        batch_op.drop_index("ix_matches_rule_matched")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_feed_id"))
