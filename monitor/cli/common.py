"""What every command shares: the settings context and the options accepted anywhere.

``--config``, ``--rules``, ``--log-level`` and ``--log-format`` work before
the subcommand (``monitor --config X poll``) and after it (``monitor poll
--config X``); the later one wins.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.cli.logs import setup_logging
from monitor.config import Settings
from monitor.errors import ConfigError, MonitorError
from monitor.service import App, build_app

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What the group options decided, shared with every subcommand."""

    def __init__(self, config: str | None, rules: str | None, log_level: str, log_format: str) -> None:
        self.config = config
        self.rules = rules
        self.log_level = log_level
        self.log_format = log_format
        self._settings: Settings | None = None

    @property
    def rules_dir(self) -> Path | None:
        """The rules folder chosen by ``--rules``/``--config`` (or their variables); None when neither was given."""
        return self.settings.rules_dir if (self.rules or self.config) else None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = Settings.from_env(config=self.config, rules=self.rules)
            except ConfigError as exc:
                fail(exc)
            setup_logging(level=self.log_level, fmt=self.log_format, secrets=self._settings.secrets())
        return self._settings

    def app(self, **kwargs: Any) -> App:
        try:
            return build_app(self.settings, **kwargs)
        except ConfigError as exc:
            fail(exc)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


def fail(exc: ConfigError) -> None:
    click.echo(f"{len(exc.problems)} problem(s) found:", err=True)
    for p in exc.problems:
        click.echo(f"  {p}", err=True)
    sys.exit(1)


def _setter(attr: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None:
            obj = ctx.find_object(Context)
            if obj is not None:
                setattr(obj, attr, value)
                obj._settings = None
        return value

    return callback


def common_options(f: F) -> F:
    """Accept the global options on a subcommand too."""
    f = click.option("--config", expose_value=False, callback=_setter("config"), help="feeds.toml to read.")(f)
    f = click.option("--rules", expose_value=False, callback=_setter("rules"), help="Rules folder.")(f)
    f = click.option(
        "--log-level", expose_value=False, callback=_setter("log_level"),
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False), help="Log level.",
    )(f)
    f = click.option(
        "--log-format", expose_value=False, callback=_setter("log_format"), type=click.Choice(["text", "json"]),
        help="text, or one JSON object per line.",
    )(f)
    return f
