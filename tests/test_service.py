"""The service's own duties: rules reloaded on change (broken ones refused), and the SQLite single-worker lock."""

from __future__ import annotations

import io
from collections.abc import Iterator
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


# ---- the HTTP endpoint when its address is taken ---------------------------------------------


def run_briefly(service: Service) -> None:
    """Start the service, wait until it is healthy, stop it (raises what the start raised)."""
    import asyncio

    async def scenario() -> None:
        run = asyncio.create_task(service.run())
        while not service.healthy:  # bounded by the test timeout
            if run.done():
                await run  # raises the start's error
            await asyncio.sleep(0.05)
        service.stop()
        await run

    asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process (here: a listening socket) already holds."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_settings_tell_a_named_http_address_from_the_default(tmp_path: Path) -> None:
    default = Settings.from_env({}, cwd=tmp_path)
    named = Settings.from_env({"MONITOR_HTTP_ADDRESS": "127.0.0.1:8787"}, cwd=tmp_path)
    assert (default.http_address, default.http_address_explicit) == ("127.0.0.1:8787", False)
    assert (named.http_address, named.http_address_explicit) == ("127.0.0.1:8787", True)


def test_the_default_address_taken_is_one_warning_and_the_worker_runs_without_its_endpoint(
    tmp_path: Path, taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    app = make_app(tmp_path)
    app.settings = dataclasses.replace(app.settings, http_address=f"127.0.0.1:{taken_port}", http_address_explicit=False)
    service = Service(app, tick=0.2)
    with caplog.at_level("WARNING", logger="monitor.service"):
        run_briefly(service)
    assert service.ops is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and f"127.0.0.1:{taken_port} is taken" in warnings[0], warnings


def test_a_named_address_that_cannot_be_bound_stops_the_start(tmp_path: Path, taken_port: int) -> None:
    import dataclasses

    from monitor.errors import ListenError

    app = make_app(tmp_path)
    app.settings = dataclasses.replace(app.settings, http_address=f"127.0.0.1:{taken_port}", http_address_explicit=True)
    with pytest.raises(ListenError) as err:
        run_briefly(Service(app, tick=0.2))
    assert err.value.in_use and err.value.address == f"127.0.0.1:{taken_port}"
    assert str(err.value).startswith(f"http: cannot listen on 127.0.0.1:{taken_port}: ")
    assert "MONITOR_HTTP_ADDRESS" in str(err.value)


def test_the_default_address_that_is_not_merely_taken_is_still_an_error(tmp_path: Path) -> None:
    import dataclasses

    from monitor.errors import ListenError

    app = make_app(tmp_path)
    # 192.0.2.1 (TEST-NET-1) is no address of this host: binding it fails with "cannot assign", not "in use"
    app.settings = dataclasses.replace(app.settings, http_address="192.0.2.1:8787", http_address_explicit=False)
    with pytest.raises(ListenError) as err:
        run_briefly(Service(app, tick=0.2))
    assert not err.value.in_use
