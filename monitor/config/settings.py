"""Deployment settings and secrets, read from the environment only.

``Settings.from_env(environ, cwd)`` is called once, at the edge (the CLI); the
result is passed down. Every ``MONITOR_*`` secret may instead be given as
``MONITOR_*_FILE`` naming a file that holds it (container secrets).
``Settings.secrets()`` lists the values that must never be printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import ConfigError, Problem

_SECRET_VARS = (
    "MONITOR_SLACK_BOT_TOKEN",
    "MONITOR_SLACK_WEBHOOK_URL",
    "MONITOR_SMTP_PASSWORD",
    "MONITOR_DATABASE_URL",
    "MONITOR_WEB_TOKEN",
)


DEFAULT_HTTP_ADDRESS = "127.0.0.1:8787"


@dataclass(frozen=True)
class SmtpEnv:
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"


@dataclass(frozen=True)
class Settings:
    """Everything the environment says. Secrets are excluded from ``repr``."""

    database_url: str = field(repr=False)
    config_path: Path
    rules_dir: Path
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None
    slack_webhook_url: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    smtp: SmtpEnv = field(default_factory=SmtpEnv)
    http_address: str = DEFAULT_HTTP_ADDRESS
    # True when MONITOR_HTTP_ADDRESS named the address: then failing to bind it is an error at
    # start; the default address taken (another worker on this host has it) is only a warning
    http_address_explicit: bool = False
    worker_id: str = ""
    web_token: str | None = field(default=None, repr=False)  # MONITOR_WEB_TOKEN: the console's password
    similarity: str = "auto"  # MONITOR_SIMILARITY: auto (semantic where installed) | builtin

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        config: str | None = None,
        rules: str | None = None,
        database_url: str | None = None,
    ) -> Settings:
        """Build settings; explicit arguments (CLI options) win over the environment."""
        env = dict(os.environ if environ is None else environ)
        cwd = cwd or Path.cwd()
        problems: list[Problem] = []

        def get(name: str) -> str | None:
            file_var = f"{name}_FILE"
            if env.get(file_var):
                try:
                    return Path(env[file_var]).read_text(encoding="utf-8").strip() or None
                except OSError as exc:
                    problems.append(Problem(file_var, f"cannot read secret file: {exc.strerror}"))
                    return None
            value = env.get(name, "").strip()
            return value or None

        config_path = Path(config or get("MONITOR_CONFIG") or "feeds.toml")
        if not config_path.is_absolute():
            config_path = cwd / config_path
        rules_value = rules or get("MONITOR_RULES")
        rules_dir = Path(rules_value) if rules_value else config_path.parent / "rules"
        if not rules_dir.is_absolute():
            rules_dir = cwd / rules_dir

        db_url = database_url or get("MONITOR_DATABASE_URL") or f"sqlite:///{cwd / 'monitor.db'}"

        port_text = get("MONITOR_SMTP_PORT")
        port: int | None = None
        if port_text:
            try:
                port = int(port_text)
            except ValueError:
                problems.append(Problem("MONITOR_SMTP_PORT", f"must be a number; got {port_text!r}"))
        security = (get("MONITOR_SMTP_SECURITY") or "starttls").lower()
        if security not in ("starttls", "ssl", "none"):
            problems.append(Problem("MONITOR_SMTP_SECURITY", f"must be starttls, ssl or none; got {security!r}"))
            security = "starttls"
        similarity = (get("MONITOR_SIMILARITY") or "auto").lower()
        if similarity not in ("auto", "builtin"):
            problems.append(Problem("MONITOR_SIMILARITY", f"must be auto or builtin; got {similarity!r}"))
        if problems:
            raise ConfigError(problems)
        return cls(
            similarity=similarity,
            database_url=db_url,
            config_path=config_path,
            rules_dir=rules_dir,
            slack_bot_token=get("MONITOR_SLACK_BOT_TOKEN"),
            slack_channel=get("MONITOR_SLACK_CHANNEL"),
            slack_webhook_url=get("MONITOR_SLACK_WEBHOOK_URL"),
            slack_api_url=get("MONITOR_SLACK_API_URL"),
            smtp=SmtpEnv(
                host=get("MONITOR_SMTP_HOST"),
                port=port,
                username=get("MONITOR_SMTP_USERNAME"),
                password=get("MONITOR_SMTP_PASSWORD"),
                security=security,
            ),
            http_address=get("MONITOR_HTTP_ADDRESS") or DEFAULT_HTTP_ADDRESS,
            http_address_explicit=get("MONITOR_HTTP_ADDRESS") is not None,
            worker_id=get("MONITOR_WORKER_ID") or "",
            web_token=get("MONITOR_WEB_TOKEN"),
        )

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or output (empty ones left out)."""
        out = [self.slack_bot_token, self.slack_webhook_url, self.smtp.password, self.web_token]
        # the password inside a database URL, if any
        from sqlalchemy.engine import make_url

        try:
            pw = make_url(self.database_url).password
        except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere
            pw = None
        out.append(pw)
        if self.slack_webhook_url and "/services/" in self.slack_webhook_url:
            out.append(self.slack_webhook_url.split("/services/", 1)[1])
        return [s for s in out if s and len(s) >= 4]
