"""`mktdash serve` configuration: login modes, culling, kernel bound, landing page (the browser tests run it)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tornado import web

from mktdash import params, serve


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
    page = serve.landing_html("/")
    assert "&lt;b&gt;r1&lt;/b&gt;" in page and "<b>r1</b>" not in page
    assert 'href="/voila/render/30_exec_summary.ipynb"' in page and 'href="/archive/index.html"' in page


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
