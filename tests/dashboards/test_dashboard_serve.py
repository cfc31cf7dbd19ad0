"""`mktdash serve` configuration: login modes, culling, kernel bound, landing page (the browser tests run it)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tornado import web

from mktdash import params
from mktdash.dashboards import admission, pages, serve, serve_auth


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MKTDASH_HOME", str(tmp_path))
    monkeypatch.delenv("MKTDASH_TOKEN", raising=False)
    return tmp_path


def test_token_from_env(home, monkeypatch):
    monkeypatch.setenv("MKTDASH_TOKEN", "s3cret")
    cfg, how, printed = serve.auth_config()
    assert cfg == {"Voila": {"token": "s3cret"}} and printed is None and "MKTDASH_TOKEN" in how


def test_hashed_password_file(home):
    from jupyter_server.auth import passwd

    f = serve.password_file()
    f.parent.mkdir(parents=True)
    hashed = passwd("correct horse")
    f.write_text(hashed + "\n")
    cfg, _, printed = serve.auth_config()
    assert cfg["Voila"]["token"] == "" and printed is None
    assert cfg["PasswordIdentityProvider"] == {"hashed_password": hashed, "password_required": True}


def test_generated_token_when_nothing_configured(home):
    cfg1, _, t1 = serve.auth_config()
    _, _, t2 = serve.auth_config()
    assert t1 and len(t1) >= 24 and t1 != t2 and cfg1["Voila"]["token"] == t1


def test_config_culls_bounds_and_hides_code(home, tmp_path):
    s = params.resolve(
        overrides={"dashboard": {"cull_idle_seconds": 120, "max_kernels": 3, "preheat_kernels": 0}}
    )
    cfg = serve.build_config(s, port=9999, host="127.0.0.1", open_browser=False, root=tmp_path)
    assert cfg["MappingKernelManager"]["cull_idle_timeout"] == 120
    assert cfg["MappingKernelManager"]["cull_interval"] == 60
    assert cfg["BoundedKernelManager"]["max_kernels"] == 3
    vc = cfg["VoilaConfiguration"]
    assert vc["strip_sources"] is True and vc["show_tracebacks"] is False
    assert vc["allow_template_override"] == "NO" and vc["preheat_kernel"] is False
    assert vc["template"] == serve.TEMPLATE
    assert cfg["Voila"]["ip"] == "127.0.0.1" and cfg["Voila"]["port_retries"] == 0


def test_kernel_limit_refuses_with_503():
    _, km_cls = serve._make_app_class()
    km = km_cls(max_kernels=0)
    # in a fresh thread: an earlier in-process notebook run may leave this thread's event loop running
    with pytest.raises(web.HTTPError) as e, ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, km.start_kernel()).result()
    assert e.value.status_code == 503


def test_landing_page_escapes_and_links(home):
    pub = home / "outputs" / "published"
    pub.mkdir(parents=True)
    (pub / "latest.json").write_text(
        json.dumps(
            {"run_id": "<b>r1</b>", "week": "2026-W47", "run_dir": "runs/x", "snapshot": "published/x.duckdb"}
        )
    )
    page = pages.landing_html("/")
    assert "&lt;b&gt;r1&lt;/b&gt;" in page and "<b>r1</b>" not in page
    assert 'href="/voila/render/30_exec_summary.ipynb"' in page and 'href="/archive/index.html"' in page


def test_the_busy_and_error_pages_escape_what_they_show() -> None:
    busy = pages.busy_page("<img src=x onerror=alert(1)>", 7, '/"><script>/')
    assert "<img" not in busy and "&lt;img src=x onerror=alert(1)&gt;" in busy
    assert '<meta http-equiv="refresh" content="7">' in busy and "<script>" not in busy
    error = serve_auth.page("404 <i>x</i>", "<script>alert(1)</script>", link='"><b>', link_text="<u>")
    assert "<script>" not in error and "<i>" not in error and "<b>" not in error and "<u>" not in error
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in error


def test_bad_params_exit_2(home, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dashboard:\n  max_kernel: 3\n")
    assert serve.main(["--params", str(bad)]) == 2
    assert "max_kernels" in capsys.readouterr().err


def test_first_paint_template_is_found_by_voila(monkeypatch):
    """The served template resolves, through $JUPYTER_PATH, to ours on top of Voilà's lab template."""
    from voila.paths import collect_template_paths

    monkeypatch.setenv("JUPYTER_PATH", str(serve.JUPYTER_DATA))
    found = collect_template_paths(["voila", "nbconvert"], serve.TEMPLATE, prune=True)
    assert Path(found[0]) == serve.JUPYTER_DATA / "voila" / "templates" / serve.TEMPLATE
    assert any(p.endswith("voila/templates/lab") for p in found)  # the base it extends
    assert "mk-first-paint" in (Path(found[0]) / "index.html.j2").read_text()


