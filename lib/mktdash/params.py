"""Run parameters: ``params/base.yaml`` plus override files, merged and validated.

Order (later wins): ``params/base.yaml`` → ``params/local/*.yaml`` (git-ignored, sorted) → files named in
``$MKTDASH_PARAMS`` (``os.pathsep``-separated; also reaches notebooks opened by hand) → ``--params`` files →
explicit overrides. Every section is a pydantic model with ``extra="forbid"``; an unknown key is a one-line
:class:`ParamsError` naming the file, the key and the closest known key.

Each section belongs to one module of the package (``kpis``, ``alerts``, ``budget`` ...); add fields to
your own section only, with a default and a comment, and document them in README's params reference.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mktdash import paths

SCHEMA_VERSION = 1


class ParamsError(ValueError):
    """Bad parameters: the message is one line naming the file and key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# ---- sections ----------------------------------------------------------------------------------------------
class WarehouseParams(Section):
    backend: Literal["duckdb", "pyspark", "url"] = "duckdb"  # url: any Ibis backend URL in `url`
    path: str = ""  # DuckDB file; empty = data/warehouse.duckdb under MKTDASH_HOME
    url: str = ""  # e.g. bigquery://project/dataset when backend is url


class ChannelParams(Section):
    # platform -> channel when no rule matches (platforms are lower snake case: google_ads, meta, ...)
    by_platform: dict[str, str] = Field(default_factory=dict)
    # campaign type (Google Ads "Campaign type", Microsoft "Campaign type", ...) -> channel
    by_campaign_type: dict[str, str] = Field(default_factory=dict)
    # first regex that matches the campaign name wins: [{pattern: "(?i)youtube", channel: video}]
    by_campaign_name: list[dict[str, str]] = Field(default_factory=list)
    # CRM lead source / GA4 channel group -> channel
    crm_sources: dict[str, str] = Field(default_factory=dict)
    default: str = "other"


class IngestLimits(Section):
    """Per-file bounds: a file beyond any is refused before it is read (see docs/ingest.md)."""

    max_file_mb: float = Field(default=512.0, gt=0)  # size on disk
    max_decompressed_mb: float = Field(default=2048.0, gt=0)  # gzip/zip content, Parquet pages / Arrow size
    max_rows: int = Field(default=5_000_000, gt=0)  # data rows (text lines; Parquet footer row count)
    max_line_kb: float = Field(default=1024.0, gt=0)  # one line of text
    max_cell_kb: float = Field(default=256.0, gt=0)  # one run of bytes without a delimiter or line break


class IngestParams(Section):
    freshness_hours: float = 24.0  # a source older than this is stale
    max_future_days: int = 0  # rows dated after today + this are rejected
    pii_salt_env: str = (
        "MKTDASH_PII_SALT"  # env var with the salt for hashing CRM PII (else .secrets/pii_salt)
    )
    # platforms whose conversions are counted per click, so conversions > clicks is an error there (a warning elsewhere)
    strict_conversion_platforms: list[str] = Field(default_factory=lambda: ["google_ads", "microsoft_ads"])
    # freshness targets per source label / platform / table overriding freshness_hours (e.g. {customer_health: 192})
    freshness_hours_by_source: dict[str, float] = Field(default_factory=dict)
    pause_days: int = (
        14  # a run of missing days at least this long is a pause (campaigns off), not a data gap
    )
    # audience / creative of ad rows that have none: a regex with one group applied to the ad group / ad name
    # (e.g. "\\| *(?P<audience>[^|]+)$"); empty = the whole ad group / ad name
    audience_pattern: str = ""
    creative_pattern: str = ""
    limits: IngestLimits = Field(default_factory=IngestLimits)  # per-file bounds (size, rows, cell, line)


class KpiParams(Section):
    trailing_weeks: int = 4  # "4-week average" comparison window
    fatigue_lookback_weeks: int = 26  # creative fatigue: weeks of CTR history per creative
    fatigue_min_decay_30d: float = (
        0.02  # fatigued = significant CTR decline of at least 2% per 30 days of age
    )
    attribution_half_life_days: float = 7.0  # time-decay attribution half-life
    crossdomain_weeks: int = 13  # CRM / product / finance views cover this many weeks up to the report week


class AlertParams(Section):
    min_relative_change: float = 0.15  # materiality: |change| below this never alerts
    alpha: float = 0.01  # significance after multiple-testing correction
    history_weeks: int = 4  # alerts.json covers the report week and this many weeks before it
    baseline_weeks: int = 12  # each evaluated week is tested against this many weeks before it
    levels: list[str] = Field(
        default_factory=lambda: ["channel", "platform", "campaign"]
    )  # kpis.LEVELS names
    metrics: list[str] = Field(
        default_factory=lambda: ["ctr", "cvr", "spend", "cpa", "roas"]
    )  # tested metrics
    max_target_opportunities: int = 5  # at most this many "beats target ROAS, room to grow" opportunities


