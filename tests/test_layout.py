"""The package's layering, as written in pyproject.toml's import-linter contract.

Imports point one way (command line, service, pipeline and outputs, readers and
stores, config, the bottom); a change that breaks it fails here, not in review.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_layering_contract_is_kept() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "monitor", tmp_path / "monitor")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    html = tmp_path / "monitor" / "text" / "html.py"
    html.write_text(html.read_text() + "\nfrom monitor.db import StoryRow  # an upward import\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "monitor.text.html -> monitor.db" in result.stdout


def test_the_readme_layout_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1]
    for pkg in sorted(p.name for p in (ROOT / "monitor").iterdir() if (p / "__init__.py").is_file()):
        assert f"  {pkg}/" in block, pkg
