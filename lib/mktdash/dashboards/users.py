"""Named dashboard users: the users file, password hashing, the failed-login limiter and the access log.

* ``.secrets/dashboard_users`` holds one ``name<TAB>hash`` line per user (mode 0600), made by
  ``mktdash users add NAME``. Hashes are argon2id (``argon2-cffi``) or, without it, ``hashlib.scrypt``;
  a password is never stored, printed or logged.
* :class:`LoginLimiter` slows failed logins down per client (doubling delay) and locks a client out after
  ``login_max_failures`` failures within ``login_window_seconds``.
* :func:`record_access` appends one JSON line per login, logout and page view to
  ``data/dashboard/access.jsonl`` (the login name, never a token, password or address): the source of
  weekly active users.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import getpass
import hashlib
import hmac
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mktdash import paths

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._@-]{0,63}$")
RESERVED = {"token"}  # the shared-token login's name
MIN_PASSWORD = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class UsersError(ValueError):
    """A bad users file, name or password (the message says what to do)."""


def users_file() -> Path:
    return paths.secrets_dir() / "dashboard_users"


def access_log_file() -> Path:
    return paths.data_dir() / "dashboard" / "access.jsonl"


# ---- hashing ---------------------------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$...``) when argon2-cffi is installed, else ``scrypt$n$r$p$salt$key``."""
    try:
        from argon2 import PasswordHasher
    except ImportError:
        salt = os.urandom(16)
        key = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
        b64 = base64.urlsafe_b64encode
        return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(key).decode()}"
    return str(PasswordHasher().hash(password))


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (either format); False for anything malformed."""
    if stored.startswith("$argon2"):
        try:
            from argon2 import PasswordHasher
            from argon2.exceptions import InvalidHashError, VerificationError
        except ImportError:
            return False
        try:
            return bool(PasswordHasher().verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = base64.urlsafe_b64decode(parts[4]), base64.urlsafe_b64decode(parts[5])
        got = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, key)


_DUMMY = hash_password("mktdash-dummy-password")  # verified for unknown names: same time as a known one


# ---- the users file -------------------------------------------------------------------------------------------
def load_users(path: Path | None = None) -> dict[str, str]:
    """``{name: hash}`` from the users file ({} when it does not exist)."""
    path = path or users_file()
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, hashed = line.partition("\t")
        if not sep or not NAME_RE.match(name) or not hashed.strip():
            raise UsersError(
                f"{path}, line {i}: expected NAME<TAB>HASH; "
                f"remove the line and run `mktdash users add NAME` again"
            )
        out[name] = hashed.strip()
    return out


def _write_users(users: dict[str, str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# mktdash dashboard users: name<TAB>password hash (made by `mktdash users add`)\n")
        f.writelines(f"{n}\t{h}\n" for n, h in sorted(users.items()))
    os.replace(tmp, path)


def check_name(name: str) -> str:
    if not NAME_RE.match(name) or name.lower() in RESERVED:
        raise UsersError(
            f"user name {name!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' or '-', "
            f"starting with a letter (not {', '.join(sorted(RESERVED))})"
        )
    return name


def add_user(name: str, password: str, path: Path | None = None) -> bool:
    """Add or replace ``name``; True when it is new."""
    path = path or users_file()
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise UsersError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    users = load_users(path)
    new = name not in users
    users[name] = hash_password(password)
    _write_users(users, path)
    return new


def remove_user(name: str, path: Path | None = None) -> bool:
    path = path or users_file()
    users = load_users(path)
    if users.pop(name, None) is None:
        return False
    _write_users(users, path)
    return True


def authenticate(name: str, password: str, users: dict[str, str]) -> bool:
    """Whether ``name`` is a user with this password (an unknown name costs the same time)."""
    stored = users.get(name)
    ok = verify_password(stored or _DUMMY, password)
    return ok and stored is not None


# ---- failed logins ----------------------------------------------------------------------------------------------
@dataclass
class LoginLimiter:
    """Failed logins per client key: a doubling delay, then a lockout after ``max_failures`` in ``window``."""

    max_failures: int = 5
    window: float = 900.0
    lockout: float = 900.0
    delay: float = 0.5
    max_delay: float = 8.0
    clock: Callable[[], float] = time.monotonic
    _fails: dict[str, deque[float]] = field(default_factory=dict)
    _locked: dict[str, float] = field(default_factory=dict)

    def locked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it is not locked out)."""
        until = self._locked.get(key, 0.0)
        left = until - self.clock()
        if left <= 0:
            self._locked.pop(key, None)
            return 0.0
        return left

    def failure(self, key: str) -> float:
        """Record a failure; return how long to wait before answering it."""
        now = self.clock()
        q = self._fails.setdefault(key, deque())
        q.append(now)
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.max_failures:
            self._locked[key] = now + self.lockout
            q.clear()
        return min(self.max_delay, self.delay * 2 ** (max(len(q), 1) - 1))

    def success(self, key: str) -> None:
        self._fails.pop(key, None)


# ---- access log -------------------------------------------------------------------------------------------------
def record_access(login: str, event: str, page: str = "", path: Path | None = None) -> None:
    """Append ``{"at", "login", "event", "page"}`` to the access log (never a secret or an address)."""
    path = path or access_log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "login": login, "event": event}
    if page:
        row["page"] = page
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def read_access(path: Path | None = None) -> list[dict[str, str]]:
    path = path or access_log_file()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- `mktdash users` ------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``mktdash users add NAME [--stdin] | remove NAME | list``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("add", help="add a user or change a password (prompts; --stdin reads it)")
    p.add_argument("name")
    p.add_argument("--stdin", action="store_true", help="read the password from the first line of stdin")
    p = sub.add_parser("remove", help="remove a user")
    p.add_argument("name")
    sub.add_parser("list", help="list user names")


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    pw = getpass.getpass("Password: ")
    if pw != getpass.getpass("Repeat password: "):
        raise UsersError("the passwords differ; run the command again")
    return pw


def main(args: argparse.Namespace) -> int:
    """Run ``mktdash users``; 0 ok, 1 nothing to remove, 2 bad input."""
    try:
        if args.action == "list":
            names = sorted(load_users())
            print("\n".join(names) if names else f"No users yet ({users_file()}): `mktdash users add NAME`.")
            return 0
        if args.action == "remove":
            if remove_user(args.name):
                print(f"Removed {args.name}.")
                return 0
            print(f"mktdash users: no user named {args.name!r}", file=sys.stderr)
            return 1
        check_name(args.name)
        new = add_user(args.name, _read_password(args.stdin))
    except UsersError as e:
        print(f"mktdash users: {e}", file=sys.stderr)
        return 2
    print(f"{'Added' if new else 'Changed the password of'} {args.name} in {users_file()}.")
    return 0
