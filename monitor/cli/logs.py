"""Logging set-up: text or one JSON object per line, with secrets masked everywhere.

Log records carry the same keys everywhere through ``extra``: ``feed``,
``feed_url``, ``rule``, ``story``, ``delivery``, ``digest``. The JSON format
writes them as fields; the text format appends them as ``key=value``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TextIO

from monitor.config import SecretMaskingFilter

CONTEXT_KEYS = (
    "feed", "feed_url", "rule", "story", "delivery", "digest", "new_stories", "matches", "entries", "worker",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the context keys present."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value …``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k)]
        return f"{text} {' '.join(extras)}" if extras else text


def setup_logging(
    *, level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Configure the root logger once; returns the handler (tests may remove it)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SecretMaskingFilter(list(secrets)))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_monitor", False):
            root.removeHandler(old)
    handler._monitor = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # a tick skipped because the previous poll still runs is expected, not news
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    return handler
