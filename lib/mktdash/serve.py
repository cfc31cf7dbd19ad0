"""``mktdash serve``: the executive and budget dashboards in Voilà, behind a login, on 127.0.0.1.

Voilà's own application is used (not re-implemented); this module only configures it and adds three routes:

* ``/`` — a landing page linking both dashboards and the run archive (replaces Voilà's file tree);
* ``/archive/…`` — ``outputs/index.html`` and ``outputs/runs/**`` (login required, nothing else of outputs/);
* ``/exec``, ``/budget`` — short links to ``/voila/render/<notebook>.ipynb``.

Only ``30_exec_summary`` and ``20_budget`` are served: they are copied into a private directory that is Voilà's
root, so no other notebook (e.g. 00_ingest, which writes the warehouse) can be rendered from the browser.

Security and resources:

* Login: ``MKTDASH_TOKEN`` (token), else a hashed password in ``.secrets/dashboard_password`` (made by
  ``jupyter_server.auth.passwd()``, argon2 or sha1), else a random token printed with the login URL.
* Code is stripped from the page and Voilà refuses ``execute_request`` from the browser (its defaults; the
  template/theme cannot be overridden from the URL here).
* Idle kernels are culled after ``dashboard.cull_idle_seconds`` (also when a tab is still open); at most
  ``dashboard.max_kernels`` kernels run at once (a :class:`BoundedKernelManager` answers 503 beyond that).
* ``dashboard.preheat_kernels`` keeps pre-rendered kernels per dashboard so the first paint is fast.
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mktdash import paths
from mktdash.publish import (  # noqa: F401  (publish re-exported for the runner)
    dashboard_params_file,
    latest,
    publish,
    write_dashboard_params,
)

TEMPLATE = (
    "mktdash"  # lib/mktdash/jupyter/voila/templates/mktdash: the lab template + a server-side first paint
)
JUPYTER_DATA = Path(__file__).parent / "jupyter"  # put on $JUPYTER_PATH so Voilà finds the template
DASHBOARDS = {"exec": "30_exec_summary.ipynb", "budget": "20_budget.ipynb"}
TITLES = {"exec": "Executive summary", "budget": "Budget and allocation"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` verb's options (argparse-compatible; used by ``mktdash.cli``)."""
    parser.add_argument("--port", type=int, default=None, help="port (default: params dashboard.port, 8866)")
    parser.add_argument("--host", default=None, help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--open", dest="open_browser", action="store_true", help="open a browser on start")
    parser.add_argument("--params", action="append", default=[], metavar="FILE", help="extra params file(s)")


# ---- auth ----------------------------------------------------------------------------------------------------
def password_file() -> Path:
    return paths.secrets_dir() / "dashboard_password"


def auth_config() -> tuple[dict[str, Any], str, str | None]:
    """(Voilà config, a human description, the token to print or None)."""
    token = os.environ.get("MKTDASH_TOKEN", "").strip()
    if token:
        return {"Voila": {"token": token}}, "token from MKTDASH_TOKEN", None
    pw = password_file()
    if pw.exists():
        hashed = pw.read_text(encoding="utf-8").strip()
        if hashed:
            return (
                {
                    "Voila": {"token": ""},
                    "PasswordIdentityProvider": {"hashed_password": hashed, "password_required": True},
                },
                f"password (hash in {pw})",
                None,
            )
    token = secrets.token_urlsafe(24)
    return {"Voila": {"token": token}}, "generated token", token


# ---- the Voilà application -------------------------------------------------------------------------------------
def _make_app_class() -> tuple[type, type]:
    from jupyter_server.base.handlers import AuthenticatedFileHandler, JupyterHandler
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web
    from traitlets import Integer
    from voila.app import Voila

    class BoundedKernelManager(AsyncMappingKernelManager):
        """A kernel manager that refuses to start more than ``max_kernels`` kernels (HTTP 503)."""

        max_kernels = Integer(8, config=True, help="Most kernels running at once (viewers + preheated).")

        async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
            if len(self.list_kernel_ids()) >= self.max_kernels:
                self.log.warning("mktdash: kernel limit %s reached, refusing a new viewer", self.max_kernels)
                raise web.HTTPError(503, "Too many dashboard viewers right now; try again in a few minutes.")
            return await super().start_kernel(*args, **kwargs)

        def _pooled(self) -> set[str]:
            """Kernels waiting pre-rendered in Voilà's preheat pool (no viewer yet)."""
            out: set[str] = set()
            for pool in getattr(self, "_pools", {}).values():
                for task in pool:
                    if task.done() and not task.cancelled() and task.exception() is None:
                        out.add(task.result().get("kernel_id"))
            return out

        async def cull_kernel_if_idle(self, kernel_id: str) -> None:
            if kernel_id in self._pooled():  # culling a pooled kernel would leave the pool empty
                return
            await super().cull_kernel_if_idle(kernel_id)

    class LandingHandler(JupyterHandler):
        @web.authenticated
        def get(self) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.write(landing_html(self.base_url))

    class ArchiveHandler(AuthenticatedFileHandler):
        """``outputs/index.html`` and ``outputs/runs/**`` only (never the snapshots or data).

        Archived HTML is served in a CSP sandbox (no scripts, opaque origin), so a report can never act
        with the dashboard's login; that is why the files API's XSRF referer check is not needed on GET.
        """

        def check_xsrf_cookie(self) -> None:
            return None

        def set_extra_headers(self, path: str) -> None:
            super().set_extra_headers(path)
            self.set_header(
                "Content-Security-Policy",
                "sandbox allow-downloads allow-popups; default-src 'self' data:; "
                "style-src 'self' 'unsafe-inline' data:; script-src 'none'",
            )

        def validate_absolute_path(self, root: str, absolute_path: str) -> str:
            rel = os.path.relpath(absolute_path, root)
            if rel != "index.html" and not rel.startswith("runs" + os.sep):
                raise web.HTTPError(404)
            return str(super().validate_absolute_path(root, absolute_path))

    class ShortLink(JupyterHandler):
        def initialize(self, target: str) -> None:
            self.target = target

        @web.authenticated
        def get(self) -> None:
            self.redirect(self.base_url.rstrip("/") + self.target)

    class NotServed(JupyterHandler):
        @web.authenticated
        def get(self, *_: Any) -> None:
            raise web.HTTPError(404)

    class MktdashVoila(Voila):
        name = "mktdash-voila"

        def init_handlers(self) -> list:
            base = self.server_url.rstrip("/")
            ours: list[tuple] = [
                (base + r"/?", LandingHandler),
                (
                    base + r"/archive/(.*)",
                    ArchiveHandler,
                    {"path": str(paths.outputs_dir()), "default_filename": "index.html"},
                ),
                (base + r"/voila/tree(.*)", NotServed),
                (base + r"/voila/api/contents(.*)", NotServed),
            ]
            for key, nb in DASHBOARDS.items():
                ours.append((base + f"/{key}/?", ShortLink, {"target": f"/voila/render/{nb}"}))
            return ours + [h for h in super().init_handlers() if h[0] not in (self.server_url, base + "/")]

    return MktdashVoila, BoundedKernelManager


def landing_html(base_url: str = "/") -> str:
    """The landing page: links to both dashboards and the run archive, plus what is published."""
    pub = latest()
    info = (
        f"Published week <strong>{html.escape(pub.week)}</strong> (run {html.escape(pub.run_id)}, "
        f"{html.escape(pub.published_at)})"
        if pub
        else "Nothing published yet: run <code>make run</code> first."
    )
    b = base_url.rstrip("/")
    cards = "".join(
        f'<a class="card" href="{b}/voila/render/{nb}"><h2>{html.escape(TITLES[k])}</h2>'
        f"<p>{'KPIs, alerts, attribution, exports' if k == 'exec' else 'Plan vs actual, pacing, recommended allocation'}"
        f"</p></a>"
        for k, nb in DASHBOARDS.items()
        if (paths.notebooks_dir() / nb).exists()
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>mktdash dashboards</title>
<style>body{{font-family:"DejaVu Sans",system-ui,sans-serif;margin:0;padding:1.2rem;color:#1f2937;background:#f6f7f9}}
main{{max-width:900px;margin:0 auto}}h1{{color:#1f4e79;font-size:1.5rem}}.cards{{display:grid;gap:1rem;
grid-template-columns:repeat(auto-fit,minmax(min(100%,260px),1fr))}}.card{{display:block;background:#fff;border:1px solid #e5e7eb;
border-radius:12px;padding:1rem;text-decoration:none;color:inherit}}.card h2{{margin:.1rem 0;color:#1f4e79;font-size:1.1rem}}
.muted{{color:#6b7280;font-size:.9rem}}</style></head><body><main><h1>mktdash dashboards</h1>
<p class="muted">{info}</p><div class="cards">{cards}
<a class="card" href="{b}/archive/index.html"><h2>Run archive</h2><p>Every weekly run: notebooks, HTML reports, exports</p></a>
</div></main></body></html>"""


def _stage_notebooks(dest: Path, names: list[str] | None = None) -> list[str]:
    """Copy the served notebooks (``dashboard.notebooks``) into Voilà's private root; return those that exist."""
    found = []
    for nb in DASHBOARDS.values():
        if names is not None and nb.removesuffix(".ipynb") not in names:
            continue
        src = paths.notebooks_dir() / nb
        if src.exists():
            shutil.copy2(src, dest / nb)
            found.append(nb)
    return found


def build_config(settings: Any, *, port: int, host: str, open_browser: bool, root: Path) -> dict[str, Any]:
    """The traitlets configuration for Voilà (as a plain dict; tests read it)."""
    d = settings.dashboard
    cfg: dict[str, Any] = {
        "Voila": {
            "port": port,
            "ip": host,
            "open_browser": open_browser,
            "port_retries": 0,
            "root_dir": str(root),
            "tornado_settings": {"headers": {"X-Frame-Options": "DENY"}},
        },
        "VoilaConfiguration": {
            "strip_sources": True,
            "show_tracebacks": False,
            "allow_template_override": "NO",
            "allow_theme_override": "NO",
            "theme": "light",
            "template": TEMPLATE,
            "preheat_kernel": d.preheat_kernels > 0,
            "default_pool_size": max(d.preheat_kernels, 0),
            "file_allowlist": [r".*\.(png|jpg|svg)"],
        },
        "BoundedKernelManager": {"max_kernels": d.max_kernels},
        "MappingKernelManager": {
            "cull_idle_timeout": d.cull_idle_seconds,
            "cull_connected": True,
            "cull_interval": max(10, min(60, d.cull_idle_seconds // 2)),
        },
    }
    if d.preheat_kernels > 0:
        cfg["VoilaKernelManager"] = {"fill_delay": 0}
    return cfg


def kernel_params_env(params_files: list[str] | tuple[str, ...] = ()) -> str:
    """``$MKTDASH_PARAMS`` for the dashboard kernels: the server's params files, then the published
    ``dashboard.yaml`` (``warehouse.path`` = latest snapshot), so every notebook reads published data."""
    pfile = dashboard_params_file()
    if not pfile.exists():
        snap = latest()
        write_dashboard_params(snap.snapshot if snap else None)
    old = [p for p in os.environ.get("MKTDASH_PARAMS", "").split(os.pathsep) if p.strip() and p != str(pfile)]
    return os.pathsep.join([*old, *(str(Path(p).resolve()) for p in params_files), str(pfile)])


def serve(
    settings: Any,
    *,
    port: int | None = None,
    host: str | None = None,
    open_browser: bool = False,
    params_files: list[str] | tuple[str, ...] = (),
) -> int:
    """Run Voilà until interrupted; return the exit code (0 on a clean stop, 2 on a configuration error).

    ``params_files``: the ``--params`` files the settings came from (passed on to the dashboard kernels).
    """
    from traitlets.config import Config

    host = host or settings.dashboard.host
    port = int(port or settings.dashboard.port)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(
            f"warning: serving on {host}, reachable from other machines; keep the login secret",
            file=sys.stderr,
        )
    root = Path(tempfile.mkdtemp(prefix="mktdash-serve-"))
    try:
        found = _stage_notebooks(root, list(settings.dashboard.notebooks))
        if not found:
            print(f"error: no dashboard notebooks in {paths.notebooks_dir()}", file=sys.stderr)
            return 2
        os.environ["MKTDASH_PARAMS"] = kernel_params_env(params_files)  # inherited by every kernel
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH", "")) if p
        )
        auth, how, token = auth_config()
        cfg = build_config(settings, port=port, host=host, open_browser=open_browser, root=root)
        for k, v in auth.items():
            cfg.setdefault(k, {}).update(v)
        app_cls, km_cls = _make_app_class()
        cfg["VoilaConfiguration"]["multi_kernel_manager_class"] = km_cls
        app = app_cls(config=Config(cfg))
        app.initialize([])
        url = f"http://{host}:{port}/"
        if latest() is None:
            print(
                "note: nothing published yet (outputs/published/latest.json); run `make run` first",
                file=sys.stderr,
            )
        print(f"mktdash dashboards ({how}): {url}" + (f"?token={token}" if token else ""), flush=True)
        for nb in found:
            print(f"  {url}voila/render/{nb}", flush=True)
        app.start()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m mktdash.serve [--port N] [--host H] [--open] [--params FILE]``."""
    from mktdash import params

    parser = argparse.ArgumentParser(prog="mktdash serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    ns = parser.parse_args(argv)
    try:
        settings = params.resolve(ns.params)
    except params.ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return serve(settings, port=ns.port, host=ns.host, open_browser=ns.open_browser, params_files=ns.params)


if __name__ == "__main__":
    sys.exit(main())
