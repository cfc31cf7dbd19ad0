"""`mktdash serve` under use and abuse, against a real server (its own, with small limits) and Chromium.

Kernels are counted as the server's ``ipykernel`` child processes (psutil), never from the server's own report.
"""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import Message

import pytest
from conftest import kernel_processes as kernels
from conftest import server_fixture
from conftest import user_password as password

from mktdash.dashboards import users

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXEC = "/voila/render/30_exec_summary.ipynb"
TIMEOUT = 180_000
NAMES = ("alice", "bob", "carol", "dave", "erin")
GRACE, CONNECT = (
    1,
    10,
)  # seconds: a gone page's kernel ends after GRACE, a never-connected one after CONNECT idle
LIMITS = f"""dashboard:
  notebooks: [30_exec_summary]
  preheat_kernels: 0
  max_kernels: 4
  max_kernels_per_login: 2
  disconnect_grace_seconds: {GRACE}
  connect_timeout_seconds: {CONNECT}
  login_max_failures: 3
  login_window_seconds: 120
  login_lockout_seconds: 120
  login_delay_seconds: 0.05
"""


server = server_fixture(NAMES, LIMITS, "serve_limits")


def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)  # polling process counts and files, not the page


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Client:
    """A plain HTTP client with its own cookies (one browser session without a browser)."""

    def __init__(self, url: str) -> None:
        self.url, self.jar = url, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, data: dict | None = None, timeout: float = 180) -> tuple[int, Message, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.url + path, body, timeout=timeout) as r:
                return r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")

    def login(self, name: str, pw: str) -> tuple[int, Message, str]:
        self.request("/login")
        xsrf = next(c.value for c in self.jar if c.name == "_xsrf")
        return self.request("/login", {"username": name, "password": pw, "_xsrf": xsrf})


def browser_login(browser, server: dict, name: str):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server["url"] + "/login")
    page.fill("#username", name)
    page.fill("#password", password(name))
    page.click("#login_submit")
    page.wait_for_load_state()
    return ctx, page


def watch(page, requests: list[str], failures: list[tuple[int, str]]):
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "response",
        lambda r: failures.append((r.status, r.url)) if r.status >= 400 and r.status != 503 else None,
    )
    return page


def impatient_reload(ctx, page, url: str, requests: list[str], failures: list[tuple[int, str]]):
    """Reload without waiting for the page: navigations cut short by the next one may leave Chromium's page
    detached, then the viewer goes on in a new tab of the same session."""
    from playwright.sync_api import Error

    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT)
        return page
    except Error:
        page.close()
        return watch(ctx.new_page(), requests, failures)


def test_thirty_reloads_then_a_second_viewer_renders(server, browser):
    """Reloads free their kernel at once; quick reloads hit only alice's own limit; bob still gets a page;
    afterwards every kernel is gone; every request the pages make goes to the server itself."""
    requests: list[str] = []
    failures: list[tuple[int, str]] = []
    ctx, page = browser_login(browser, server, "alice")
    ctx2, page2 = browser_login(browser, server, "bob")
    try:
        watch(page, requests, failures).goto(server["url"] + EXEC, timeout=TIMEOUT)
        page.wait_for_selector(".mk-app .mk-tile", timeout=TIMEOUT)
        for _ in range(3):  # reloads after the page is up: the beacon ends the old kernel at once
            page.reload(timeout=TIMEOUT)
            page.wait_for_selector(".mk-app .mk-tile", timeout=TIMEOUT)
            wait_until(lambda: len(kernels(server)) == 1, 15, "one kernel per open page")
        for _ in range(27):  # impatient reloads, before the page is up
            page = impatient_reload(ctx, page, server["url"] + EXEC, requests, failures)
        wait_until(lambda: len(kernels(server)) <= 2, 20, "alice's kernels within max_kernels_per_login")

        watch(page2, requests, failures).goto(server["url"] + EXEC, timeout=TIMEOUT)
        page2.wait_for_selector(".mk-app .mk-tile", timeout=TIMEOUT)
        assert page2.get_attribute(".mk-app .mk-tile[data-metric=spend]", "data-value")
    finally:
        ctx.close()
        ctx2.close()
    wait_until(lambda: not kernels(server), CONNECT + 60, "every kernel to end after the pages closed")
    assert not failures, failures[:5]
    origin = server["url"] + "/"
    foreign = sorted({u for u in requests if not u.startswith((origin, "data:", "blob:"))})
    assert not foreign, foreign  # nothing leaves the machine (no CDN)


def test_per_login_limit_answers_503_with_retry_after(server):
    """Three plain GETs at once by one login (limit 2): one 503 saying when to retry; the kernels of pages
    that never connected end by themselves."""
    from concurrent.futures import ThreadPoolExecutor

    c = Client(server["url"])
    assert c.login("carol", password("carol"))[0] == 302
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: c.request(EXEC), range(3)))
    codes = sorted(a[0] for a in answers)
    assert codes == [200, 200, 503], codes
    _, headers, body = next(a for a in answers if a[0] == 503)
    retry = int(headers["Retry-After"])
    assert 5 <= retry <= CONNECT + 10
    assert f'<strong id="retry-after">{retry}</strong>' in body and "close one of them" in body
    wait_until(lambda: not kernels(server), CONNECT + 60, "unconnected kernels to end")
    assert c.request(EXEC)[0] == 200  # room again
    wait_until(lambda: not kernels(server), CONNECT + 60, "the last kernel to end")


