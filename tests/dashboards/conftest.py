"""Fixtures for the dashboard browser tests: a published test world, a running `mktdash serve`, Chromium.

Everything is session-scoped (one world, one server, one browser) to keep the area under ~3 minutes.
Tests skip with a clear reason when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))

import world  # noqa: E402


def need_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install -y chromium); CI installs it before the tests")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("needs the playwright Python package (pip install -e '.[test]')")


@pytest.fixture(scope="session")
def dash_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A tmp MKTDASH_HOME with a small warehouse, three archived runs and a published snapshot."""
    home = tmp_path_factory.mktemp("dash_home")
    with pytest.MonkeyPatch.context() as mp:  # only while building: other test modules keep their own env
        mp.setenv("MKTDASH_HOME", str(home))
        info = world.build(home, n_weeks=24)  # the budget notebook's MMM needs >= 20 weeks
    info["home"] = home
    yield info


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def dash_server(dash_world: dict) -> Iterator[dict]:
    """`python -m mktdash.serve` on a free port with a known token; yields url, token, home."""
    need_browser()
    port, token = _free_port(), secrets.token_urlsafe(16)
    env = {**os.environ, "MKTDASH_HOME": str(dash_world["home"]), "MKTDASH_TOKEN": token}
    log = open(dash_world["home"] / "serve.log", "w")  # noqa: SIM115
    extra = dash_world["home"] / "serve.yaml"  # the tests open ~10 pages: room for them plus the preheat pool
    extra.write_text("dashboard:\n  max_kernels: 16\n  cull_idle_seconds: 300\n", encoding="utf-8")
    smoke = ROOT / "params" / "test" / "smoke.yaml"  # tiny MMM fit for the budget dashboard's kernels
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mktdash.serve",
            "--port",
            str(port),
            "--params",
            str(smoke),
            "--params",
            str(extra),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/login", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("mktdash serve did not start:\n" + (dash_world["home"] / "serve.log").read_text())
            time.sleep(0.2)  # polling a port (not waiting on the page): allowed
    yield {"url": url, "token": token, "home": dash_world["home"], "proc": proc, "world": dash_world}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def screenshots_dir() -> Path | None:
    """docs/img when MKTDASH_SCREENSHOTS=1 (README screenshots come from the tests)."""
    if os.environ.get("MKTDASH_SCREENSHOTS") == "1":
        d = ROOT / "docs" / "img"
        d.mkdir(parents=True, exist_ok=True)
        return d
    return None
