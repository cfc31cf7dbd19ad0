"""Login for ``mktdash serve``: the shared token and named users, rate-limited; logout; a request log without secrets.

Imported by :mod:`mktdash.dashboards.serve` when the server starts (it needs jupyter_server and tornado).

* A client is its address plus the name it logs in as (``token`` for the shared token), so one person's typos
  do not lock out everyone behind the same address. Each failure is answered after a doubling delay; after
  ``dashboard.login_max_failures`` failures in ``login_window_seconds`` the client gets HTTP 429 with
  ``Retry-After`` for ``login_lockout_seconds``, also for the right password.
* Every request is logged as status, method, *path* (never the query string) and login name; a log filter also
  blanks ``token=``/``password=`` values and the token itself in any other message.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import re
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.escape import url_escape

from mktdash.dashboards import users as users_mod
from mktdash.reporting import templating

TOKEN_LOGIN = "token"


def client_key(handler: web.RequestHandler, name: str) -> str:
    return f"{handler.request.remote_ip}|{name or TOKEN_LOGIN}"


def login_of(handler: web.RequestHandler) -> str:
    """The logged-in name of a request ('' when anonymous)."""
    user = getattr(handler, "_jupyter_current_user", None) or getattr(handler, "_current_user", None)
    return str(getattr(user, "username", "") or "")


class MktdashIdentityProvider(PasswordIdentityProvider):  # type: ignore[misc]
    """The shared token (``MKTDASH_TOKEN`` or generated), the legacy hashed password and the users file."""

    limiter: users_mod.LoginLimiter = users_mod.LoginLimiter()
    users_path: Path | None = None

    def users(self) -> dict[str, str]:
        return users_mod.load_users(self.users_path)

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    def generate_anonymous_user(self, handler: web.RequestHandler) -> User:
        return User(TOKEN_LOGIN, TOKEN_LOGIN, "Shared token", "T", None, None)

    def get_handlers(self) -> list[tuple[str, object]]:
        return [("/login", LoginHandler), ("/logout", LogoutHandler)]

    async def get_user_token(self, handler: web.RequestHandler) -> User | None:
        """``?token=`` / ``Authorization: token``: limited like the login form."""
        given = self.get_token(handler)
        if not given or not self.token:
            return None
        key = client_key(handler, "")
        if self.limiter.locked_for(key):
            return None
        if hmac.compare_digest(given.encode(), str(self.token).encode()):
            self.limiter.success(key)
            return self.generate_anonymous_user(handler)
        await asyncio.sleep(self.limiter.failure(key))
        users_mod.record_access("unknown", "login_failed")
        return None

    def get_user_cookie(self, handler: web.RequestHandler) -> Any:
        user = super().get_user_cookie(handler)
        if user is None or isinstance(user, User) and self._still_valid(user.username):
            return user
        return None

    def _still_valid(self, name: str) -> bool:
        if name == TOKEN_LOGIN:
            return bool(self.token or self.hashed_password)
        return name in self.users()

    def process_login_form(self, handler: web.RequestHandler) -> User | None:
        name = handler.get_argument("username", "").strip()
        password = handler.get_argument("password", "")
        if name:
            if users_mod.authenticate(name, password, self.users()):
                return User(name, name, name, name[:1].upper(), None, None)
            return None
        if self.token and hmac.compare_digest(password.encode(), str(self.token).encode()):
            return self.generate_anonymous_user(handler)
        if self.hashed_password and password and self.passwd_check(password):
            return self.generate_anonymous_user(handler)
        return None


def page(title: str, *paragraphs: str, link: str | None = None, link_text: str = "") -> str:
    """A small self-contained page (no external request), every text escaped."""
    return templating.fragment("server_pages.html.j2", "page", title, paragraphs, link, link_text)


class PlainErrors:
    """Error pages without Jupyter's templates (Voilà's application has none: they would fail with HTTP 500)."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reason = getattr(exc, "log_message", None) if isinstance(exc, web.HTTPError) else None
        self.set_header("Content-Type", "text/html; charset=utf-8")  # type: ignore[attr-defined]
        self.finish(  # type: ignore[attr-defined]
            page(f"{status_code} {self._reason}", reason or "Nothing here.")  # type: ignore[attr-defined]
        )


