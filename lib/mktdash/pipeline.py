"""The weekly job: papermill runs ``00_ingest → 10_kpis → 20_budget → 30_exec_summary`` into a new run folder.

One process, papermill's Python API (≈0.7 s a notebook instead of ≈2.6 s for the CLI), kernels shut down
immediately. Each notebook gets the same four parameters (``week``, ``params``, ``run_dir``, ``mode``); the
resolved params dict is injected so the executed notebook records exactly what it ran with. Headline
figures glued with scrapbook are collected into ``manifest.json``. A failing notebook stops the run: the
partial notebook (with papermill's error cell), its HTML and everything before it are kept, the manifest
says ``failed``, and the exit code is non-zero.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from mktdash import archive, paths, weeks
from mktdash.filehash import sha256_file
from mktdash.params import Settings


@dataclass
class RunResult:
    run_id: str
    week: str
    run_dir: Path
    status: str  # ok | failed
    manifest: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def data_last_day() -> dt.date | None:
    """The last day with ad data in the warehouse; without ad data, of the first other dated source with rows
    (:data:`mktdash.weeks.REPORT_WEEK_SOURCES`); None when there is none."""
    import duckdb  # plain DuckDB: one scalar, asked twice a run, not worth Ibis' import and compile

    if not paths.warehouse_path().exists():
        return None
    value = None
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table, column in weeks.REPORT_WEEK_SOURCES.items():
            if table in tables and value is None:
                value = con.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]  # type: ignore[index]
    return value.date() if isinstance(value, dt.datetime) else value


def resolve_week(week: str | None, today: dt.date | None = None) -> str:
    """``week`` as given, or the latest complete ISO week of the data (never later than the calendar's)."""
    if week and week != "latest":
        weeks.parse(week)
        return week
    today = today or dt.date.today()
    calendar = weeks.latest_complete(today - dt.timedelta(days=1))
    last = data_last_day()
    if last is None:
        return calendar
    from_data = weeks.latest_complete(last)
    return min(from_data, calendar, key=weeks.monday)


def inbox_has_files() -> bool:
    inbox = paths.inbox_dir()
    return inbox.exists() and any(p.is_file() and not p.name.startswith(".") for p in inbox.rglob("*"))


def ensure_data(settings: Settings, *, echo: Callable[[str], None] = print) -> bool:
    """Generate the demo world into the inbox when there is no data at all; True if it did."""
    if inbox_has_files() or data_last_day() is not None:
        return False
    from mktdash import demo

    echo(f"No data in {paths.data_dir()}: generating the demo world (seed {settings.demo.seed}) ...")
    d = settings.demo
    demo.generate(
        paths.inbox_dir(), paths.demo_dir() / "truth.json", seed=d.seed, scale=d.scale, weeks=d.weeks,
        plant=d.plant, hostile_names=d.hostile_names,
    )  # fmt: skip
    return True


def _scraps(nb_path: Path) -> dict[str, Any]:
    """Glued values of an executed notebook: scrapbook's ``application/scrapbook.scrap.<encoder>+json``
    payloads, read as plain JSON (values of scrapbook's json/text encoders kept; a table glued with another
    encoder is named, not copied: tables live in exports/)."""
    out: dict[str, Any] = {}
    try:
        cells = json.loads(nb_path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):  # a notebook that failed before it was written
        return out
    for cell in cells:
        for output in cell.get("outputs", []):
            for mime, payload in output.get("data", {}).items():
                if (
                    mime.startswith("application/scrapbook.scrap.")
                    and isinstance(payload, dict)
                    and "name" in payload
                ):
                    encoder = payload.get("encoder")
                    out[payload["name"]] = (
                        payload.get("data") if encoder in ("json", "text") else f"<{encoder}>"
                    )
    return out


RELEASE_TAG = "next-stage"  # a cell so tagged lets the run's next stage start once it ran (see run())


def _execute(
    src: Path,
    dest: Path,
    parameters: dict[str, Any],
    settings: Settings,
    km: Any = None,
    on_release: Callable[[], None] = lambda: None,
) -> None:
    import papermill as pm

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        if (
            RELEASE_TAG in cell.get("metadata", {}).get("tags", [])
            and execute_reply["content"]["status"] == "ok"
        ):
            on_release()

    pm.execute_notebook(
        str(src),
        str(dest),
        parameters=parameters,
        kernel_name=settings.run.kernel,
        cwd=None,  # the kernel was started in the notebook's folder; chdir is per process, runs may overlap
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        execution_timeout=settings.run.cell_timeout_seconds,
        shutdown_kernel="immediate",
        km=km,
        on_cell_executed=on_cell_executed,  # nbclient's hook, through papermill's engine arguments
    )


def stages(names: Sequence[str], concurrent: Sequence[Sequence[str]]) -> list[list[str]]:
    """``names`` in order, grouped into stages: a group of ``concurrent`` runs as one stage, at the place of
    its first member, when all its members are in ``names``.

    >>> stages(["00", "10", "20", "30"], [["10", "20"]])
    [['00'], ['10', '20'], ['30']]
    """
    groups = [g for g in concurrent if len(g) > 1 and all(n in names for n in g)]
    out: list[list[str]] = []
    for name in names:
        if any(name in stage for stage in out):
            continue
        group = next((g for g in groups if name in g), [name])
        out.append([n for n in names if n in group])
    return out


def run(
    settings: Settings,
    *,
    week: str | None = None,
    only: Sequence[str] | None = None,
    notebooks_dir: Path | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run the weekly notebooks into a new, immutable run folder and archive them.

    ``only`` restricts the run to some notebooks (by name, e.g. ``["10_kpis"]``); ``notebooks_dir``
    swaps the notebooks (the benchmark runs emptied copies to measure the papermill floor). Notebooks in a
    ``run.concurrent`` group run at the same time; with ``run.preheat`` each stage's kernels start (and
    run their import cells) while the stage before still runs (:mod:`mktdash.kernels`). A stage starts once
    every notebook of the stage before finished or ran its cell tagged ``next-stage``. What a notebook runs
    after that cell feeds no later notebook (00_ingest's data-quality cells: 10, 20 and 30 read only what its
    ingest wrote), so it goes on beside the later stages, at the lowest CPU priority: it takes only the CPU
    they leave, and the run ends when it ends. A failure stops the run: no stage starts once one is known;
    the stages already running finish.
    """
    from mktdash import kernels

    started = time.perf_counter()
    src_dir = notebooks_dir or paths.notebooks_dir()
    names = [n for n in settings.run.notebooks if not only or n in only]
    unknown = sorted(set(only or []) - set(settings.run.notebooks))
    if unknown:
        raise ValueError(f"Unknown notebook(s) {unknown}; choose from {settings.run.notebooks}")
    plan = stages(names, settings.run.concurrent)
    with kernels.KernelPool(src_dir, settings.run.kernel, fork=settings.run.fork_kernels) as pool:
        pool.preheat(plan[0] if plan else [])  # the first kernel starts while the inputs are hashed
        # each notebook's HTML export runs on a thread while the next notebook executes in its kernel;
        # nbconvert's import and templates (~1 s) load now, while the kernel server loads the first notebook's
        # imports and this process has nothing else to do (not while a notebook's messages wait for it)
        exporter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-html")
        exporter.submit(_warm_up_exporter)
        import papermill  # noqa: F401  (~0.4 s, meanwhile too)

        run_id = archive.new_run_id()
        tentative = resolve_week(week)
        run_dir = paths.runs_dir() / tentative / run_id
        for sub in ("notebooks", "html", "exports"):
            (run_dir / sub).mkdir(parents=True, exist_ok=sub != "notebooks")
        resolved = settings.model_dump(mode="json")
        manifest: dict[str, Any] = {
            "run_id": run_id,
            "week": tentative,
            "status": "running",
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "params": resolved,
            "inputs": archive.input_hashes(paths.inbox_dir(), paths.params_dir()),
            "packages": archive.package_versions(),
            "git": archive.git_commit(),
            "notebooks": [],
            "scraps": {},
        }
        archive.write_manifest(run_dir, manifest)
        archive.write_index()

        def execute(name: str, run_dir: Path, released: threading.Event) -> dict[str, Any]:
            first = name == names[0] and week in (None, "latest")
            params = {"week": "latest" if first else manifest["week"], "params": resolved,
                      "run_dir": str(run_dir), "mode": "static"}  # fmt: skip
            t0 = time.perf_counter()
            record: dict[str, Any] = {"name": name, "status": "ok"}
            try:
                km = pool.take(name)

                def release() -> None:  # the rest of the notebook is not what the next stage waits for
                    kernels.run_in_background(km)
                    released.set()

                _execute(src_dir / f"{name}.ipynb", run_dir / "notebooks" / f"{name}.ipynb", params, settings,
                         km, release)  # fmt: skip
            except BaseException as e:  # PapermillExecutionError, kernel death, Ctrl-C: all stop the run
                record.update(status="failed", error=_describe(e), interrupted=not isinstance(e, Exception))
            finally:
                pool.release(name)
                released.set()
            record["seconds"] = round(time.perf_counter() - t0, 2)
            return record

        status, error = "ok", None
        running: dict[str, Future[dict[str, Any]]] = {}  # started and not yet recorded, in plan order
        moved_from: Path | None = None  # the tentative run folder, a link to the settled one meanwhile

        def finish(stage_names: Sequence[str]) -> None:
            """Wait for these notebooks and record them (the manifest lists them in plan order); their HTML is
            exported on a thread."""
            nonlocal status, error
            for name in stage_names:
                record = running.pop(name).result()
                if record.pop("interrupted", False):
                    manifest["interrupted"] = True
                if record["status"] != "ok" and status == "ok":
                    status, error = "failed", f"{record['name']}: {record['error']}"
                manifest["notebooks"].append(record)
                manifest["notebooks"].sort(key=lambda r: names.index(r["name"]))
                out_nb = run_dir / "notebooks" / f"{name}.ipynb"
                if out_nb.exists():
                    manifest["scraps"][name] = _scraps(out_nb)
                    html = run_dir / "html" / f"{name}.html"
                    exporter.submit(_export_html, out_nb, html, name in settings.run.hide_code)
                archive.write_manifest(run_dir, manifest)
                bar.update(1)

        # the dashboards' snapshot is taken while the last stage (read-only, the report) runs
        publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-publish")
        notebooks = ThreadPoolExecutor(max_workers=max(len(names), 1), thread_name_prefix="mktdash-nb")
        snapshot: Future[Path | None] | None = None
        warehouse_state: tuple[int, ...] = ()
        bar = tqdm(total=len(names), desc="weekly run", unit="notebook", disable=not progress)
        try:
            try:
                for i, stage in enumerate(plan):
                    if 0 < i == len(plan) - 1:  # the report only reads: its snapshot is taken while it runs
                        warehouse_state = _file_state(_warehouse_file(settings))
                        snapshot = publisher.submit(_snapshot, run_dir, settings)
                    bar.set_postfix_str(" + ".join(stage))
                    if settings.run.preheat and i + 1 < len(plan):
                        pool.preheat(plan[i + 1])
                    released = {name: threading.Event() for name in stage}
                    for name in stage:
                        running[name] = notebooks.submit(execute, name, run_dir, released[name])
                    for name in stage:
                        released[name].wait()
                    finish([name for name, future in running.items() if future.done()])
                    if status != "ok":
                        break
                    if i == 0 and week in (None, "latest"):
                        moved_from, run_dir = run_dir, _settle_week(run_dir, manifest)
                finish(list(running))
            except KeyboardInterrupt:  # stop the kernels: their notebooks fail, and say so
                manifest["interrupted"] = True
                pool.release_all()
                finish(list(running))
        finally:
            bar.close()
            notebooks.shutdown(wait=True)
            exporter.shutdown(wait=True)
            publisher.shutdown(wait=True)
            if moved_from is not None and moved_from.is_symlink():
                _drop_link(moved_from)

    manifest["exports"] = {
        p.name: sha256_file(p) for p in sorted((run_dir / "exports").glob("*")) if p.is_file()
    }
    manifest.update(
        status=status,
        error=error,
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        duration_seconds=round(time.perf_counter() - started, 2),
    )
    if status == "ok":
        manifest["published"] = _publish(run_dir, settings, snapshot, warehouse_state)
    elif snapshot:  # the run failed: the snapshot taken meanwhile is not published
        with contextlib.suppress(Exception):
            if unused := snapshot.result():
                unused.unlink(missing_ok=True)
    archive.write_manifest(run_dir, manifest)
    archive.write_index()
    return RunResult(run_id, manifest["week"], run_dir, status, manifest, error)


def _settle_week(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """After ingest, move the run folder to the latest complete week of the data if that differs. The old
    place links to the new one until the run ends: the first notebook may still be writing there."""
    final = resolve_week(None)
    if final == manifest["week"]:
        return run_dir
    dest = paths.runs_dir() / final / run_dir.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(run_dir), str(dest))
    run_dir.symlink_to(dest, target_is_directory=True)
    manifest["week"] = final
    return dest


def _drop_link(link: Path) -> None:
    """Remove the tentative folder's link, and its week folder if that is empty now."""
    link.unlink()
    with contextlib.suppress(OSError):  # not empty: other runs of that week
        link.parent.rmdir()


def _warm_up_exporter() -> None:
    from mktdash import htmlexport

    with contextlib.suppress(Exception):  # an export problem shows in the report it concerns
        htmlexport.warm_up()


def _export_html(nb: Path, dest: Path, hide_code: bool) -> None:
    from mktdash import htmlexport  # nbconvert: ~0.8 s to import, needed by the runner only

    try:
        htmlexport.export(nb, dest, hide_code=hide_code)
    except Exception as e:  # an export problem must not hide the notebook's own result
        dest.write_text(f"<p>HTML export failed: {type(e).__name__}</p>", encoding="utf-8")


def _warehouse_file(settings: Settings) -> Path | None:
    """The DuckDB warehouse file, if the run's backend is one that exists."""
    wh_path = Path(settings.warehouse.path) if settings.warehouse.path else paths.warehouse_path()
    return wh_path if settings.warehouse.backend == "duckdb" and wh_path.exists() else None


def _file_state(path: Path | None) -> tuple[int, ...]:
    """Size and modification time of a DuckDB file and its write-ahead log: changes when anything is written."""
    files = [path, path.with_name(path.name + ".wal")] if path else []
    return tuple(x for f in files if f.exists() for st in [f.stat()] for x in (st.st_size, st.st_mtime_ns))


def _snapshot(run_dir: Path, settings: Settings) -> Path | None:
    from mktdash import publish

    wh_path = _warehouse_file(settings)
    return publish.snapshot(run_dir, wh_path) if wh_path else None


def _publish(
    run_dir: Path, settings: Settings, snapshot: Future[Path | None] | None, state: tuple[int, ...]
) -> str | None:
    """Point the dashboards at this run's read-only warehouse snapshot (see :mod:`mktdash.publish`): the one
    taken during the last stage, or a new one if there was none or the warehouse changed meanwhile."""
    from mktdash import publish

    wh_path = _warehouse_file(settings)
    if wh_path is None:
        return None
    taken = None
    with contextlib.suppress(Exception):  # a failed early snapshot is taken again here, and raises if it must
        taken = snapshot.result() if snapshot else None
    if taken is None or _file_state(wh_path) != state:
        taken = publish.snapshot(run_dir, wh_path)
    return str(publish.point(run_dir, taken, keep=settings.dashboard.keep_published))


def _describe(e: BaseException) -> str:
    ename = getattr(e, "ename", None)
    if ename:  # PapermillExecutionError carries the kernel's exception name and value
        return f"{ename}: {getattr(e, 'evalue', '')}".strip()
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    return "".join(traceback.format_exception_only(type(e), e)).strip()
