"""The Dockerfile's own steps, done without a container engine.

The slow tests copy what the Dockerfile copies, ``pip install`` it (not
editable: this proves the migrations ship inside the package) into a clean
virtualenv, and run what the container runs: ``monitor check``, ``monitor db
upgrade``, and ``monitor run`` answering the HEALTHCHECK command.

No network: the clean virtualenv reaches the test environment's installed
dependencies through a ``.pth`` file, and pip runs with ``--no-index
--no-deps --no-build-isolation``, so the build backend (setuptools with
``bdist_wheel``, i.e. 70.1 or newer, or an older one plus ``wheel``) must
already be installed; the test says so and skips when it is not.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, args = pending.strip().partition(" ")
        out.append((word.upper(), " ".join(args.split())))
        pending = ""
    return out


def copied_sources() -> list[tuple[str, str]]:
    """(source, destination) of every COPY."""
    pairs = []
    for word, args in instructions():
        if word == "COPY":
            *sources, dest = args.split()
            pairs.extend((s, dest) for s in sources if not s.startswith("--"))
    return pairs


def healthcheck_command() -> list[str]:
    [args] = [a for w, a in instructions() if w == "HEALTHCHECK"]
    return json.loads(args.split(" CMD ", 1)[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_offline_build_backend() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


# ---- fast checks of the files themselves ----------------------------------------------------


def test_every_file_the_dockerfile_copies_exists_and_is_not_dockerignored():
    ignored = [
        p.strip().rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")
    ]
    sources = [s.rstrip("/") for s, _ in copied_sources()]
    assert {"pyproject.toml", "README.md", "monitor", "alembic", "feeds.toml", "rules"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: missing from the repository"
        assert not any(fnmatch.fnmatch(source, p) for p in ignored), f"COPY {source}: excluded by .dockerignore"


def test_the_dockerfile_runs_the_service_as_a_non_root_user_with_the_config_in_etc():
    found = instructions()
    env = " ".join(a for w, a in found if w == "ENV")
    for setting in ("MONITOR_CONFIG=/etc/monitor/feeds.toml", "MONITOR_RULES=/etc/monitor/rules", "MONITOR_HTTP_ADDRESS=0.0.0.0:8787"):
        assert setting in env
    assert ("USER", "monitor") in found
    assert ("CMD", '["monitor", "run"]') in found
    assert found[0] == ("FROM", "python:3.11-slim")
    assert healthcheck_command()[:2] == ["python", "-c"]


# ---- the steps, for real ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clean virtualenv with the package installed from a copy of the sources, as the Dockerfile does.

    Returns the paths: ``bin`` (the venv's scripts), ``etc`` (config copied as
    into /etc/monitor), ``data`` (the working directory, /data).
    """
    if not has_offline_build_backend():
        pytest.skip("building the package offline needs setuptools>=70.1 (or setuptools and wheel) installed")
    base = tmp_path_factory.mktemp("image")
    src, etc, data, venv = base / "src", base / "etc" / "monitor", base / "data", base / "venv"
    no_cache = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for source, dest in copied_sources():
        target = (etc if dest.startswith("/etc/monitor") else src) / source.rstrip("/")
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target, ignore=no_cache)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, target)
    data.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()
    # the dependencies (and pip, setuptools) of the environment running this test, without its editable install
    Path(purelib, "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation", str(src)],
        env=clean_env(base), capture_output=True, text=True, timeout=120,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return {"bin": venv / "bin", "etc": etc, "data": data}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: no MONITOR_*, no PYTHONPATH, no pip configuration.

    MONITOR_SIMILARITY=builtin: the image has no [semantic] extra, but the
    clean virtualenv sees this environment's packages, which may have it."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
        "MONITOR_SIMILARITY": "builtin",
        "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra,
    }


def monitor(image: dict[str, Path], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``monitor`` in /data with the container's config variables."""
    config = {"MONITOR_CONFIG": str(image["etc"] / "feeds.toml"), "MONITOR_RULES": str(image["etc"] / "rules")}
    return subprocess.run(
        [str(image["bin"] / "monitor"), *args], cwd=image["data"], env=clean_env(image["data"], **config | env),
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.slow
def test_the_package_is_installed_as_a_copy_with_its_migrations(image):
    probe = subprocess.run(
        [str(image["bin"] / "python"), "-c",
         "import monitor, monitor.db.migrate as m; print(monitor.__file__); print(m.script_location())"],
        cwd=image["data"], env=clean_env(image["data"]), capture_output=True, text=True, timeout=30, check=True,
    )
    package, migrations = probe.stdout.split()
    venv = image["bin"].parent
    assert Path(package).is_relative_to(venv), "the editable checkout was imported, not the installed copy"
    assert Path(migrations).is_relative_to(venv) and Path(migrations).name == "migrations"


@pytest.mark.slow
def test_monitor_check_passes_on_the_shipped_config(image):
    result = monitor(image, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


@pytest.mark.slow
def test_monitor_db_upgrade_creates_the_schema_from_the_installed_migrations(image, tmp_path):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    result = monitor(image, "db", "upgrade", MONITOR_DATABASE_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database at revision" in result.stdout
    assert (tmp_path / "monitor.db").is_file()
    current = monitor(image, "db", "current", MONITOR_DATABASE_URL=url)
    revisions = current.stdout.split()
    assert revisions[1] == revisions[3] != "None", current.stdout  # current: X  head: X


@pytest.mark.slow
def test_the_healthcheck_command_passes_once_monitor_run_is_up_and_sigterm_exits_0(image, tmp_path):
    (tmp_path / "feeds.toml").write_text("# no feeds: nothing leaves this machine\n")
    port = free_port()
    check = [str(image["bin"] / "python"), *healthcheck_command()[1:]]
    check[-1] = check[-1].replace("127.0.0.1:8787", f"127.0.0.1:{port}")
    env = clean_env(
        tmp_path, MONITOR_CONFIG=str(tmp_path / "feeds.toml"), MONITOR_RULES=str(image["etc"] / "rules"),
        MONITOR_HTTP_ADDRESS=f"127.0.0.1:{port}", MONITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'monitor.db'}",
    )
    assert subprocess.run(check, env=env, capture_output=True, timeout=30).returncode != 0  # nothing listens yet
    service = subprocess.Popen(
        [str(image["bin"] / "monitor"), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while not healthy and time.monotonic() < deadline and service.poll() is None:
            healthy = subprocess.run(check, env=env, capture_output=True, timeout=30).returncode == 0
            if not healthy:
                time.sleep(0.2)
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert healthy, output
    assert service.returncode == 0, output
