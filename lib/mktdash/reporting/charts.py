"""One chart style for everything: matplotlib figures with titles, units and alt text.

Every chart function returns a ``matplotlib.figure.Figure``, made without pyplot (no figure manager to
register and close, ~0.3 s less to import: matplotlib's advice for servers); notebooks display the figure
(static SVG in batch/HTML, inside an Output widget live). Area-specific chart functions carry their area as
a prefix (``kpi_``, ``budget_``, ``quality_``, ``exec_``).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use(
    "Agg"
)  # headless everywhere (an analyst's pyplot too); figures display through the formatter below
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mktdash import weeks  # noqa: E402
from mktdash.analytics.metrics import METRICS  # noqa: E402
from mktdash.reporting import tables, templating  # noqa: E402
from mktdash.reporting.narrative import compact  # noqa: E402  (12345 -> 12.3k, as sentences write it)

PALETTE = ["#1f4e79", "#e07b39", "#3a9e6f", "#b8405e", "#7a5cb8", "#c9a227", "#4a9bc9", "#8c8c8c"]
CHANNEL_ORDER = ["search", "social", "display", "video", "shopping", "other"]
GOOD, BAD, NEUTRAL = "#2e8540", "#c0392b", "#6b7280"


def apply_style() -> None:
    """Set the house style (called on import; idempotent)."""
    matplotlib.rcParams.update(
        {
            "figure.figsize": (9, 4.2),
            "figure.dpi": 100,
            "savefig.dpi": 110,  # no "tight" bbox: finish() lays the figure out once; tight saving draws it twice
            "svg.fonttype": "none",  # text as <text>, not as paths
            "svg.hashsalt": "mktdash",  # stable element ids
            "axes.prop_cycle": cycler(color=PALETTE),
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


# matplotlib names only the font it measured text with; a browser without it then falls back to its default
# (often a serif): Verdana has DejaVu Sans' metrics, so labels still fit their place
_SVG_FONT = (b"font-family: 'DejaVu Sans'", b"font-family: 'DejaVu Sans', Verdana, Arial, sans-serif")


def figure_svg(fig: Figure) -> bytes:
    """The figure as SVG with its text as text: a tenth of the PNG's size, about half its drawing time, sharp
    at any zoom, and its words searchable (escaped by matplotlib)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # no timestamp: the same chart, the same bytes
    return buf.getvalue().replace(*_SVG_FONT)


def figure_html(fig: Figure) -> str:
    """An ``<img>`` with the SVG inline, the chart's alt text (escaped) and a width that fits any screen."""
    alt = getattr(fig, "alt_text", "") or (fig.axes[0].get_title() if fig.axes else "chart")
    b64 = base64.b64encode(figure_svg(fig)).decode("ascii")
    return templating.fragment("fragments.html.j2", "chart_img", alt, b64)


def table_html(df: pd.DataFrame) -> str:
    """A frame as a table for people (:func:`mktdash.reporting.tables.table_html`: the one table format), styled."""
    return tables.STYLE + tables.table_html(df)


def load_ipython_extension(ip) -> None:  # noqa: ANN001 - IPython's extension hook
    """A returned Figure displays as :func:`figure_html` (SVG with alt text). Runs on import in a kernel, and
    with ``%load_ext mktdash.reporting.charts``."""
    ip.display_formatter.formatters["text/html"].for_type(Figure, figure_html)
    tables.load_ipython_extension(ip)


apply_style()
tables.register_in_kernel(load_ipython_extension)


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """A stable color per channel, the same in every chart."""
    known = {c: PALETTE[i] for i, c in enumerate(CHANNEL_ORDER)}
    out, extra = {}, iter(PALETTE[len(CHANNEL_ORDER) :] + PALETTE)
    for c in channels:
        out[c] = known.get(c) or next(extra)
    return out


