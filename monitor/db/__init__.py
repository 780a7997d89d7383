"""Storage: the schema, the engine, migrations, and one module of queries per concern."""


from monitor.db.articles import ArticleText, finish_article, match_waiting, recover_articles
from monitor.db.clusters import cluster_outlets, stored_stories
from monitor.db.engine import make_engine
from monitor.db.feeds import (
    FeedState,
    SyncReport,
    feed_counts,
    feed_health,
    mark_ops_alerted,
    ops_alerted,
    sync_feeds,
)
from monitor.db.feedview import feed_json, feed_table, health_flag
from monitor.db.ingest import (
    ArticlePlan,
    IngestOptions,
    IngestResult,
    Matcher,
    PendingArticle,
    Router,
    band_lookup,
    ingest,
)
from monitor.db.migrate import current_revision, head_revision, upgrade
from monitor.db.pacing import claim_send_slot, release_destination, take_destination
from monitor.db.refingerprint import refingerprint, stale_count
from monitor.db.schema import (
    DeliveryRow,
    DigestRow,
    Feed,
    FollowupRow,
    MatchRow,
    Sighting,
    StoryRow,
)
from monitor.db.sql import insert, supports_skip_locked
from monitor.db.texts import recent_story_texts, story_texts_by_id

__all__ = [
    "ArticlePlan",
    "ArticleText",
    "PendingArticle",
    "finish_article",
    "match_waiting",
    "recover_articles",
    "recent_story_texts", "story_texts_by_id",
    "DeliveryRow",
    "DigestRow",
    "Feed",
    "FeedState",
    "FollowupRow",
    "IngestOptions",
    "IngestResult",
    "MatchRow",
    "Matcher",
    "Router",
    "Sighting",
    "StoryRow",
    "SyncReport",
    "band_lookup",
    "claim_send_slot",
    "cluster_outlets",
    "current_revision",
    "feed_counts",
    "feed_health",
    "feed_json",
    "feed_table",
    "head_revision",
    "health_flag",
    "ingest",
    "insert",
    "make_engine",
    "mark_ops_alerted",
    "release_destination",
    "ops_alerted",
    "refingerprint",
    "stale_count",
    "supports_skip_locked",
    "stored_stories",
    "sync_feeds",
    "take_destination",
    "upgrade",
]
