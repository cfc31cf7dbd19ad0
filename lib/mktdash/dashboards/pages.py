"""The pages ``mktdash serve`` writes itself: the landing page and the "busy" page (HTML from
``server_pages.html.j2``, autoescaped), and which dashboards it serves."""

from __future__ import annotations

from mktdash import paths
from mktdash.dashboards.publish import latest
from mktdash.reporting import templating

DASHBOARDS = {"exec": "30_exec_summary.ipynb", "budget": "20_budget.ipynb"}
TITLES = {"exec": "Executive summary", "budget": "Budget and allocation"}


def busy_page(message: str, retry_after: int, base_url: str = "/") -> str:
    """The 503 page: what happened and when to retry (reloads itself then)."""
    return templating.fragment("server_pages.html.j2", "busy", message, retry_after, base_url.rstrip("/"))


def landing_html(base_url: str = "/") -> str:
    """The landing page: links to both dashboards and the run archive, plus what is published."""
    b = base_url.rstrip("/")
    what = {
        "exec": "KPIs, alerts, attribution, exports",
        "budget": "Plan vs actual, pacing, recommended allocation",
    }
    cards = [
        (TITLES[k], f"{b}/voila/render/{nb}", what.get(k, ""))
        for k, nb in DASHBOARDS.items()
        if (paths.notebooks_dir() / nb).exists()
    ]
    return templating.fragment("server_pages.html.j2", "landing", latest(), cards, b)
