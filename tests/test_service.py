"""The service's own duties: rules reloaded on change (broken ones refused), and the SQLite single-worker lock."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.notify import ConsoleNotifier
from monitor.service import build_app
from monitor.service.runner import InstanceLock, Service, rules_signature


def make_app(tmp_path: Path):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "pentagon.toml").write_text('name = "Pentagon"\nquery = "Pentagon"\n', encoding="utf-8")
    (tmp_path / "feeds.toml").write_text("# no feeds yet\n", encoding="utf-8")
    settings = Settings.from_env(
        {"MONITOR_HTTP_ADDRESS": "off", "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}"}, cwd=tmp_path
    )
    return build_app(settings, notifier=ConsoleNotifier(io.StringIO()))


def test_a_changed_rules_folder_is_reloaded_and_a_broken_rule_keeps_the_running_rules(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    service = Service(app)
    before = rules_signature(app.settings.rules_dir)
    (tmp_path / "rules" / "kremlin.toml").write_text('name = "Kremlin"\nquery = "Kremlin"\n', encoding="utf-8")
    assert rules_signature(app.settings.rules_dir) != before
    service.reload_rules()
    assert sorted(r.id for r in app.rules) == ["kremlin", "pentagon"]
    (tmp_path / "rules" / "broken.toml").write_text('name = "Broken"\nquery = "Kremlin AND ("\n', encoding="utf-8")
    service.reload_rules()
    assert sorted(r.id for r in app.rules) == ["kremlin", "pentagon"]


def test_the_service_refuses_to_start_with_a_broken_rule(tmp_path: Path) -> None:
    make_app(tmp_path)
    (tmp_path / "rules" / "broken.toml").write_text('name = "Broken"\nquery = "NEAR/3"\n', encoding="utf-8")
    settings = Settings.from_env({"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}"}, cwd=tmp_path)
    with pytest.raises(ConfigError) as err:
        build_app(settings)
    assert "broken.toml" in str(err.value)


def test_a_second_instance_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    first, second = InstanceLock(url), InstanceLock(url)
    first.acquire()
    try:
        with pytest.raises(ConfigError) as err:
            second.acquire()
        assert "PostgreSQL" in str(err.value)
    finally:
        first.release()
    second.acquire()  # free again once the first is gone
    second.release()


def test_postgresql_needs_no_instance_lock() -> None:
    lock = InstanceLock("postgresql://u@127.0.0.1/db")
    lock.acquire()
    assert lock.path is None
