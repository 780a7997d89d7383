"""The error tree. Each error message starts with the step that raised it.

    MonitorError
    ├── ConfigError        a config or rule file is invalid (carries problems)
    ├── FetchError         the network step failed (permanent: retrying won't help)
    ├── ParseError         the body is not a feed
    ├── DeliveryError      a notifier could not deliver (permanent, retry_after)
    └── ListenError        the HTTP server cannot listen on its address (in_use)
"""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Base class of every error the service raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is and what is wrong.

    ``str()`` gives ``file:line:col: key: message`` with the parts that are
    known, which is what ``monitor check`` prints.
    """

    file: str
    message: str
    key: str | None = None
    line: int | None = None
    column: int | None = None
    detail: str | None = None  # e.g. the offending line with a caret under it

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        if self.detail:
            text += "\n" + self.detail
        return text


class ConfigError(MonitorError):
    """A configuration or rule file is invalid; ``problems`` lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "config: invalid")


class FetchError(MonitorError):
    """fetch: the feed could not be fetched.

    ``status`` is the HTTP status when there was one; ``retry_after`` is the
    server's requested delay in seconds; ``permanent`` says retrying the same
    request cannot help (the feed is still retried later, with backoff).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent


class ParseError(MonitorError):
    """parse: the body is not a feed we can read."""


class DeliveryError(MonitorError):
    """notify: an alert or digest could not be delivered.

    ``permanent`` is True when retrying cannot help (bad token, unknown
    channel, dead webhook); ``retry_after`` is the delay the peer asked for.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class ListenError(MonitorError):
    """http: the HTTP server cannot listen on ``address``.

    ``reason`` is the operating system's words; ``in_use`` says the address is
    taken (another process listens there), as opposed to not being local, not
    resolving, or not being allowed.
    """

    def __init__(self, address: str, reason: str, *, in_use: bool) -> None:
        self.address = address
        self.reason = reason
        self.in_use = in_use
        super().__init__(f"http: cannot listen on {address}: {reason}")
