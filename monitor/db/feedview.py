"""Presenting feed health for ``monitor feeds`` (a table, or JSON lines)."""

from __future__ import annotations

from datetime import datetime

from monitor.config import OpsConfig, mask_url
from monitor.db.feeds import FeedHealth


def health_flag(row: FeedHealth, now: datetime, ops: OpsConfig) -> str | None:
    """``failing`` (errors for longer than ``ops.failing_after``), ``stale`` (quiet far longer
    than usual), or None."""
    if not row.enabled:
        return None
    if row.failing_since and (now - row.failing_since).total_seconds() >= ops.failing_after:
        return "failing"
    if row.last_new_at and row.mean_gap:
        quiet = (now - row.last_new_at).total_seconds()
        if quiet > max(row.mean_gap * ops.stale_factor, row.interval * 6, 6 * 3600):
            return "stale"
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def feed_json(row: FeedHealth, now: datetime, ops: OpsConfig) -> dict[str, object]:
    return {
        "name": row.name,
        "url": mask_url(row.url),
        "enabled": row.enabled,
        "last_status": row.last_status,
        "last_http_status": row.last_http_status,
        "last_error": row.last_error,
        "error_count": row.error_count,
        "next_poll_at": _iso(row.next_poll_at),
        "last_success_at": _iso(row.last_success_at),
        "last_polled_at": _iso(row.last_polled_at),
        "last_new_at": _iso(row.last_new_at),
        "failing_since": _iso(row.failing_since),
        "health": health_flag(row, now, ops) or ("ok" if row.last_status in ("ok", "not_modified") else row.last_status or "new"),
        "entries": row.entries,
        "stories": row.stories,
        "tags": list(row.tags),
    }


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)}{unit}"
            break
    else:
        text = f"{int(seconds)}s"
    return f"in {text}" if future else f"{text} ago"


def feed_table(rows: list[FeedHealth], now: datetime, ops: OpsConfig) -> str:
    header = ("NAME", "STATUS", "ERRORS", "LAST OK", "NEXT POLL", "ENTRIES", "STORIES", "LAST ERROR")
    lines = [header]
    for r in rows:
        status = "disabled" if not r.enabled else (health_flag(r, now, ops) or r.last_status or "new")
        lines.append(
            (
                r.name, status, str(r.error_count), _ago(r.last_success_at, now), _ago(r.next_poll_at, now),
                str(r.entries), str(r.stories), (r.last_error or "")[:80],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths)) + "  " + line[-1])
    return "\n".join(l.rstrip() for l in out)
