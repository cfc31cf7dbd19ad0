"""One chart style for everything: matplotlib/seaborn figures with titles, units and alt text.

Every chart function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``; notebooks
display the figure (static PNG in batch/HTML, inside an Output widget live). Area-specific chart functions
carry their area as a prefix (``kpi_``, ``budget_``, ``quality_``, ``exec_``).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless everywhere; the notebook's inline backend still displays returned figures
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

PALETTE = ["#1f4e79", "#e07b39", "#3a9e6f", "#b8405e", "#7a5cb8", "#c9a227", "#4a9bc9", "#8c8c8c"]
CHANNEL_ORDER = ["search", "social", "display", "video", "shopping", "other"]
GOOD, BAD, NEUTRAL = "#2e8540", "#c0392b", "#6b7280"


def apply_style() -> None:
    """Set the house style (called on import; idempotent)."""
    plt.rcParams.update(
        {
            "figure.figsize": (9, 4.2),
            "figure.dpi": 100,
            "savefig.dpi": 110,
            "savefig.bbox": "tight",
            "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.grid.axis": "y",
            "grid.alpha": 0.25,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": 10,
            "legend.frameon": False,
            "font.family": "DejaVu Sans",
        }
    )


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def figure_html(fig: Figure) -> str:
    """An ``<img>`` with the PNG inline, the chart's alt text (escaped) and a width that fits any screen."""
    alt = getattr(fig, "alt_text", "") or (fig.axes[0].get_title() if fig.axes else "chart")
    b64 = base64.b64encode(figure_png(fig)).decode("ascii")
    return (
        f'<img class="mktdash-chart" alt="{html.escape(alt, quote=True)}" '
        f'style="max-width:100%;height:auto" src="data:image/png;base64,{b64}"/>'
    )


def _register_ipython_display() -> None:
    """In a Jupyter kernel, a returned Figure displays as :func:`figure_html` (PNG with alt text)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None:
        ip.display_formatter.formatters["text/html"].for_type(Figure, figure_html)


apply_style()
_register_ipython_display()


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """A stable color per channel, the same in every chart."""
    known = {c: PALETTE[i] for i, c in enumerate(CHANNEL_ORDER)}
    out, extra = {}, iter(PALETTE[len(CHANNEL_ORDER) :] + PALETTE)
    for c in channels:
        out[c] = known.get(c) or next(extra)
    return out


def money_axis(ax: plt.Axes, currency: str = "USD", axis: str = "y") -> None:
    """Format an axis as compact money (12k, 1.2M) and put the currency in its label."""
    fmt = mticker.FuncFormatter(lambda v, _: compact(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def compact(v: float) -> str:
    """12345 -> '12.3k'.

    >>> compact(1234567)
    '1.23M'
    """
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def new(title: str, *, xlabel: str = "", ylabel: str = "", figsize: tuple[float, float] | None = None):  # noqa: ANN201
    """A figure with one axes, titled; returns ``(fig, ax)``."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def finish(fig: Figure, alt: str) -> Figure:
    """Attach alt text (used by the HTML/dashboard layers) and close the pyplot handle."""
    fig.alt_text = alt  # type: ignore[attr-defined]
    fig.tight_layout()
    plt.close(fig)
    return fig