def test_a_busy_page_says_when_and_recovers_by_itself(server, browser):
    """Carol's two pages that never connected hold her limit: her browser gets the 503 page, which reloads
    itself after Retry-After; once those kernels ended, the same tab shows the dashboard, with no click."""
    from concurrent.futures import ThreadPoolExecutor

    c = Client(server["url"])
    assert c.login("carol", password("carol"))[0] == 302
    with ThreadPoolExecutor(2) as pool:
        assert [a[0] for a in pool.map(lambda _: c.request(EXEC), range(2))] == [200, 200]
    ctx, page = browser_login(browser, server, "carol")
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if EXEC in r.url else None)
    try:
        page.goto(server["url"] + EXEC, timeout=TIMEOUT)
        retry = int(page.inner_text("#retry-after"))
        assert statuses == [503] and 5 <= retry <= CONNECT + 10
        page.wait_for_selector(".mk-app .mk-tile", timeout=TIMEOUT)  # the page reloaded itself
        assert statuses[0] == 503 and statuses[-1] == 200
    finally:
        ctx.close()
    wait_until(lambda: not kernels(server), CONNECT + 60, "every kernel to end")


def test_lockout_after_n_failures(server):
    c = Client(server["url"])
    t0 = time.monotonic()
    codes = [c.login("dave", "wrong-password")[0] for _ in range(3)]
    assert codes == [401, 401, 429]
    assert time.monotonic() - t0 >= 0.05 + 0.1  # each failure answered after a doubling delay
    status, headers, body = c.login("dave", password("dave"))  # the right password, but locked out
    assert status == 429 and 60 < int(headers["Retry-After"]) <= 120 and "Too many failed sign-ins" in body
    assert Client(server["url"]).login("erin", password("erin"))[0] == 302  # other names are not locked
    log = [r for r in users.read_access(server["home"] / "data" / "dashboard" / "access.jsonl")]
    assert sum(r["event"] == "login_failed" and r["login"] == "dave" for r in log) >= 2
    assert any(r["event"] == "login_locked" and r["login"] == "dave" for r in log)
    assert "wrong-password" not in json.dumps(log)


def test_logout_and_cookie_attributes(server):
    c = Client(server["url"])
    status, headers, _ = c.login("erin", password("erin"))
    assert status == 302
    session = [v for v in headers.get_all("Set-Cookie") if v.startswith("username-")]
    assert len(session) == 1
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in session[0].split(";")[1:]}
    assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax"
    assert "secure" not in attrs  # plain HTTP on 127.0.0.1 (behind_tls: true adds Secure)
    xsrf = [
        v for v in Client(server["url"]).request("/login")[1].get_all("Set-Cookie") if v.startswith("_xsrf=")
    ]
    assert len(xsrf) == 1 and "samesite=lax" in xsrf[0].lower()
    assert c.request("/")[0] == 200
    status, _, body = c.request("/logout")
    assert status == 200 and "signed out" in body
    status, headers, _ = c.request("/")
    assert status == 302 and "/login" in headers["Location"]
    assert any(
        r["event"] == "logout" and r["login"] == "erin"
        for r in users.read_access(server["home"] / "data" / "dashboard" / "access.jsonl")
    )


def test_no_secret_in_logs_or_kernel_env(server, browser):
    c = Client(server["url"])
    for bad in ("wrong-token-1", server["token"][:-1] + "x"):
        c.request(f"{EXEC}?token={bad}")
    assert c.request(f"/voila/api/shutdown/nope?token={server['token']}", {"x": "1"})[0] in (403, 404)
    ctx, page = browser_login(browser, server, "alice")
    page.goto(f"{server['url']}{EXEC}", timeout=TIMEOUT)
    page.wait_for_selector(".mk-app .mk-tile", timeout=TIMEOUT)
    envs = [k.environ() for k in kernels(server)]
    ctx.close()
    assert envs and all("MKTDASH_TOKEN" not in e for e in envs)
    assert all(server["token"] not in v for e in envs for v in e.values())
    log = server["log"].read_text()
    assert server["token"] not in log and "wrong-token-1" not in log
    assert password("alice") not in log and password("dave") not in log
    assert "token=" not in log.replace("token=[secret]", "")


def test_saved_view_reopens_for_its_owner_only(server, browser):
    ctx, page = browser_login(browser, server, "alice")
    page.goto(server["url"] + EXEC, timeout=TIMEOUT)
    page.wait_for_selector(".mk-app .mk-tile", timeout=TIMEOUT)
    page.select_option(".mk-channel select", "search")
    page.wait_for_selector(".mk-app .mk-dash[data-channel=search]", timeout=TIMEOUT)
    page.click(".mk-views summary")
    page.uncheck(".mk-tiles-pick input[data-metric=roas]")
    page.fill(".mk-view-name", "Search <b>only</b>")
    page.click(".mk-view-save")
    link = page.wait_for_selector(".mk-view-saved-link", timeout=30_000).get_attribute("href")
    assert link == "/views/search-b-only-b"
    page.close(run_before_unload=True)
    page = ctx.new_page()
    page.goto(server["url"] + link, timeout=TIMEOUT)
    page.wait_for_selector(".mk-app .mk-dash[data-channel=search]", timeout=TIMEOUT)
    assert not page.is_visible(".mk-app .mk-tile[data-metric=roas]")
    assert page.is_visible(".mk-app .mk-tile[data-metric=spend]")
    page.click(".mk-views summary")
    names = page.locator(".mk-view-link").all_inner_texts()
    assert "Search <b>only</b>" in names  # shown as text
    ctx.close()

    c = Client(server["url"])
    c.login("bob", password("bob"))
    assert c.request(link)[0] == 404
    assert json.loads(c.request("/mktdash/api/views")[2]) == {"views": []}
    wait_until(lambda: not kernels(server), CONNECT + 60, "every kernel to end")