def money_axis(ax: Axes, currency: str = "USD", axis: str = "y") -> None:
    """Format an axis as compact money (12k, 1.2M) and put the currency in its label."""
    fmt = mticker.FuncFormatter(lambda v, _: compact(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def new(title: str, *, xlabel: str = "", ylabel: str = "", figsize: tuple[float, float] | None = None):  # noqa: ANN201
    """A figure with one axes, titled; returns ``(fig, ax)``."""
    fig = Figure(figsize=figsize)
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def finish(fig: Figure, alt: str) -> Figure:
    """Attach alt text (used by the HTML/dashboard layers) and lay the figure out once."""
    fig.alt_text = alt  # type: ignore[attr-defined]
    fig.tight_layout()
    fig.set_layout_engine(None)  # tight_layout leaves a placeholder engine that makes savefig draw twice
    return fig


_MONTH = re.compile(r"^\d{4}-\d{2}$")


def period_dates(values: Sequence[object] | pd.Series) -> pd.DatetimeIndex:
    """Period labels as real dates, so time sits on a date axis: an ISO week (``2026-W46``) is its Monday, a
    month (``2026-11``) its first day; dates and timestamps stay as they are.

    >>> list(period_dates(["2026-W46", "2026-11", "2026-11-18"]).strftime("%Y-%m-%d"))
    ['2026-11-09', '2026-11-01', '2026-11-18']
    """
    out = []
    for v in values:
        if isinstance(v, str) and "-W" in v:
            out.append(pd.Timestamp(weeks.monday(v)))
        elif isinstance(v, str) and _MONTH.match(v):
            out.append(pd.Timestamp(f"{v}-01"))
        else:
            try:
                out.append(pd.Timestamp(v))  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{v!r} is not a period a time axis can place: give an ISO week (2026-W46), a month "
                    "(2026-11) or a date"
                ) from exc
    return pd.DatetimeIndex(out)


def _grain(values: Sequence[object] | pd.Series) -> str:
    first = next(iter(values), None)
    if isinstance(first, str) and "-W" in first:
        return "week"
    if isinstance(first, str) and _MONTH.match(first):
        return "month"
    return "day"


def date_axis(ax: Axes, grain: str, n_periods: int) -> None:
    """Ticks on a real date axis: ISO weeks labelled ``2026-W46`` on their Mondays, months as ``Nov 2026``,
    days concisely; about eight labels whatever the span."""
    target = ax.xaxis
    step = max(1, -(-n_periods // 8))
    if grain == "week":
        target.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=step))
        target.set_major_formatter(  # a week not over yet says so: "2026-W48 (partial)"
            mticker.FuncFormatter(lambda v, _: tables.week(weeks.of(mdates.num2date(v).date())))
        )
    elif grain == "month":
        target.set_major_locator(mdates.MonthLocator(interval=step))
        target.set_major_formatter(mdates.DateFormatter("%b %Y"))
    else:
        locator = mdates.AutoDateLocator(maxticks=9)
        target.set_major_locator(locator)
        target.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if grain != "day":
        ax.tick_params(axis="x", rotation=30)


def series(df: pd.DataFrame, *, x: str, hue: str) -> dict[str, pd.DataFrame]:
    """One frame per ``hue`` value, in time order with a ``_t`` date column: the points of one line each.

    Raises ValueError naming the series and period when a series has two rows for one period (a line
    must have one point per period: aggregate first)."""
    d = df.assign(_t=period_dates(df[x].tolist()))
    dup = d[d.duplicated([hue, "_t"], keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise ValueError(
            f"{hue} {first[hue]!s} has {int((dup[hue] == first[hue]).sum())} rows for {x} {first[x]!s}: "
            f"a line takes one row per {x}; aggregate the table by {hue} and {x} first"
        )
    return {str(k): g for k, g in d.sort_values("_t", kind="stable").groupby(hue, sort=True)}


def weekly_lines(
    df: pd.DataFrame, *, x: str, y: str, hue: str, title: str, ylabel: str, money: bool = False
) -> Figure:
    """One line per ``hue`` value over ``x`` (e.g. weekly ROAS by channel), time on a real date axis.

    ``x`` holds ISO weeks, months (``2026-11``) or dates; every series is drawn in time order with one
    point per period, so a series with weeks the others lack still runs left to right."""
    fig, ax = new(title, ylabel=ylabel)
    lines = series(df, x=x, hue=hue)
    colors = channel_colors(list(lines))
    partial = [str(v) for v in df[x].unique() if tables.week(v).endswith("(partial)")]
    for key, g in lines.items():
        ax.plot(g["_t"], g[y], label=key, color=colors[key], lw=1.8, marker="o" if len(g) < 3 else None)
        part = g[g[x].astype(str).isin(partial)]
        if len(part):  # a week not over yet: a hollow point, so its low total is not read as a drop
            ax.plot(part["_t"], part[y], "o", mfc="white", color=colors[key], ms=6)
    date_axis(ax, _grain(df[x].tolist()), df[x].nunique())
    if money:
        money_axis(ax)
    ax.legend(ncols=min(6, max(1, len(lines))), loc="upper left", bbox_to_anchor=(0, -0.22))
    note = f"; hollow points: partial week {', '.join(partial)}" if partial else ""
    return finish(fig, f"{title}: {ylabel} by {hue} over {x}{note}")


def bars(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    ylabel: str,
    money: bool = False,
    color: str | None = None,
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
    d = df.assign(_t=period_dates(df["week"].astype(str).tolist())).sort_values("_t")
    ax.plot(
        d["_t"], d["revenue"], label="Revenue (platform-attributed)", color=PALETTE[2], lw=2, marker="o", ms=3
    )
    ax.plot(d["_t"], d["spend"], label="Spend", color=PALETTE[0], lw=2, marker="o", ms=3)
    date_axis(ax, "week", len(d))
    money_axis(ax, currency)
    ax.legend(loc="upper left", ncols=2, fontsize=9)
    last = d.iloc[-1] if len(d) else None
    tail = (
        f"; latest week {last['week']}: spend {compact(last['spend'])}, revenue {compact(last['revenue'])} {currency}"
        if last is not None
        else ""
    )
    return finish(fig, f"{title}: weekly spend and revenue in {currency} for {len(d)} weeks{tail}")


def exec_roi(df: pd.DataFrame, *, title: str) -> Figure:
    """ROI per channel with its 90% interval (columns ``channel``, ``roi_mean``, ``roi_lower_90``, ``roi_upper_90``)."""
    fig, ax = new(title, ylabel="Revenue per 1 spent (ROI)", figsize=(9, 3.4))
    d = df.sort_values("roi_mean", ascending=False)
    colors = channel_colors(d["channel"].astype(str).tolist())
    lo = (d["roi_mean"] - d["roi_lower_90"]).clip(lower=0)
    hi = (d["roi_upper_90"] - d["roi_mean"]).clip(lower=0)
    ax.bar(
        d["channel"].astype(str),
        d["roi_mean"],
        yerr=[lo, hi],
        capsize=4,
        color=[colors[c] for c in d["channel"].astype(str)],
    )
    ax.axhline(1.0, color=NEUTRAL, lw=1, ls="--")
    parts = ", ".join(f"{c} {v:.2f}" for c, v in zip(d["channel"], d["roi_mean"], strict=False))
    return finish(fig, f"{title}: ROI by channel with 90% intervals (break-even at 1.0): {parts}")


def quality_completeness(days: pd.DataFrame, *, title: str = "Data completeness by source and day") -> Figure:
    """Heat strip of data presence: one row per source, one column per day (green present, red missing,
    grey paused).

    ``days`` is long: ``source``, ``day`` and ``state`` (present | missing | paused) or a boolean ``present``,
    as in :attr:`mktdash.ingest.scorecard.Scorecard.days`.
    """
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.colors import ListedColormap

    fig, ax = new(title, xlabel="Day", ylabel="")
    if days.empty:
        ax.text(0.5, 0.5, "No dated data loaded", ha="center", va="center", transform=ax.transAxes)
        return finish(fig, "No dated data loaded yet")
    state = days["state"] if "state" in days else days["present"].map({True: "present", False: "missing"})
    code = state.map({"missing": 0.0, "paused": 1.0, "present": 2.0})
    d = pd.DataFrame({"source": days["source"], "day": pd.to_datetime(days["day"]), "v": code})
    grid = d.pivot_table(index="source", columns="day", values="v", aggfunc="max", sort=False)
    full = pd.date_range(grid.columns.min(), grid.columns.max(), freq="D")
    grid = grid.reindex(columns=full)  # NaN = before a source's first day (not expected)
    vals = grid.to_numpy(dtype=float)
    fig.set_size_inches(9, max(1.6, 0.35 * len(grid) + 1.2))
    x0, x1 = mdates.date2num(full[0]), mdates.date2num(full[-1] + pd.Timedelta(days=1))
    cmap = ListedColormap([BAD, "#c8ccd2", GOOD]).with_extremes(bad="#f3f4f6")
    ax.imshow(
        np.ma.masked_invalid(vals), aspect="auto", cmap=cmap, vmin=-0.5, vmax=2.5, interpolation="nearest",
        extent=(x0, x1, len(grid) - 0.5, -0.5),
    )  # fmt: skip
    ax.set_yticks(range(len(grid)), [str(s) for s in grid.index])
    # a marker above every missing run, so one-day gaps stay visible on a two-year axis
    for row in range(len(grid)):
        miss = grid.columns[vals[row] == 0]
        if len(miss):
            starts = miss[np.r_[True, np.diff(miss.values).astype("timedelta64[D]").astype(int) > 1]]
            ax.scatter(mdates.date2num(starts) + 0.5, [row - 0.3] * len(starts), marker="v", s=28, color=BAD,
                       edgecolors="white", linewidths=0.5, zorder=3, clip_on=False)  # fmt: skip
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.grid(False)
    missing = int((vals == 0).sum())
    paused = int((vals == 1).sum())
    ax.set_xlabel(f"Day (red = missing: {missing} source-days; grey = paused: {paused})")
    return finish(
        fig,
        f"Completeness of {len(grid)} sources over {len(full)} days; {missing} missing and {paused} paused source-days",
    )


# ---- KPI charts (mktdash.analytics.kpis) ---------------------------------------------------------------------------
def kpi_weekly_metric(
    weekly: pd.DataFrame, metric: str, *, hue: str = "channel", currency: str = "USD"
) -> Figure:
    """Weekly ``metric`` (e.g. ROAS, CPA) per ``hue`` from a weekly KPI frame (``kpis.channel_weekly``)."""
    m = METRICS[metric]
    unit = {"money": currency, "ratio": "ratio", "count": "count"}.get(m.unit, m.unit)
    return weekly_lines(
        weekly.dropna(subset=[metric]),
        x="week",
        y=metric,
        hue=hue,
        title=f"Weekly {m.label} by {hue}",
        ylabel=f"{m.label} ({unit})",
        money=m.unit == "money",
    )


def kpi_fatigue(fat: pd.DataFrame, *, top: int = 12) -> Figure:
    """CTR change per 30 days of creative age for the steepest decliners (fatigued creatives in red)."""
    d = fat.head(top).iloc[::-1]
    fig, ax = new("Creative fatigue: CTR change per 30 days of age", xlabel="CTR change per 30 days (%)")
    if len(d):
        ax.barh(
            d["creative"].astype(str),
            100 * d["decay_30d"],
            color=[BAD if f else NEUTRAL for f in d["fatigued"]],
        )
    ax.axvline(0, color="black", lw=0.8)
    return finish(fig, "Creative fatigue: CTR change per 30 days by creative")


def kpi_attribution(side: pd.DataFrame, *, what: str = "conversions") -> Figure:
    """Credited conversions (or revenue) per channel, one bar per attribution model in each channel group."""
    cols = [c for c in side.columns if c.endswith(f"_{what}")]
    fig, ax = new(f"Attribution: {what} credited per channel by model", ylabel=what)
    width = 0.8 / max(len(cols), 1)
    x = range(len(side))
    for i, c in enumerate(cols):
        ax.bar(
            [v + i * width for v in x],
            side[c],
            width=width,
            label=c.removesuffix(f"_{what}"),
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_xticks([v + 0.4 - width / 2 for v in x], side["channel"].astype(str))
    if what == "revenue":
        money_axis(ax)
    if cols:
        ax.legend(ncols=4, loc="upper left", bbox_to_anchor=(0, -0.12))
    return finish(fig, f"Attribution comparison of {what} by channel and model")


# ---- budget (issue 5) ---------------------------------------------------------------------------------------
def budget_pacing(p: pd.DataFrame, *, currency: str = "USD") -> Figure:
    """Month-to-date pacing per channel: plan, spend to date and projected month-end spend."""
    m = p[(p["period"] == "MTD") & p["campaign_name"].isna()].reset_index(drop=True)
    fig, ax = new("Month-to-date pacing by channel", ylabel=f"Spend ({currency})")
    x = range(len(m))
    ax.bar([i - 0.27 for i in x], m["planned_spend"], 0.27, label="plan (month)", color=NEUTRAL)
    ax.bar(list(x), m["projected_spend"], 0.27, label="projected month end", color=PALETTE[0])
    ax.bar([i + 0.27 for i in x], m["spend_to_date"], 0.27, label="spent to date", color=PALETTE[6])
    for i, r in m.iterrows():
        color = BAD if r["status"] in ("over", "under") else GOOD
        ax.annotate(
            str(r["status"]), (i, r["projected_spend"]), ha="center", va="bottom", fontsize=8, color=color
        )
    ax.set_xticks(list(x), m["channel"].astype(str))
    money_axis(ax)
    ax.legend(ncols=3, loc="upper left", bbox_to_anchor=(0, -0.1))
    return finish(fig, "Month-to-date pacing: plan, projected month-end and spend to date per channel")


def budget_compliance(c: pd.DataFrame) -> Figure:
    """Weekly compliance (share of spend within approved limits) against its goal."""
    fig, ax = new("Weekly spend compliance", ylabel="Share of spend within approved limits")
    colors = [GOOD if ok else BAD for ok in c["meets_goal"]]
    ax.bar(period_dates(c["week"].astype(str).tolist()), c["compliance"], width=5, color=colors)
    date_axis(ax, "week", len(c))
    if len(c):
        ax.axhline(float(c["goal"].iloc[0]), color=NEUTRAL, ls="--", lw=1, label="goal")
    ax.set_ylim(max(0.0, float(c["compliance"].min()) - 0.05) if len(c) else 0, 1.01)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.legend(loc="lower left")
    return finish(fig, "Weekly compliance: share of spend within approved limits, goal as dashed line")


def budget_mmm_fit(f: pd.DataFrame, *, currency: str = "USD") -> Figure:
    """Actual weekly revenue vs the model's posterior predictive (mean and 90% band)."""
    fig, ax = new("Model fit: weekly revenue, actual vs predicted", ylabel=f"Revenue ({currency})")
    f = f.sort_values("date")
    ax.fill_between(
        f["date"], f["lower_90"], f["upper_90"], color=PALETTE[0], alpha=0.2, label="90% interval"
    )
    ax.plot(f["date"], f["fitted"], color=PALETTE[0], lw=1.6, label="predicted (mean)")
    ax.plot(f["date"], f["actual"], color="black", lw=1, marker=".", ms=3, label="actual")
    money_axis(ax)
    ax.legend(ncols=3, loc="upper left", bbox_to_anchor=(0, -0.1))
    return finish(
        fig, "Weekly revenue: actual against the model's posterior predictive mean and 90% interval"
    )


def budget_roi(roi: pd.DataFrame) -> Figure:
    """ROI per channel with its 90% credible interval."""
    fig, ax = new("Channel ROI (attributed revenue / spend)", ylabel="ROI (revenue per unit of spend)")
    colors = channel_colors(roi["channel"].astype(str).tolist())
    err = [roi["roi_mean"] - roi["roi_lower_90"], roi["roi_upper_90"] - roi["roi_mean"]]
    ax.bar(
        roi["channel"].astype(str),
        roi["roi_mean"],
        yerr=err,
        capsize=4,
        color=[colors[c] for c in roi["channel"].astype(str)],
    )
    ax.axhline(1.0, color=NEUTRAL, lw=1, ls="--")
    return finish(fig, "ROI per channel with 90% credible intervals; dashed line at break-even")


def budget_response_curves(curves, current, recommended=None, *, currency: str = "USD") -> Figure:  # noqa: ANN001
    """Weekly response curve per channel (posterior mean + 90% band) with current/recommended spend marked."""
    import numpy as np

    n = len(curves.channels)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4.0 * cols, 3.0 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.suptitle("Response curves: weekly revenue by weekly spend", x=0.01, ha="left", fontweight="bold")
    cur = np.array([float(current.get(c, 0.0)) for c in curves.channels])
    rec = None if recommended is None else np.array([float(recommended.get(c, 0.0)) for c in curves.channels])
    top = np.maximum(cur * 2.2, curves.spend_scale * 1.2)
    g, resp = curves.grid(50, top)
    colors = channel_colors(curves.channels)
    for j, c in enumerate(curves.channels):
        ax = axes[j // cols][j % cols]
        lo, hi = np.quantile(resp[:, :, j], [0.05, 0.95], axis=0)
        ax.fill_between(g[:, j], lo, hi, color=colors[c], alpha=0.2)
        ax.plot(g[:, j], resp[:, :, j].mean(axis=0), color=colors[c], lw=1.8)
        ax.plot([cur[j]], [curves.response(cur)[:, j].mean()], "o", color="black", label="current")
        if rec is not None:
            ax.plot([rec[j]], [curves.response(rec)[:, j].mean()], "D", color=GOOD, label="recommended")
        ax.set_title(c, fontsize=10)
        ax.set_xlabel(f"Weekly spend ({currency})")
        ax.set_ylabel(f"Weekly revenue ({currency})")
        money_axis(ax)
        money_axis(ax, axis="x")
        for axis in (ax.xaxis, ax.yaxis):  # a small panel reads better with 4 ticks (and draws ~40% faster)
            axis.set_major_locator(mticker.MaxNLocator(4))
        if j == 0:
            ax.legend(fontsize=8, loc="lower right")
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    return finish(
        fig, "Response curve per channel with 90% band; dot = current weekly spend, diamond = recommended"
    )


def budget_allocation(t: pd.DataFrame, *, currency: str = "USD") -> Figure:
    """Current vs recommended weekly spend per channel with the optimizer's bounds."""
    fig, ax = new("Budget allocation: current vs recommended", ylabel=f"Weekly spend ({currency})")
    x = list(range(len(t)))
    ax.bar([i - 0.2 for i in x], t["current_weekly_spend"], 0.4, color=NEUTRAL, label="current")
    ax.bar([i + 0.2 for i in x], t["recommended_weekly_spend"], 0.4, color=PALETTE[0], label="recommended")
    ax.vlines([i + 0.2 for i in x], t["lower_bound"], t["upper_bound"], color="black", lw=1, label="bounds")
    ax.set_xticks(x, t["channel"].astype(str))
    money_axis(ax)
    ax.legend(ncols=3, loc="upper left", bbox_to_anchor=(0, -0.1))
    return finish(fig, "Current and recommended weekly spend per channel; black lines show allowed range")


def budget_scenarios(s: pd.DataFrame, *, currency: str = "USD") -> Figure:
    """Expected weekly media revenue vs total weekly budget: optimised vs pro rata (90% interval)."""
    fig, ax = new(
        "Scenarios: media revenue by total weekly budget",
        xlabel=f"Total weekly spend ({currency})",
        ylabel=f"Weekly media revenue ({currency})",
    )
    for kind, color in (("pro rata", NEUTRAL), ("optimised", PALETTE[0])):
        d = s[s["kind"] == kind].sort_values("total_weekly_spend")
        if d.empty:
            continue
        ax.fill_between(
            d["total_weekly_spend"], d["revenue_lower_90"], d["revenue_upper_90"], color=color, alpha=0.15
        )
        ax.plot(d["total_weekly_spend"], d["expected_revenue"], marker="o", color=color, label=kind)
    for kind, marker in (("current", "s"), ("fixed plan", "^")):
        d = s[s["kind"] == kind]
        if not d.empty:
            ax.plot(d["total_weekly_spend"], d["expected_revenue"], marker, color="black", label=kind)
    money_axis(ax)
    money_axis(ax, axis="x")
    ax.legend(loc="lower right")
    return finish(fig, "Expected media revenue by total budget for optimised and pro-rata allocations")


def budget_forecast(fc: pd.DataFrame, *, currency: str = "USD") -> Figure:
    """Weekly revenue forecast per scenario with 90% intervals."""
    fig, ax = new("Revenue forecast: plan vs recommendation", ylabel=f"Weekly revenue ({currency})")
    for i, (name, d) in enumerate(series(fc, x="week", hue="scenario").items()):
        color = PALETTE[i % len(PALETTE)]
        ax.fill_between(d["_t"], d["revenue_lower_90"], d["revenue_upper_90"], color=color, alpha=0.15)
        ax.plot(d["_t"], d["revenue_mean"], marker="o", ms=3, color=color, label=name)
    date_axis(ax, "week", fc["week"].nunique())
    money_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.22), ncols=3)
    return finish(fig, "Weekly revenue forecast under the plan and the recommendation with 90% intervals")