class BudgetParams(Section):
    pacing_tolerance: float = 0.15  # over/under-pacing when projected spend is off plan by more than this
    approval_threshold: float = 1000.0  # recommended weekly change (reporting currency) that needs approval
    compliance_goal: float = 0.95  # share of spend within approved limits
    objective: Literal["revenue", "conversions"] = "revenue"  # MMM target: web revenue or GA4 key events
    max_change: float = 0.30  # max change per channel vs current (pro rata to the total), e.g. 0.30 = ±30%
    max_share: float = 0.60  # no channel above this share of the total (diversification)
    floors: dict[str, float] = Field(default_factory=dict)  # channel -> min weekly spend (reporting currency)
    caps: dict[str, float] = Field(default_factory=dict)  # channel -> max weekly spend (reporting currency)
    risk: Literal["mean", "quantile", "mean_minus_risk"] = "mean"  # optimizer utility over the posterior
    risk_lambda: float = 1.0  # mean_minus_risk: mean - lambda * sd
    risk_quantile: float = 0.10  # quantile: optimise this lower quantile of revenue
    total_budget: float | None = None  # weekly total to allocate; None = the current weekly total
    current_weeks: int = 4  # complete weeks averaged into the "current" weekly allocation
    scenarios: list[float] = Field(
        default_factory=lambda: [-0.3, -0.15, 0.0, 0.15, 0.3, 0.5]
    )  # total budget changes
    forecast_weeks: int = 13  # forecast horizon (4..13 weeks)
    approval_valid_weeks: int = 13  # an approved proposal covers limit breaches this long after approval
    min_confidence: float = (
        0.9  # "hold" (keep the current allocation) below this P(uplift > 0); docs/budget.md
    )
    horizon_weeks: int | None = None  # objective: None = steady state; N = next N weeks with carry-over
    relax_order: list[str] = Field(
        default_factory=lambda: ["max_share", "max_change", "caps", "floors", "spend_limits"]
    )  # limits given up first to last when they cannot all hold


class MmmParams(Section):
    refit: Literal["auto", "always", "never"] = (
        "auto"  # auto: refit when the data changed beyond the tolerance or the cache is older than max_age_days
    )
    max_age_days: int = 28
    refit_tolerance: float = (
        0.01  # auto: reuse when target and spend of common weeks are revised by at most this
    )
    max_new_weeks: int = 4  # auto: ... and at most this many weeks were added since the fit
    backtest_weeks: int = (
        26  # forecast backtest: a model fitted without the last N weeks (0 = off); docs/budget.md
    )
    roas_priors: dict[str, dict[str, float]] = Field(
        default_factory=dict
    )  # channel -> {roas, sd}: revenue per unit of spend at the mean weekly spend (docs/budget.md)
    chains: int = 2
    draws: int = 300
    tune: int = 300
    target_accept: float = 0.9
    random_seed: int = 7
    saturation: Literal["logistic", "hill"] = "logistic"  # pymc-marketing saturation per channel
    # prior of each channel's saturation ceiling: "equal" (pymc-marketing's default) | "spend_share" (sd =
    # n_channels x its share of spend, the PyMC-Marketing guide's heuristic: a priori every channel returns alike)
    beta_prior: Literal["equal", "spend_share"] = "equal"
    # the weekly noise: "ar1" (what the model leaves unexplained may carry over from week to week) | "iid"
    residuals: Literal["ar1", "iid"] = "ar1"
    l_max: int = 8  # adstock window (weeks)
    yearly_seasonality: int = 2  # Fourier modes of yearly seasonality (0 = none)
    max_treedepth: int = 10  # NUTS tree depth cap (smoke fits use less)
    events: list[str] = Field(
        default_factory=lambda: ["black_friday", "christmas"]
    )  # event dummies (or ISO dates)
    # GA4 web_daily metrics as controls, "metric:channel group" (e.g. "sessions:Organic Search"): a demand proxy
    controls: list[str] = Field(default_factory=list)
    curve_samples: int = 300  # posterior draws kept for curves/optimizer/widgets


