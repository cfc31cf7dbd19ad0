"""The HTTP handlers ``mktdash serve`` adds to or replaces in Voilà (imported when the server starts).

* ``/`` landing page, ``/archive/…`` run archive, ``/exec`` ``/budget`` short links (as before);
* the dashboard page handler: admits a page only within the per-login and overall kernel limits (else HTTP 503
  with ``Retry-After`` and a page saying when to retry), sets the ``_xsrf`` cookie that Voilà's page sends
  back with its kernel-shutdown beacon, and records the page view in the access log;
* the kernel websocket: a page's socket claims its kernel for the login; when the last socket closes the kernel
  ends after ``dashboard.disconnect_grace_seconds``;
* the shutdown beacon only ends the caller's own kernels;
* ``/mktdash/api/views`` (list, save), ``/mktdash/api/views/<slug>`` (delete) and ``/views/<slug>`` (open).
"""

from __future__ import annotations

import json
import os
from typing import Any

from jupyter_server.base.handlers import APIHandler, AuthenticatedFileHandler, JupyterHandler
from tornado import web
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from mktdash import paths
from mktdash.dashboards import admission, pages, views
from mktdash.dashboards import users as users_mod
from mktdash.dashboards.serve_auth import PlainErrors, login_of


class LandingHandler(PlainErrors, JupyterHandler):  # type: ignore[misc]
    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(pages.landing_html(self.base_url))


class ArchiveHandler(AuthenticatedFileHandler):  # type: ignore[misc]
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


class ShortLink(PlainErrors, JupyterHandler):  # type: ignore[misc]
    def initialize(self, target: str) -> None:
        self.target = target

    @web.authenticated
    def get(self) -> None:
        self.redirect(self.base_url.rstrip("/") + self.target)


class NotServed(PlainErrors, JupyterHandler):  # type: ignore[misc]
    @web.authenticated
    def get(self, *_: Any) -> None:
        raise web.HTTPError(404)


class DashboardHandler(TornadoVoilaHandler):  # type: ignore[misc]
    """Voilà's page handler within the kernel limits, with the ``_xsrf`` cookie and an access-log line."""

    @web.authenticated
    async def get(self, path: str | None = None) -> None:
        login = login_of(self)
        km = self.kernel_manager
        try:
            adm = await km.admit(login)
        except admission.Unavailable as e:
            self.busy(str(e), e.retry_after)
            return
        self.xsrf_token  # noqa: B018  (sets the _xsrf cookie the page's shutdown beacon sends back)
        users_mod.record_access(login, "view", self.request.path)
        token = admission.CURRENT.set(adm)
        try:
            await super().get(path)
        finally:
            admission.CURRENT.reset(token)
            km.done(adm)

    def busy(self, message: str, retry_after: int) -> None:
        km = self.kernel_manager
        self.log.warning("mktdash: busy (%s kernels, %s pages opening, %s in the pool): %s Retry after %s s",
                         len(km.live()), sum(a.pending for a in km.admissions), km._pool_tasks(), message,
                         retry_after)  # fmt: skip
        self.clear()
        self.set_status(503)
        self.set_header("Retry-After", str(retry_after))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(pages.busy_page(message, retry_after, self.base_url))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 503:
            self.busy("Every dashboard kernel is in use by other viewers.", self.kernel_manager.retry_after())
            return
        super().write_error(status_code, **kwargs)


class KernelSocket(VoilaKernelWebsocketHandler):  # type: ignore[misc]
    """A page's kernel connection: claimed by the login; the kernel ends soon after the last one closes."""

    claimed = False

    async def pre_get(self) -> None:
        await super().pre_get()
        self.claimed = self.kernel_manager.claim(self.kernel_id, login_of(self))
        if not self.claimed:
            raise web.HTTPError(403, "this kernel belongs to another login")

    def on_close(self) -> None:
        super().on_close()
        if self.claimed:
            self.claimed = False
            self.kernel_manager.release(self.kernel_id)


class ShutdownHandler(VoilaShutdownKernelHandler):  # type: ignore[misc]
    """The page's ``beforeunload`` beacon: ends the caller's own kernel at once."""

    @web.authenticated
    async def post(self, kernel_id: str) -> None:
        km = self.kernel_manager
        if km.owners.get(kernel_id) not in (None, login_of(self)):
            raise web.HTTPError(404)
        if kernel_id not in km.ending:  # else its socket's close is ending it already
            if kernel_id not in km.live() or kernel_id in km._pooled():
                raise web.HTTPError(404)
            await km.end(kernel_id, "its page closed")
        self.set_status(204)
        self.finish()


# ---- saved views ------------------------------------------------------------------------------------------------
class ViewsHandler(APIHandler):  # type: ignore[misc]
    """``GET``: the login's views; ``POST`` ``{name, selection, hidden_tiles}``: save one (201 with its link)."""

    @web.authenticated
    def get(self) -> None:
        out = [v.as_dict(self.base_url) for v in views.ViewStore().list(login_of(self))]
        self.finish(json.dumps({"views": out}))

    @web.authenticated
    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            view = views.ViewStore().save(login_of(self), views.parse(body))
        except (json.JSONDecodeError, views.ViewError) as e:
            raise web.HTTPError(400, str(e)) from None
        users_mod.record_access(login_of(self), "view_saved")
        self.set_status(201)
        self.finish(json.dumps(view.as_dict(self.base_url)))


class ViewHandler(APIHandler):  # type: ignore[misc]
    @web.authenticated
    def delete(self, slug: str) -> None:
        if not views.ViewStore().delete(login_of(self), slug):
            raise web.HTTPError(404, "no such view for this login")
        self.set_status(204)
        self.finish()


class OpenView(PlainErrors, JupyterHandler):  # type: ignore[misc]
    """``/views/<slug>``: the login's view, opened on its dashboard with the selection applied."""

    @web.authenticated
    def get(self, slug: str) -> None:
        view = views.ViewStore().get(login_of(self), slug)
        if view is None:
            raise web.HTTPError(404, "no saved view with this name for this login")
        nb = pages.DASHBOARDS[view.dashboard]
        self.redirect(f"{self.base_url.rstrip('/')}/voila/render/{nb}?{views.query(view)}")


REPLACEMENTS: dict[Any, Any] = {
    TornadoVoilaHandler: DashboardHandler,
    VoilaKernelWebsocketHandler: KernelSocket,
    VoilaShutdownKernelHandler: ShutdownHandler,
}


def routes(base: str, server_url: str) -> list[tuple[Any, ...]]:
    """mktdash's own routes (before Voilà's)."""
    out: list[tuple[Any, ...]] = [
        (base + r"/?", LandingHandler),
        (
            base + r"/archive/(.*)",
            ArchiveHandler,
            {"path": str(paths.outputs_dir()), "default_filename": "index.html"},
        ),
        (base + r"/voila/tree(.*)", NotServed),
        (base + r"/voila/api/contents(.*)", NotServed),
        (base + r"/mktdash/api/views/?", ViewsHandler),
        (base + r"/mktdash/api/views/([a-z0-9-]+)", ViewHandler),
        (base + r"/views/([a-z0-9-]+)", OpenView),
    ]
    for key, nb in pages.DASHBOARDS.items():
        out.append((base + f"/{key}/?", ShortLink, {"target": f"/voila/render/{nb}"}))
    return out
