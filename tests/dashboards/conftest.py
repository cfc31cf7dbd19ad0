"""Fixtures for the dashboard browser tests: a published test world, a running `mktdash serve`, Chromium.

Everything is session-scoped (one world, one server, one browser) to keep the area under ~3 minutes.
Tests skip with a clear reason when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]

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


def start_serve(home: Path, extra_params: str, name: str = "serve", env: dict | None = None) -> dict:
    """`python -m mktdash.dashboards.serve` on a free port over ``home`` with a known token and ``extra_params`` (YAML).

    Returns url, token, home, proc and log (the server's output file); :func:`stop_serve` ends it.
    """
    need_browser()
    port, token = _free_port(), secrets.token_urlsafe(16)
    env = {**os.environ, "MKTDASH_HOME": str(home), "MKTDASH_TOKEN": token, **(env or {})}
    log_path = home / f"{name}.log"
    log = open(log_path, "w")  # noqa: SIM115
    extra = home / f"{name}.yaml"
    extra.write_text(extra_params, encoding="utf-8")
    smoke = ROOT / "params" / "test" / "smoke.yaml"  # tiny MMM fit for the budget dashboard's kernels
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mktdash.dashboards.serve",
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
                pytest.fail("mktdash serve did not start:\n" + log_path.read_text())
            time.sleep(0.2)  # polling a port (not waiting on the page): allowed
    return {"url": url, "token": token, "home": home, "proc": proc, "log": log_path, "_log": log}


def stop_serve(server: dict) -> None:
    proc = server["proc"]
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    server["_log"].close()


def user_password(name: str) -> str:
    return f"{name}-test-password"


@contextlib.contextmanager
def users_server(world: dict, names: Sequence[str], params: str, name: str) -> Iterator[dict]:
    """A server of its own over the test world, with named users (password :func:`user_password`)."""
    from mktdash.dashboards import users

    for n in names:
        users.add_user(n, user_password(n), world["home"] / ".secrets" / "dashboard_users")
    server = start_serve(world["home"], params, name=name)
    try:
        yield {**server, "world": world}
    finally:
        stop_serve(server)


def server_fixture(names: Sequence[str], params: str, name: str):
    """A module-scoped ``server`` fixture: :func:`users_server` with these users and params."""

    @pytest.fixture(scope="module")
    def server(dash_world: dict) -> Iterator[dict]:
        with users_server(dash_world, names, params, name) as s:
            yield s

    return server


def kernel_processes(server: dict) -> list:
    """The server's kernels, counted as its ``ipykernel`` child processes (psutil)."""
    import psutil

    out = []
    for c in psutil.Process(server["proc"].pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(c.cmdline()):
                out.append(c)
        except psutil.NoSuchProcess:
            continue
    return out


@pytest.fixture(scope="session")
def dash_server(dash_world: dict) -> Iterator[dict]:
    """The shared server of the dashboard tests; yields url, token, home, proc, world."""
    # the tests open ~10 pages with the shared token (one login) and try wrong tokens: room for both
    server = start_serve(
        dash_world["home"],
        "dashboard:\n  max_kernels: 16\n  max_kernels_per_login: 12\n  cull_idle_seconds: 300\n"
        "  login_max_failures: 1000\n  login_delay_seconds: 0\n",
    )
    yield {**server, "world": dash_world}
    stop_serve(server)


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
