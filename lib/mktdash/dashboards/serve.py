"""``mktdash serve``: the executive and budget dashboards in Voilà, behind a login, on 127.0.0.1.

Voilà's own application is used (not re-implemented); this module configures it and adds these routes:

* ``/`` — a landing page linking both dashboards and the run archive (replaces Voilà's file tree);
* ``/archive/…`` — ``outputs/index.html`` and ``outputs/runs/**`` (login required, nothing else of outputs/);
* ``/exec``, ``/budget`` — short links to ``/voila/render/<notebook>.ipynb``.

Only ``30_exec_summary`` and ``20_budget`` are served: they are copied into a private directory that is Voilà's
root, so no other notebook (e.g. 00_ingest, which writes the warehouse) can be rendered from the browser.

Security and resources (details in docs/dashboards.md):

* Login (:mod:`mktdash.dashboards.serve_auth`): the shared token (``MKTDASH_TOKEN``, else ``.secrets/dashboard_password``,
  else a generated token written to ``.secrets/dashboard_token``) and named users from ``mktdash users add``;
  failed logins are slowed down and locked out per client; ``/logout``; no token or query string in the log;
  kernels start without secrets in their environment; cookies ``SameSite=Lax`` (``Secure`` behind TLS).
* Code is stripped from the page and Voilà refuses ``execute_request`` from the browser (its defaults; the
  template/theme cannot be overridden from the URL here).
* Kernels (:class:`BoundedKernelManager`, handlers in :mod:`mktdash.dashboards.serve_handlers`): a page's kernel ends on
  reload or close (the shutdown beacon works: the page gets its ``_xsrf`` cookie), shortly after its socket
  closes, or when no page connected to it; at most ``dashboard.max_kernels`` overall and
  ``max_kernels_per_login`` per login, else HTTP 503 with ``Retry-After``; idle kernels are culled after
  ``dashboard.cull_idle_seconds``.
* ``dashboard.preheat_kernels`` keeps pre-rendered kernels per dashboard so the first paint is fast.
* Saved views (:mod:`mktdash.dashboards.views`): ``/mktdash/api/views`` and ``/views/<slug>``, per login.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mktdash import paths
from mktdash.dashboards.pages import DASHBOARDS
from mktdash.dashboards.publish import (  # noqa: F401  (publish re-exported for the runner)
    dashboard_params_file,
    latest,
    publish,
    write_dashboard_params,
)

TEMPLATE = "mktdash"  # lib/mktdash/dashboards/jupyter/voila/templates/mktdash: the lab template + a server-side first paint
JUPYTER_DATA = Path(__file__).parent / "jupyter"  # put on $JUPYTER_PATH so Voilà finds the template


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
def _kernel_manager_class() -> type:
    from mktdash.dashboards.serve_kernels import BoundedKernelManager

    return BoundedKernelManager


def _make_app_class() -> tuple[type, type]:
    from voila.app import Voila

    from mktdash.dashboards import serve_handlers

    class MktdashVoila(Voila):  # type: ignore[misc]
        name = "mktdash-voila"

        def init_handlers(self) -> list:
            base = self.server_url.rstrip("/")
            ours = serve_handlers.routes(base, self.server_url)
            replaced = serve_handlers.REPLACEMENTS
            theirs = [
                (h[0], replaced.get(h[1], h[1]), *h[2:])
                for h in super().init_handlers()
                if h[0] not in (self.server_url, base + "/")
            ]
            return ours + theirs

        def listen(self) -> None:  # the kernel manager exists from here (Voilà makes it in start())
            self.kernel_manager.wrap_pool()
            self.kernel_manager.start_sweeping()
            super().listen()

    return MktdashVoila, _kernel_manager_class()


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
            "identity_provider_class": "mktdash.dashboards.serve_auth.MktdashIdentityProvider",
            "tornado_settings": {
                "headers": {"X-Frame-Options": "DENY"},
                "log_function": _log_request,
                "xsrf_cookie_kwargs": {"samesite": "Lax", "secure": bool(d.behind_tls)},
            },
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
        "BoundedKernelManager": {
            "max_kernels": d.max_kernels,
            "max_kernels_per_login": max(1, min(d.max_kernels_per_login, d.max_kernels - 1)),
            "disconnect_grace": d.disconnect_grace_seconds,
            "connect_timeout": d.connect_timeout_seconds,
        },
        "MktdashIdentityProvider": {
            "cookie_options": {"samesite": "Lax"},
            "secure_cookie": True if d.behind_tls else None,  # None: Secure when the request is HTTPS
        },
        "MappingKernelManager": {
            "cull_idle_timeout": d.cull_idle_seconds,
            "cull_connected": True,
            "cull_interval": max(10, min(60, d.cull_idle_seconds // 2)),
        },
    }
    if d.preheat_kernels > 0:
        cfg["VoilaKernelManager"] = {"fill_delay": 0}
    return cfg


def _log_request(handler: Any) -> None:
    from mktdash.dashboards.serve_auth import log_request

    log_request(handler)


SECRET_ENV = re.compile(r"TOKEN|SECRET|PASSW|SALT|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)


def scrub_kernel_env(environ: Any = os.environ) -> list[str]:
    """Remove secrets (``MKTDASH_TOKEN``, ``*_SECRET``, ``*PASSWORD*``, ``MKTDASH_PII_SALT``…) from the
    server's environment, which every dashboard kernel inherits; return the names removed (never values)."""
    gone = sorted(k for k in environ if SECRET_ENV.search(k))
    for k in gone:
        del environ[k]
    return gone