class DashboardParams(Section):
    host: str = "127.0.0.1"
    port: int = 8866
    cull_idle_seconds: int = 600  # shut down a viewer's kernel after this long without activity
    max_kernels: int = 8  # at most this many dashboard kernels (viewers + preheated); more get HTTP 503
    preheat_kernels: int = 1  # Voilà kernels kept pre-rendered per dashboard (fast first paint); 0 = off
    keep_published: int = 8  # published warehouse snapshots kept in outputs/published/
    chromium: str = "/usr/bin/chromium"  # used headless, without network, for the PDF export
    notebooks: list[str] = Field(
        default_factory=lambda: ["30_exec_summary", "20_budget"]
    )  # dashboards served
    # pages one login may have open at once (kept below max_kernels; more get HTTP 503)
    max_kernels_per_login: int = Field(default=3, ge=1)
    # a page's kernel ends this long after its connection closed (reload, closed tab)
    disconnect_grace_seconds: float = Field(default=10.0, ge=0)
    # a kernel no page ever connected to (plain GET, quick reload) ends after this long idle
    connect_timeout_seconds: float = Field(default=30.0, ge=1)
    # failed logins per client (address + name) in login_window_seconds before a lockout
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)  # a locked-out client is refused this long
    # each failed login is answered after this, doubled per failure (at most 8 s)
    login_delay_seconds: float = Field(default=0.5, ge=0)
    behind_tls: bool = False  # served through an HTTPS proxy: cookies are marked Secure


class RunParams(Section):
    notebooks: list[str] = Field(
        default_factory=lambda: ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]
    )
    hide_code: list[str] = Field(default_factory=lambda: ["20_budget", "30_exec_summary"])
    kernel: str = "python3"
    cell_timeout_seconds: int = 1800
    preheat: bool = True
    concurrent: list[list[str]] = Field(default_factory=lambda: [["10_kpis", "20_budget"]])
    lock_wait_seconds: float = Field(default=10.0, ge=0)  # wait this long for another run to end, then exit 2
    heartbeat_seconds: float = Field(default=5.0, gt=0)  # the running run touches its owner file this often
    # a lock holder whose heartbeat is older than this is reported as stuck (docs/cli.md); never unlocked
    stuck_after_seconds: float = Field(default=120.0, gt=0)


class DemoParams(Section):
    seed: int = 7
    scale: float = 1.0
    weeks: int = 106  # complete ISO weeks of demo data before the partial current week
    plant: bool = True  # plant anomalies, gaps, bad rows, a re-export and a duplicate (listed in truth.json)
    hostile_names: bool = False  # name one campaign <script>alert(1)</script> (HTML-escaping checks)


class MappingParams(Section):
    """A file layout mapped to a canonical table without code (docs/mapping.md): ``mappings: {name: {...}}``."""

    files: list[str]  # glob patterns on the file name (case-insensitive), e.g. ["partner_leads*.csv"]
    table: str  # canonical table the rows go to (mktdash.warehouse.schema.TABLES): ad_daily, crm_deals, ...
    columns: dict[str, str]  # file header -> canonical column, e.g. {"Lead ID": contact_id}
    values: dict[str, str] = Field(default_factory=dict)  # canonical column -> the same value on every row
    date_format: str = "%Y-%m-%d"  # strftime format of the date columns, e.g. "%d/%m/%Y"
    decimal: Literal[".", ","] = "."  # decimal separator of the numbers ("," for 1.234,56)
    delimiter: Literal[",", ";", "\t", "|"] = ","  # cell separator (Excel files: ignored)
    header_row: int = Field(1, ge=1)  # the line (Excel: row) holding the header; lines above are skipped
    sheet: str = ""  # Excel: worksheet name (empty: the first)
    currency: str = ""  # ISO code of every money value (tables with a currency column)
    currency_column: str = ""  # or: the file header holding each row's ISO currency
    total_rows: str = r"(?i)^\s*(grand\s+)?totals?\b"  # rows whose first cell matches are totals: skipped

    @field_validator("columns", mode="before")
    @classmethod
    def _headers_are_text(cls, v: Any) -> Any:
        for k in v if isinstance(v, dict) else ():
            if not isinstance(k, str):  # YAML reads No, Yes, On, 1 ... as booleans and numbers
                raise ValueError(
                    f'header {_yaml_word(k)} was read by YAML as {k!r}: quote it ("{_yaml_word(k)}")'
                )
        return v

    @model_validator(mode="after")
    def _known_names(self) -> MappingParams:
        from mktdash.warehouse import schema  # schema imports nothing of ours: no cycle

        if self.table not in schema.TABLES:
            raise ValueError(f"unknown table {self.table!r}{_did_you_mean(self.table, list(schema.TABLES))}")
        known = [c for c in schema.TABLES[self.table] if c != "ingest_id"]
        for c in [*self.columns.values(), *self.values]:
            if c not in known:
                raise ValueError(f"{self.table} has no column {c!r}{_did_you_mean(c, known)}")
        if (self.currency or self.currency_column) and "currency" not in known:
            raise ValueError(
                f"{self.table} has no currency column: its money must be in the reporting currency"
            )
        if self.currency and self.currency_column:
            raise ValueError("give currency or currency_column, not both")
        if "%" not in self.date_format:
            raise ValueError(f"date_format {self.date_format!r} has no % code (e.g. %d/%m/%Y)")
        return self