# ---- login, users, views, kernel limits (issue 21 / 24) ------------------------------------------------------
def test_users_file_hashes_and_authenticates(home):
    from mktdash.dashboards import users

    assert users.add_user("alice", "correct horse") is True
    assert users.add_user("alice", "battery staple") is False  # password changed
    text = users.users_file().read_text()
    assert "battery" not in text and "horse" not in text and text.count("alice\t$argon2id$") == 1
    assert users.users_file().stat().st_mode & 0o077 == 0  # owner only
    u = users.load_users()
    assert users.authenticate("alice", "battery staple", u)
    assert not users.authenticate("alice", "correct horse", u) and not users.authenticate("bob", "x" * 9, u)
    assert users.remove_user("alice") and users.load_users() == {}


def test_scrypt_fallback_round_trip(monkeypatch):
    import builtins

    from mktdash.dashboards import users

    real_import = builtins.__import__

    def no_argon2(name, *a, **k):
        if name.startswith("argon2"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_argon2)
    h = users.hash_password("s3cret-pass")
    assert h.startswith("scrypt$16384$8$1$")
    assert users.verify_password(h, "s3cret-pass") and not users.verify_password(h, "s3cret-pasS")
    assert not users.verify_password("scrypt$1$2$x", "s3cret-pass")  # malformed: refused, no exception


@pytest.mark.parametrize(
    ("name", "pw", "msg"),
    [
        ("token", "long-enough", "not allowed"),
        ("a b", "long-enough", "not allowed"),
        ("carol", "short", "too short"),
    ],
)
def test_users_add_refuses_bad_input(home, name, pw, msg):
    from mktdash.dashboards import users

    with pytest.raises(users.UsersError, match=msg):
        users.add_user(name, pw)


def test_users_file_error_names_line(home):
    from mktdash.dashboards import users

    f = users.users_file()
    f.parent.mkdir(parents=True)
    f.write_text("# c\nalice\t$argon2id$x\nbroken line\n")
    with pytest.raises(users.UsersError, match=r"dashboard_users, line 3: expected NAME<TAB>HASH"):
        users.load_users()


def test_cli_users_add_from_stdin(home, monkeypatch, capsys):
    import io

    from mktdash import cli
    from mktdash.dashboards import users

    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-pw\n"))
    assert cli.main(["users", "add", "dora"]) == 0
    assert "from-stdin-pw" not in capsys.readouterr().out
    assert users.authenticate("dora", "from-stdin-pw", users.load_users())
    assert cli.main(["users", "remove", "nobody"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "dora"]) == 2


def test_login_limiter_delays_then_locks_out():
    from mktdash.dashboards.users import LoginLimiter

    now = [0.0]
    lim = LoginLimiter(max_failures=3, window=60, lockout=100, delay=0.5, clock=lambda: now[0])
    assert [lim.failure("ip|a"), lim.failure("ip|a")] == [0.5, 1.0]
    assert lim.locked_for("ip|a") == 0 and lim.locked_for("ip|b") == 0
    lim.failure("ip|a")
    assert lim.locked_for("ip|a") == 100
    now[0] = 60
    assert lim.locked_for("ip|a") == 40
    now[0] = 101
    assert lim.locked_for("ip|a") == 0
    lim.failure("ip|a")
    now[0] = 200  # older failures leave the window
    lim.failure("ip|a")
    assert lim.locked_for("ip|a") == 0
    lim.success("ip|a")
    assert lim.failure("ip|a") == 0.5