def limiter_from(settings: Any) -> Any:
    from mktdash.dashboards.users import LoginLimiter

    d = settings.dashboard
    return LoginLimiter(
        max_failures=d.login_max_failures,
        window=d.login_window_seconds,
        lockout=d.login_lockout_seconds,
        delay=d.login_delay_seconds,
    )


def token_file() -> Path:
    return paths.secrets_dir() / "dashboard_token"


def _write_token(token: str) -> Path:
    """A generated token goes to ``.secrets/dashboard_token`` (mode 0600), never to the console or a log."""
    f = token_file()
    f.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return f


def kernel_params_env(params_files: list[str] | tuple[str, ...] = ()) -> str:
    """``$MKTDASH_PARAMS`` for the dashboard kernels: the server's params files, then the published
    ``dashboard.yaml`` (``warehouse.path`` = latest snapshot), so every notebook reads published data."""
    pfile = dashboard_params_file()
    if not pfile.exists():
        snap = latest()
        write_dashboard_params(snap.snapshot if snap else None)
    old = [p for p in os.environ.get("MKTDASH_PARAMS", "").split(os.pathsep) if p.strip() and p != str(pfile)]
    return os.pathsep.join([*old, *(str(Path(p).resolve()) for p in params_files), str(pfile)])


def _configured_app(settings: Any, auth: dict[str, Any], **kw: Any) -> Any:
    """The initialized Voilà application (identity provider with the users file and the login limiter)."""
    from traitlets.config import Config

    from mktdash.dashboards import users
    from mktdash.dashboards.serve_auth import MktdashIdentityProvider

    MktdashIdentityProvider.limiter = limiter_from(settings)
    MktdashIdentityProvider.users_path = users.users_file()
    cfg = build_config(settings, **kw)
    for k, v in auth.items():
        cfg.setdefault(k, {}).update(v)
    app_cls, km_cls = _make_app_class()
    cfg["VoilaConfiguration"]["multi_kernel_manager_class"] = km_cls
    app = app_cls(config=Config(cfg))
    app.initialize([])
    return app


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
        from mktdash.dashboards import users

        try:
            users.load_users()
        except users.UsersError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        auth, how, token = auth_config()
        secret = auth.get("Voila", {}).get("token", "")
        scrub_kernel_env()  # after auth_config read MKTDASH_TOKEN: kernels never see it
        app = _configured_app(settings, auth, port=port, host=host, open_browser=open_browser, root=root)
        from mktdash.dashboards.serve_auth import install_log_scrubbing

        install_log_scrubbing([secret], [app.log])
        url = f"http://{host}:{port}/"
        if latest() is None:
            print(
                "note: nothing published yet (outputs/published/latest.json); run `make run` first",
                file=sys.stderr,
            )
        print(f"mktdash dashboards ({how}): {url}", flush=True)
        if token:
            print(
                f"  the login token is in {_write_token(token)} (set MKTDASH_TOKEN to choose one)", flush=True
            )
        for nb in found:
            print(f"  {url}voila/render/{nb}", flush=True)
        app.start()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m mktdash.dashboards.serve [--port N] [--host H] [--open] [--params FILE]``."""
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


if __name__ == "__main__":  # run the imported module, so its classes are the ones the handlers see
    from mktdash.dashboards import serve as _serve

    sys.exit(_serve.main())