def weekly_lines(
    df: pd.DataFrame, *, x: str, y: str, hue: str, title: str, ylabel: str, money: bool = False
) -> Figure:
    """One line per ``hue`` value over ``x`` (e.g. weekly ROAS by channel)."""
    fig, ax = new(title, ylabel=ylabel)
    colors = channel_colors(sorted(df[hue].unique()))
    for key, g in df.sort_values(x).groupby(hue, sort=True):
        ax.plot(g[x].astype(str), g[y], label=str(key), color=colors[str(key)], lw=1.8)
    ticks = sorted(df[x].astype(str).unique())
    step = max(1, len(ticks) // 10)
    ax.set_xticks(ticks[::step])
    ax.tick_params(axis="x", rotation=45)
    if money:
        money_axis(ax)
    ax.legend(ncols=min(6, df[hue].nunique()), loc="upper left", bbox_to_anchor=(0, -0.22))
    return finish(fig, f"{title}: {ylabel} by {hue} over {x}")


def bars(
    df: pd.DataFrame, *, x: str, y: str, title: str, ylabel: str, money: bool = False, color: str | None = None
) -> Figure:
    """Simple vertical bars (one per row)."""
    fig, ax = new(title, ylabel=ylabel)
    colors = channel_colors(df[x].astype(str).tolist())
    ax.bar(df[x].astype(str), df[y], color=color or [colors[v] for v in df[x].astype(str)])
    if money:
        money_axis(ax)
    return finish(fig, f"{title}: {ylabel} by {x}")


# ---- executive dashboard (exec_) -----------------------------------------------------------------------
def exec_trend(df: pd.DataFrame, *, title: str, currency: str = "USD") -> Figure:
    """Weekly spend and attributed revenue (columns ``week``, ``spend``, ``revenue``), money on the y axis."""
    fig, ax = new(title, ylabel=f"{currency} per week", figsize=(9, 3.6))
    d = df.sort_values("week")
    x = d["week"].astype(str)
    ax.plot(x, d["revenue"], label="Revenue (platform-attributed)", color=PALETTE[2], lw=2, marker="o", ms=3)
    ax.plot(x, d["spend"], label="Spend", color=PALETTE[0], lw=2, marker="o", ms=3)
    step = max(1, len(x) // 6)
    ax.set_xticks(list(x)[::step])
    ax.tick_params(axis="x", rotation=30)
    money_axis(ax, currency)
    ax.legend(loc="upper left", ncols=2, fontsize=9)
    last = d.iloc[-1] if len(d) else None
    tail = f"; latest week {last['week']}: spend {compact(last['spend'])}, revenue {compact(last['revenue'])} {currency}" if last is not None else ""
    return finish(fig, f"{title}: weekly spend and revenue in {currency} for {len(d)} weeks{tail}")


def exec_roi(df: pd.DataFrame, *, title: str) -> Figure:
    """ROI per channel with its 90% interval (columns ``channel``, ``roi_mean``, ``roi_lower_90``, ``roi_upper_90``)."""
    fig, ax = new(title, ylabel="Revenue per 1 spent (ROI)", figsize=(9, 3.4))
    d = df.sort_values("roi_mean", ascending=False)
    colors = channel_colors(d["channel"].astype(str).tolist())
    lo = (d["roi_mean"] - d["roi_lower_90"]).clip(lower=0)
    hi = (d["roi_upper_90"] - d["roi_mean"]).clip(lower=0)
    ax.bar(d["channel"].astype(str), d["roi_mean"], yerr=[lo, hi], capsize=4,
           color=[colors[c] for c in d["channel"].astype(str)])
    ax.axhline(1.0, color=NEUTRAL, lw=1, ls="--")
    parts = ", ".join(f"{c} {v:.2f}" for c, v in zip(d["channel"], d["roi_mean"], strict=False))
    return finish(fig, f"{title}: ROI by channel with 90% intervals (break-even at 1.0): {parts}")


def quality_completeness(days: pd.DataFrame, *, title: str = "Data completeness by source and day") -> Figure:
    """Heat strip of data presence: one row per source, one column per day (green present, red missing).

    ``days`` is long: ``source``, ``day``, ``present`` (bool), as in :attr:`mktdash.quality.Scorecard.days`.
    """
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.colors import ListedColormap

    fig, ax = new(title, xlabel="Day", ylabel="")
    if days.empty:
        ax.text(0.5, 0.5, "No dated data loaded", ha="center", va="center", transform=ax.transAxes)
        return finish(fig, "No dated data loaded yet")
    d = days.assign(day=pd.to_datetime(days["day"]))
    grid = d.pivot_table(index="source", columns="day", values="present", aggfunc="max")
    full = pd.date_range(grid.columns.min(), grid.columns.max(), freq="D")
    grid = grid.reindex(columns=full)  # NaN = before a source's first day (not expected)
    vals = grid.to_numpy(dtype=float)
    fig.set_size_inches(9, max(1.6, 0.35 * len(grid) + 1.2))
    x0, x1 = mdates.date2num(full[0]), mdates.date2num(full[-1] + pd.Timedelta(days=1))
    cmap = ListedColormap([BAD, GOOD])
    cmap.set_bad("#f3f4f6")
    ax.imshow(
        np.ma.masked_invalid(vals), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
        extent=(x0, x1, len(grid) - 0.5, -0.5),
    )  # fmt: skip
    ax.set_yticks(range(len(grid)), [str(s) for s in grid.index])
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.grid(False)
    missing = int(np.nansum(1 - vals))
    ax.set_xlabel(f"Day (red = missing day; {missing} missing source-days)")
    return finish(fig, f"Completeness of {len(grid)} sources over {len(full)} days; {missing} missing source-days")
