"""Soak: 20 named viewers open the executive dashboard, filter it and close it, a few at a time, for five
minutes (``MKTDASH_SOAK_SECONDS``, default and cap 300; every viewer gets at least one round), against a real
`mktdash serve` with a preheated pool. Afterwards the kernels are back to the pool's size and their memory to
what the pool held before."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import statistics
import time

import psutil
import pytest
from conftest import CHROMIUM, server_fixture
from conftest import kernel_processes as kernel_procs
from conftest import user_password as password

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXEC = "/voila/render/30_exec_summary.ipynb"
VIEWERS = [f"viewer{i:02d}" for i in range(1, 21)]
AT_ONCE = 3
SECONDS = min(300.0, float(os.environ.get("MKTDASH_SOAK_SECONDS", "300")))
POOL = 1  # preheated kernels of the one dashboard served
PARAMS = f"""dashboard:
  notebooks: [30_exec_summary]
  preheat_kernels: {POOL}
  max_kernels: {AT_ONCE + POOL + 2}
  max_kernels_per_login: 2
  disconnect_grace_seconds: 1
  connect_timeout_seconds: 20
"""


server = server_fixture(VIEWERS, PARAMS, "serve_soak")


def kernel_rss(server: dict) -> int:
    total = 0
    for p in kernel_procs(server):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def settled_rss(server: dict, n: int, timeout: float) -> int:
    """The kernels' RSS once there are ``n`` (the pool) and their memory holds still (a pre-rendered pool)."""
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        count, rss = len(kernel_procs(server)), kernel_rss(server)
        if count == n and rss > 50e6 * n and abs(rss - last) <= 0.02 * rss:
            return rss
        if time.monotonic() > deadline:
            pytest.fail(
                f"{count} kernels ({rss / 1e6:.0f} MB) after {timeout:.0f} s, expected the pool's {n}"
            )
        last = rss
        time.sleep(3)  # polling process counts and memory


async def one_round(
    browser, url: str, name: str, channel: str, errors: list[str], times: list[float]
) -> None:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"{name}: page error {e}"))
    page.on("response", lambda r: errors.append(f"{name}: {r.status} {r.url}") if r.status >= 400 else None)
    try:
        await page.goto(url + "/login")
        await page.fill("#username", name)
        await page.fill("#password", password(name))
        await page.click("#login_submit")
        await page.wait_for_load_state()
        t0 = time.monotonic()
        await page.goto(url + EXEC, timeout=240_000)
        await page.wait_for_selector(".mk-app .mk-tile", timeout=240_000)
        times.append(time.monotonic() - t0)  # page time: request to first tile
        await page.select_option(".mk-channel select", channel)
        await page.wait_for_selector(f".mk-app .mk-dash[data-channel={channel}]", timeout=120_000)
        await page.close(run_before_unload=True)
    except Exception as e:  # a timeout or a failed step is an error of the soak
        errors.append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
    finally:
        await ctx.close()


async def soak(url: str, deadline: float, times: list[float]) -> tuple[int, list[str]]:
    from playwright.async_api import async_playwright

    errors: list[str] = []
    queue = list(VIEWERS)
    rounds = 0
    channels = ["search", "social", "display"]

    async def worker(i: int) -> None:
        nonlocal rounds
        while not errors and (queue or time.monotonic() < deadline):
            # the next viewer in turn: (rounds + i) gave consecutive rounds of two workers the same name, so
            # one login opened three pages at once, over max_kernels_per_login (a right 503, not a soak's)
            name = queue.pop(0) if queue else VIEWERS[rounds % len(VIEWERS)]
            rounds += 1
            await one_round(browser, url, name, channels[rounds % len(channels)], errors, times)

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        await asyncio.gather(*(worker(i) for i in range(AT_ONCE)))
        await browser.close()
    return rounds, errors


def test_soak_twenty_viewers(server):
    before = settled_rss(server, POOL, 240)  # the preheated pool is up
    times: list[float] = []
    # on a thread of its own: the session's sync Playwright (other browser tests) runs an event loop here
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as one:
        job = soak(server["url"], time.monotonic() + SECONDS, times)
        rounds, errors = one.submit(asyncio.run, job).result()
    assert not errors, errors[:10]
    assert rounds >= len(VIEWERS)
    after = settled_rss(server, POOL, 120)
    p50, p95 = (statistics.quantiles(times, n=20)[i] for i in (9, 18))
    print(
        f"soak: {rounds} rounds in >= {SECONDS:.0f} s, 0 errors; page time p50 {p50:.1f} s p95 {p95:.1f} s; "
        f"kernels {POOL} -> {len(kernel_procs(server))}; pool kernel RSS {before / 1e6:.0f} MB -> {after / 1e6:.0f} MB"
    )
    assert after <= before * 1.25  # the pool's own kernel(s), not leftovers of the viewers