def _yaml_word(k: Any) -> str:
    return {True: "Yes", False: "No", None: "null"}.get(k, str(k)) if isinstance(k, bool | None) else str(k)


def _did_you_mean(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


class Settings(Section):
    schema_version: int = SCHEMA_VERSION
    reporting_currency: str = "USD"
    warehouse: WarehouseParams = Field(default_factory=WarehouseParams)
    channels: ChannelParams = Field(default_factory=ChannelParams)
    ingest: IngestParams = Field(default_factory=IngestParams)
    kpis: KpiParams = Field(default_factory=KpiParams)
    alerts: AlertParams = Field(default_factory=AlertParams)
    budget: BudgetParams = Field(default_factory=BudgetParams)
    mmm: MmmParams = Field(default_factory=MmmParams)
    dashboard: DashboardParams = Field(default_factory=DashboardParams)
    run: RunParams = Field(default_factory=RunParams)
    demo: DemoParams = Field(default_factory=DemoParams)
    mappings: dict[str, MappingParams] = Field(default_factory=dict)  # files of unknown layouts, by name


# ---- loading -----------------------------------------------------------------------------------------------
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ~10x faster, same safe subset


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ParamsError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of keys at the top, got {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _has_path(d: Any, loc: tuple[Any, ...]) -> bool:
    for k in loc:
        if not isinstance(d, Mapping) or k not in d:
            return False
        d = d[k]
    return True


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: Any = Settings
    keyed = False  # the previous field is a dict/list of models: this loc part is its key or index
    for k in loc:
        if keyed:
            keyed = False
            continue
        field = (
            model.model_fields.get(k) if isinstance(model, type) and issubclass(model, BaseModel) else None
        )
        if field is None:
            return None
        model = field.annotation
        if get_origin(model) in (dict, list) and get_args(model):
            model, keyed = get_args(model)[-1], True
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _explain(err: ValidationError, layers: list[tuple[str, dict[str, Any]]]) -> str:
    errs = err.errors()
    e = next((x for x in errs if x["type"] == "extra_forbidden"), errs[0])  # a typo explains a missing key
    loc = tuple(e["loc"])
    key = ".".join(str(p) for p in loc)
    origin = next((name for name, d in reversed(layers) if _has_path(d, loc)), layers[-1][0])
    if e["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {'.'.join([*map(str, loc[:-1]), close[0]])!r}?" if close else ""
        return f"{origin}: unknown key {key!r}{hint}"
    if e["type"] == "value_error":  # our validators name the bad value themselves
        return f"{origin}: {key}: {e['msg'].removeprefix('Value error, ')}"
    return f"{origin}: {key}: {e['msg']} (got {e.get('input')!r})"


def default_files() -> list[Path]:
    """``params/base.yaml``, the git-ignored ``params/local/*.yaml``, then ``$MKTDASH_PARAMS`` files."""
    local = sorted((paths.params_dir() / "local").glob("*.yaml"))
    env = [Path(p) for p in os.environ.get("MKTDASH_PARAMS", "").split(os.pathsep) if p.strip()]
    return [paths.params_dir() / "base.yaml", *local, *env]


def resolve(files: Iterable[str | Path] = (), overrides: Mapping[str, Any] | None = None) -> Settings:
    """Merge the default files, then ``files``, then ``overrides``; validate; raise :class:`ParamsError`."""
    layers: list[tuple[str, dict[str, Any]]] = []
    for f in [*default_files(), *(Path(x) for x in files)]:
        layers.append((str(f), _read_yaml(f)))
    if overrides:
        layers.append(("overrides", dict(overrides)))
    merged: dict[str, Any] = {}
    for _, d in layers:
        merged = _merge(merged, d)
    version = merged.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        origin = next((n for n, d in reversed(layers) if "schema_version" in d), "params")
        raise ParamsError(
            f"{origin}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})"
        )
    try:
        return Settings.model_validate(merged)
    except ValidationError as err:
        raise ParamsError(_explain(err, layers)) from None


def load(params: Mapping[str, Any] | None = None) -> Settings:
    """Settings for a notebook: the runner's resolved ``params`` dict, or the defaults when run by hand."""
    if params:
        try:
            return Settings.model_validate(dict(params))
        except ValidationError as err:
            raise ParamsError(_explain(err, [("injected params", dict(params))])) from None
    return resolve()