class LoginHandler(PlainErrors, LoginFormHandler):  # type: ignore[misc]
    """The login form: a name and password (users file) or the shared token in the password field."""

    def _render(self, message: Any = None) -> None:
        text = message.get("error", "") if isinstance(message, dict) else (message or "")
        nxt = self.get_argument("next", default=self.base_url)
        action = f"{self.base_url}login?next={url_escape(nxt)}"
        form = templating.fragment(
            "server_pages.html.j2", "login", action, templating.trusted(self.xsrf_form_html()), text
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(form)

    def _locked(self, seconds: float) -> None:
        self.set_status(429)
        self.set_header("Retry-After", str(math.ceil(seconds)))
        self._render(
            f"Too many failed sign-ins: try again in {math.ceil(seconds / 60)} minute(s), "
            "or ask the operator to check your name and password."
        )

    @allow_unauthenticated
    async def post(self) -> None:
        idp: MktdashIdentityProvider = self.identity_provider  # type: ignore[assignment]
        name = self.get_argument("username", "").strip()
        key = client_key(self, name)
        left = idp.limiter.locked_for(key)
        if left:
            users_mod.record_access(name if name in idp.users() else "unknown", "login_locked")
            self._locked(left)
            return
        user = idp.process_login_form(self)
        if user is None:
            await asyncio.sleep(idp.limiter.failure(key))
            users_mod.record_access(name if name in idp.users() else "unknown", "login_failed")
            left = idp.limiter.locked_for(key)
            if left:
                self._locked(left)
                return
            self.set_status(401)
            self._render("Wrong name, password or token.")
            return
        idp.limiter.success(key)
        self.current_user = user
        idp.set_login_cookie(self, user)
        users_mod.record_access(user.username, "login")
        self._redirect_safe(self.get_argument("next", default=self.base_url))


class LogoutHandler(PlainErrors, JupyterHandler):  # type: ignore[misc]
    @allow_unauthenticated
    def get(self) -> None:
        name = login_of(self)
        self.identity_provider.clear_login_cookie(self)
        if name:
            users_mod.record_access(name, "logout")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(
            page("Signed out", "You are signed out.", link=f"{self.base_url}login", link_text="Sign in again")
        )


# ---- logs without secrets --------------------------------------------------------------------------------------
_SECRET_ARG = re.compile(r"((?:token|password|passwd|_xsrf|xsrf|auth)[A-Za-z_]*=)[^&\s'\"]+", re.IGNORECASE)


class ScrubSecrets(logging.Filter):
    """Blanks ``token=…``-style values and the literal secrets in every record of the loggers it is on."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _SECRET_ARG.sub(r"\1[secret]", msg)
        for s in self.secrets:
            clean = clean.replace(s, "[secret]")
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


SCRUBBED_LOGGERS = (
    "tornado.access",
    "tornado.application",
    "tornado.general",
    "MktdashVoila",
    "mktdash-voila",
)


def install_log_scrubbing(secrets: list[str], extra: list[logging.Logger] = ()) -> ScrubSecrets:  # type: ignore[assignment]
    f = ScrubSecrets(secrets)
    for lg in [*(logging.getLogger(n) for n in SCRUBBED_LOGGERS), *extra]:
        lg.addFilter(f)
        for h in lg.handlers:
            h.addFilter(f)
    return f


def log_request(handler: web.RequestHandler) -> None:
    """Tornado's ``log_function``: status, method, path (no query string), login, time."""
    status = handler.get_status()
    level = (
        logging.DEBUG
        if status < 300 or status == 304
        else logging.INFO
        if status < 400
        else logging.WARNING
        if status < 500
        else logging.ERROR
    )
    ms = 1000.0 * handler.request.request_time()
    logging.getLogger("tornado.access").log(
        level,
        "%d %s %s (%s) %.1fms",
        status,
        handler.request.method,
        handler.request.path,
        login_of(handler) or "-",
        ms,
    )
