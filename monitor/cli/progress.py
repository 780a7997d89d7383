"""A one-line progress display for ``monitor poll`` on a terminal (silent otherwise)."""

from __future__ import annotations

from typing import TextIO


class Progress:
    """Counts finished feeds and redraws one status line when ``stream`` is a TTY."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.done = 0
        self.failed = 0

    def advance(self, outcome: object) -> None:
        self.done += 1
        if getattr(outcome, "status", None) == "failed":
            self.failed += 1
        if self.enabled:
            self.stream.write(f"\rpolled {self.done} feeds ({self.failed} failed)")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
