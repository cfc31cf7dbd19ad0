"""Shared fixtures. Each area keeps its own fixtures in its test files; only cross-area ones live here."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "tests" / "fixtures" / "external"
sys.path.insert(0, str(ROOT / "tests" / "support"))  # worlds and synthetic data shared by the areas' tests


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty MKTDASH_HOME: data/ and outputs/ go to a temp dir (params and notebooks stay the repo's)."""
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return path
