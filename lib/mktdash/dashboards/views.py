"""Saved dashboard views: a named week/channel/platform/campaign selection plus hidden tiles, per login.

Stored on the server in ``data/dashboard/views.sqlite`` (not the warehouse), keyed by (login, slug), so they
survive restarts and one login never sees another's. A view opens from ``/views/<slug>``: the server looks it
up for the logged-in user and redirects to the dashboard with the selection in the query string
(:func:`query`), which :func:`mktdash.dashboards.executive.apply_view` applies in the page's kernel.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mktdash import paths

FIELDS = ("week", "channel", "platform", "campaign")
DASHBOARDS = ("exec",)  # dashboards that apply views
MAX_NAME = 80
MAX_VALUE = 200
MAX_VIEWS = 200  # per login
TILE_RE = re.compile(r"^[a-z0-9_]{1,40}$")


class ViewError(ValueError):
    """A bad view (the message names the field and what to do)."""


@dataclass
class SavedView:
    name: str
    slug: str
    dashboard: str = "exec"
    selection: dict[str, str] = field(default_factory=dict)
    hidden_tiles: list[str] = field(default_factory=list)
    saved_at: str = ""

    def as_dict(self, base_url: str = "/") -> dict[str, Any]:
        return {
            "name": self.name,
            "slug": self.slug,
            "dashboard": self.dashboard,
            "selection": self.selection,
            "hidden_tiles": self.hidden_tiles,
            "saved_at": self.saved_at,
            "url": f"{base_url.rstrip('/')}/views/{self.slug}",
        }


def store_file() -> Path:
    return paths.data_dir() / "dashboard" / "views.sqlite"


def slugify(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")[:60]
    return s or "view"


def parse(payload: Any) -> SavedView:
    """A :class:`SavedView` from a request body; :class:`ViewError` naming the bad field."""
    if not isinstance(payload, dict):
        raise ViewError("send a JSON object with name, selection and hidden_tiles")
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ViewError(f"name: give the view a name of 1-{MAX_NAME} characters")
    dashboard = payload.get("dashboard", "exec")
    if dashboard not in DASHBOARDS:
        raise ViewError(f"dashboard: one of {', '.join(DASHBOARDS)}")
    sel = payload.get("selection") or {}
    if not isinstance(sel, dict) or set(sel) - set(FIELDS):
        raise ViewError(f"selection: an object with only {', '.join(FIELDS)}")
    for k, v in sel.items():
        if not isinstance(v, str) or len(v) > MAX_VALUE:
            raise ViewError(f"selection.{k}: a text of at most {MAX_VALUE} characters")
    tiles = payload.get("hidden_tiles") or []
    if not isinstance(tiles, list) or not all(isinstance(t, str) and TILE_RE.match(t) for t in tiles):
        raise ViewError("hidden_tiles: a list of tile names such as 'spend' or 'roas'")
    return SavedView(name.strip(), slugify(name), dashboard, dict(sel), sorted(set(tiles)))


def query(view: SavedView) -> str:
    """The dashboard query string that opens ``view`` (``week=...&channel=...&hide=a,b``)."""
    q = {k: view.selection[k] for k in FIELDS if view.selection.get(k)}
    if view.hidden_tiles:
        q["hide"] = ",".join(view.hidden_tiles)
    return urlencode(q)


class ViewStore:
    """Views per login in one SQLite file (created on first use)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or store_file()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS views (login TEXT NOT NULL, slug TEXT NOT NULL, name TEXT NOT NULL,"
                " dashboard TEXT NOT NULL, selection TEXT NOT NULL, hidden_tiles TEXT NOT NULL,"
                " saved_at TEXT NOT NULL, PRIMARY KEY (login, slug))"
            )
            with con:
                yield con
        finally:
            con.close()

    def save(self, login: str, view: SavedView) -> SavedView:
        """Insert or replace ``login``'s view with the same slug."""
        view.saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._db() as con:
            (n,) = con.execute(
                "SELECT count(*) FROM views WHERE login = ? AND slug <> ?", [login, view.slug]
            ).fetchone()
            if n >= MAX_VIEWS:
                raise ViewError(f"you have {n} saved views: delete some before saving more")
            con.execute(
                "INSERT OR REPLACE INTO views VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    login,
                    view.slug,
                    view.name,
                    view.dashboard,
                    json.dumps(view.selection),
                    json.dumps(view.hidden_tiles),
                    view.saved_at,
                ],
            )
        return view

    @staticmethod
    def _row(row: tuple[Any, ...]) -> SavedView:
        slug, name, dashboard, sel, tiles, at = row
        return SavedView(name, slug, dashboard, json.loads(sel), json.loads(tiles), at)

    _COLS = "slug, name, dashboard, selection, hidden_tiles, saved_at"

    def get(self, login: str, slug: str) -> SavedView | None:
        with self._db() as con:
            row = con.execute(
                f"SELECT {self._COLS} FROM views WHERE login = ? AND slug = ?", [login, slug]
            ).fetchone()
        return self._row(row) if row else None

    def list(self, login: str) -> list[SavedView]:
        with self._db() as con:
            rows = con.execute(
                f"SELECT {self._COLS} FROM views WHERE login = ? ORDER BY name", [login]
            ).fetchall()
        return [self._row(r) for r in rows]

    def delete(self, login: str, slug: str) -> bool:
        with self._db() as con:
            cur = con.execute("DELETE FROM views WHERE login = ? AND slug = ?", [login, slug])
        return cur.rowcount > 0