def test_access_log_rows(home):
    from mktdash.dashboards import users

    users.record_access("alice", "view", "/voila/render/30_exec_summary.ipynb")
    users.record_access("alice", "logout")
    rows = users.read_access()
    assert [(r["login"], r["event"]) for r in rows] == [("alice", "view"), ("alice", "logout")]
    assert rows[0]["page"].endswith("30_exec_summary.ipynb") and "page" not in rows[1]


def test_views_store_per_login_and_survives_reopen(home):
    from mktdash.dashboards import views

    v = views.parse(
        {
            "name": "Search W47",
            "selection": {"week": "2026-W47", "channel": "search"},
            "hidden_tiles": ["roas"],
        }
    )
    views.ViewStore().save("alice", v)
    again = views.ViewStore()  # a new store on the same file: as after a restart
    got = again.get("alice", "search-w47")
    assert got is not None and got.selection == {"week": "2026-W47", "channel": "search"}
    assert got.hidden_tiles == ["roas"] and again.get("bob", "search-w47") is None and again.list("bob") == []
    assert views.query(got) == "week=2026-W47&channel=search&hide=roas"
    assert again.delete("alice", "search-w47") and not again.delete("alice", "search-w47")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"selection": {}}, "name"),
        ({"name": "x", "selection": {"week": 3}}, "selection.week"),
        ({"name": "x", "selection": {"color": "red"}}, "selection"),
        ({"name": "x", "hidden_tiles": ["<script>"]}, "hidden_tiles"),
        ({"name": "x", "dashboard": "budget"}, "dashboard"),
        ([], "JSON object"),
    ],
)
def test_views_parse_refuses_bad_payloads(payload, field):
    from mktdash.dashboards import views

    with pytest.raises(views.ViewError, match=field):
        views.parse(payload)


def test_scrub_kernel_env_removes_secrets_only():
    env = {
        "MKTDASH_TOKEN": "t",
        "MKTDASH_PII_SALT": "s",
        "AWS_SECRET_ACCESS_KEY": "k",
        "HOME": "/root",
        "PATH": "/bin",
    }
    assert serve.scrub_kernel_env(env) == ["AWS_SECRET_ACCESS_KEY", "MKTDASH_PII_SALT", "MKTDASH_TOKEN"]
    assert env == {"HOME": "/root", "PATH": "/bin"}


def test_log_filter_blanks_tokens_and_passwords():
    import logging

    from mktdash.dashboards.serve_auth import ScrubSecrets

    rec = logging.LogRecord(
        "t", logging.WARNING, "", 0, "403 GET %s referer=%s", ("/x?token=abc123&a=1", "tok-literal-9"), None
    )
    ScrubSecrets(["tok-literal-9"]).filter(rec)
    assert rec.getMessage() == "403 GET /x?token=[secret]&a=1 referer=[secret]"


def test_config_limits_and_cookies(home, tmp_path):
    s = params.resolve(
        overrides={"dashboard": {"max_kernels": 4, "max_kernels_per_login": 9, "behind_tls": True}}
    )
    cfg = serve.build_config(s, port=9999, host="127.0.0.1", open_browser=False, root=tmp_path)
    km = cfg["BoundedKernelManager"]
    assert km["max_kernels"] == 4 and km["max_kernels_per_login"] == 3  # kept below max_kernels
    assert cfg["MktdashIdentityProvider"] == {"cookie_options": {"samesite": "Lax"}, "secure_cookie": True}
    ts = cfg["Voila"]["tornado_settings"]
    assert ts["xsrf_cookie_kwargs"] == {"samesite": "Lax", "secure": True}
    assert cfg["Voila"]["identity_provider_class"].endswith("MktdashIdentityProvider")


def test_busy_page_escapes_and_says_when():
    page = pages.busy_page("<b>full</b>", 42, "/")
    assert '<meta http-equiv="refresh" content="42">' in page and "&lt;b&gt;full&lt;/b&gt;" in page
    assert '<strong id="retry-after">42</strong>' in page


def _km(**kw):
    km_cls = serve._kernel_manager_class()
    return km_cls(**kw)


def test_per_login_limit_counts_pages_still_opening():
    km = _km(max_kernels=3, max_kernels_per_login=2, connect_timeout=10)

    async def go():
        a1 = await km.admit("alice")
        await km.admit("alice")
        with pytest.raises(admission.Unavailable) as e:
            await km.admit("alice")
        assert "2 dashboard pages" in str(e.value) and e.value.retry_after == 15  # connect_timeout + 5
        await km.admit("bob")  # another login still gets in
        with pytest.raises(admission.Unavailable, match="other viewers"):
            await km.admit("carol")  # 3 held overall
        km.done(a1)
        await km.admit("carol")

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()


def swept(km) -> list[str]:
    """The kernels one sweep of ``km`` ends (their shutdown recorded, not done)."""
    ended: list[str] = []

    async def fake_shutdown(kernel_id, *a, **k):
        ended.append(kernel_id)

    km.shutdown_kernel = fake_shutdown
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, km.sweep()).result()
    return ended


def test_sweep_ends_idle_unconnected_kernels_only():
    """A kernel no page connected to ends once idle past connect_timeout; not while a cell runs or it starts,
    not when a page holds it."""
    import datetime as dt
    from types import SimpleNamespace

    km = _km(connect_timeout=30)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    km._kernels.update(
        {
            "idle": SimpleNamespace(last_activity=old, execution_state="idle"),
            "busy": SimpleNamespace(last_activity=old, execution_state="busy"),
            "starting": SimpleNamespace(last_activity=old, execution_state="starting"),
            "fresh": SimpleNamespace(last_activity=dt.datetime.now(dt.UTC), execution_state="idle"),
            "connected": SimpleNamespace(last_activity=old, execution_state="idle"),
        }
    )
    km.sockets["connected"] = 1
    ended = swept(km)
    assert ended == ["idle"]
    assert 5 <= km.retry_after() <= 600


def test_sweep_survives_a_kernel_listed_before_it_is_stamped():
    """jupyter_server lists a new kernel a moment before it sets ``last_activity`` (reading it then raised
    TraitError: the soak's HTTP 500 on admission): it counts as just started, and is not ended."""
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

    km = _km(connect_timeout=30)
    km._kernels["new"] = ServerKernelManager()  # a real kernel manager object, not started, not stamped
    assert km._idle("new") == 0.0
    assert swept(km) == []


def test_a_kernel_handed_to_a_page_gets_connect_timeout_from_the_hand_over():
    """A pre-rendered kernel idle in the pool for a minute, then taken by a page: the sweep waits
    ``connect_timeout`` from the hand-over for the page to connect (it ended it within 5 s before)."""
    import datetime as dt
    import time
    from types import SimpleNamespace

    km = _km(connect_timeout=30)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    km._kernels.update(
        {k: SimpleNamespace(last_activity=old, execution_state="idle") for k in ("new", "late")}
    )
    km.handed.update({"new": time.monotonic() - 1, "late": time.monotonic() - 31})
    ended = swept(km)
    assert ended == ["late"]


def test_a_page_is_admitted_at_the_limit_when_the_pool_has_a_kernel_for_it():
    """At ``max_kernels`` a page that will take the preheated kernel adds none: admitted; with the pool
    empty, 503; a pool entry that failed to start is not counted, and is dropped."""
    import datetime as dt
    from types import SimpleNamespace

    km = _km(max_kernels=2, max_kernels_per_login=2)
    now = dt.datetime.now(dt.UTC)
    km._kernels.update({k: SimpleNamespace(last_activity=now, execution_state="idle") for k in ("a", "b")})

    async def go():
        ready = asyncio.get_running_loop().create_future()
        ready.set_result({"kernel_id": "b"})
        km._pools = {"30_exec_summary.ipynb": [ready]}
        assert (await km.admit("alice")).login == "alice"
        km._pools = {"30_exec_summary.ipynb": []}
        with pytest.raises(admission.Unavailable, match="other viewers"):
            await km.admit("bob")
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(web.HTTPError(503))  # a refill refused at the limit: never served, dropped
        km._pools = {"30_exec_summary.ipynb": [failed, ready]}
        assert km._pool_tasks() == 1 and km._pooled() == {"b"}
        km._prune_pool("30_exec_summary.ipynb")
        assert km._pools == {"30_exec_summary.ipynb": [ready]}

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()
