"""The weekly job: papermill runs ``00_ingest → 10_kpis → 20_budget → 30_exec_summary`` into a new run folder.

:func:`run` is four steps, holding the run lock (:mod:`mktdash.runner.lock`): :func:`plan` (the notebooks in
stages, the week, the run folder and a manifest saying ``running``), :func:`execute` (the stages in order,
10 and 20 at the same time, each stage's kernels preheated while the one before runs), :func:`record` (the
end in the manifest) and :func:`publish` (the dashboards' warehouse snapshot). Each notebook gets the same
four parameters (``week``, ``params``, ``run_dir``, ``mode``); the resolved params dict is injected so the
executed notebook records exactly what it ran with. Headline figures glued with scrapbook are collected into
``manifest.json``. A failing notebook stops the run: the partial notebook (with papermill's error cell), its
HTML and everything before it are kept, the manifest says ``failed``, and the exit code is non-zero.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from mktdash import paths, weeks
from mktdash.ingest.filehash import sha256_file
from mktdash.params import Settings
from mktdash.runner import archive
from mktdash.runner.kernels import WarmUpError
from mktdash.warehouse import files


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

    @property
    def quarantined(self) -> int:
        """Files this run's ingest reported quarantined (new ones, and ones quarantined before that are still in
        the inbox), glued as :data:`QUARANTINED` by 00_ingest."""
        scraps = self.manifest.get("scraps", {}).values()
        return sum(int(s.get(QUARANTINED) or 0) for s in scraps if isinstance(s, dict))


QUARANTINED = "files_quarantined_this_run"  # the scrap 00_ingest glues: files its ingest reported quarantined


WarehouseBusy = files.WarehouseBusy


def data_last_day(*, wait: float = 0.0) -> dt.date | None:
    """The last day with data in the warehouse (:func:`mktdash.warehouse.files.last_day`)."""
    return files.last_day(paths.warehouse_path(), wait=wait)


def resolve_week(week: str | None, today: dt.date | None = None, *, wait: float = 0.0) -> str:
    """``week`` as given, or the latest complete ISO week of the data (the rule of :func:`weeks.report_week`)."""
    last = None if week and week != "latest" else data_last_day(wait=wait)
    return weeks.report_week(week, last, today)


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


def _execute(src: Path, dest: Path, parameters: dict[str, Any], settings: Settings, km: Any = None) -> None:
    import papermill as pm

    pm.execute_notebook(
        str(src),
        str(dest),
        parameters=parameters,
        kernel_name=settings.run.kernel,
        cwd=None,  # the kernel was started in the notebook's folder
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        execution_timeout=settings.run.cell_timeout_seconds,
        shutdown_kernel="immediate",
        km=km,
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


def notebook_names(settings: Settings, only: Sequence[str] | None = None) -> list[str]:
    """The notebooks to run, in order: ``run.notebooks``, restricted to ``only`` (unknown names refused)."""
    unknown = sorted(set(only or []) - set(settings.run.notebooks))
    if unknown:
        raise ValueError(f"Unknown notebook(s) {unknown}; choose from {settings.run.notebooks}")
    return [n for n in settings.run.notebooks if not only or n in only]


@dataclass
class Plan:
    """What a run will do, decided before any notebook runs: its notebooks grouped into stages, and its
    run folder with a manifest saying ``running``. ``latest``: the week is the data's latest complete one,
    settled again once the first stage (the ingest) has ended."""

    run_id: str
    names: list[str]
    stages: list[list[str]]
    src_dir: Path
    latest: bool
    run_dir: Path
    manifest: dict[str, Any]


def plan(
    settings: Settings, run_id: str, names: list[str], *, week: str | None = None,
    notebooks_dir: Path | None = None, started_at: str | None = None,
) -> Plan:  # fmt: skip
    """Resolve the week, create the run folder and write its first manifest (status ``running``)."""
    tentative = resolve_week(week, wait=settings.run.lock_wait_seconds)
    run_dir = paths.runs_dir() / tentative / run_id
    (run_dir / "notebooks").mkdir(parents=True)
    for sub in ("html", "exports"):
        (run_dir / sub).mkdir()
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "week": tentative,
        "status": "running",
        "started_at": started_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runner": {"pid": os.getpid(), "host": socket.gethostname()},
        "params": settings.model_dump(mode="json"),
        "inputs": archive.input_hashes(paths.inbox_dir(), paths.params_dir()),
        "packages": archive.package_versions(),
        "git": archive.git_commit(),
        "notebooks": [],
        "scraps": {},
    }
    try:
        _reserve(run_dir, manifest)
        archive.write_manifest(run_dir, manifest)
        archive.write_index()
    except OSError:  # a full or read-only disk: no run folder is left behind
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            run_dir.parent.rmdir()
        raise
    latest = week in (None, "latest")
    groups = stages(names, settings.run.concurrent)
    return Plan(run_id, names, groups, notebooks_dir or paths.notebooks_dir(), latest, run_dir, manifest)


@dataclass
class Outcome:
    """What executing a plan came to: the status and first error, the HTML exports (threads), and the
    warehouse snapshot taken while the last stage ran, with the warehouse's state when it was taken."""

    status: str = "ok"
    error: str | None = None
    exports: list[Future[None]] = field(default_factory=list)
    snapshot: Future[Path | None] | None = None
    warehouse_state: tuple[int, ...] = ()

    def fail(self, error: str) -> None:
        if self.status == "ok":
            self.status, self.error = "failed", error


def execute(run: Plan, settings: Settings, *, out: Outcome | None = None, progress: bool = True) -> Outcome:
    """Run the stages in order, the notebooks of a stage at the same time; stop after a stage with a failure.
    With ``run.preheat`` each stage's kernels start (and run their import cells) while the stage before runs
    (:mod:`mktdash.runner.kernels`). Each notebook's HTML is exported on a thread while the next stage runs; the
    dashboards' snapshot is taken while the last stage (the read-only report) runs."""
    # imported here, before any thread: two threads importing IPython's modules at once can fail with
    # "partially initialized module" (seen: IPython.paths, from nbconvert's code highlighter, which imports
    # IPython's lexers on first use, on the exporter thread while a notebook thread imported IPython)
    import IPython.lib.lexers  # noqa: F401
    import papermill  # noqa: F401

    from mktdash.reporting import html as htmlexport  # noqa: F401
    from mktdash.runner import kernels  # noqa: F401

    out = out or Outcome()
    bar = tqdm(total=len(run.names), desc="weekly run", unit="notebook", disable=not progress)
    with (
        kernels.KernelPool(run.src_dir, settings.run.kernel) as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-html") as exporter,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktdash-publish") as publisher,
        ThreadPoolExecutor(max_workers=max(len(run.names), 1), thread_name_prefix="mktdash-nb") as workers,
        bar,
    ):
        pool.preheat(run.stages[0] if run.stages else [])
        out.exports.append(exporter.submit(_warm_up_exporter))  # nbconvert's import and templates, meanwhile
        for i, stage in enumerate(run.stages):
            if 0 < i == len(run.stages) - 1:
                out.warehouse_state = _file_state(_warehouse_file(settings))
                out.snapshot = publisher.submit(_snapshot, run.run_dir, settings)
            if settings.run.preheat and i + 1 < len(run.stages):
                pool.preheat(run.stages[i + 1])
            bar.set_postfix_str(" + ".join(stage))
            records = _run_stage(stage, run, settings, pool, workers)
            if i == 0 and run.latest and all(r["status"] == "ok" for r in records):
                _settle_week(run, out)
            for record in records:
                _record(run, settings, record, out, exporter)
                bar.update(1)
            if out.status != "ok":
                break
    for export in out.exports:
        export.result()  # an OSError (disk full, read-only) fails the run; other export errors show in the page
    return out


def _run_stage(
    stage: list[str], run: Plan, settings: Settings, pool: Any, workers: ThreadPoolExecutor
) -> list[dict[str, Any]]:
    """The stage's notebooks at the same time; their records once all ended. Ctrl-C stops their kernels:
    the notebooks fail, and their records say the run was interrupted."""
    running = [workers.submit(_run_notebook, name, run, settings, pool) for name in stage]
    try:
        return [f.result() for f in running]
    except KeyboardInterrupt:
        run.manifest["interrupted"] = True
        pool.release_all()
        return [f.result() for f in running]


def _run_notebook(name: str, run: Plan, settings: Settings, pool: Any) -> dict[str, Any]:
    """Execute one notebook in its (preheated) kernel; its record: name, status, error, seconds."""
    first = name == run.names[0] and run.latest
    params = {"week": "latest" if first else run.manifest["week"], "params": run.manifest["params"],
              "run_dir": str(run.run_dir), "mode": "static"}  # fmt: skip
    t0 = time.perf_counter()
    record: dict[str, Any] = {"name": name, "status": "ok"}
    try:
        _execute(run.src_dir / f"{name}.ipynb", run.run_dir / "notebooks" / f"{name}.ipynb", params, settings,
                 pool.take(name))  # fmt: skip
    except BaseException as e:  # PapermillExecutionError, a kernel that died or did not warm up, Ctrl-C
        record.update(status="failed", error=_describe(e))
    finally:
        pool.release(name)
    record["seconds"] = round(time.perf_counter() - t0, 2)
    return record


def _record(
    run: Plan, settings: Settings, record: dict[str, Any], out: Outcome, exporter: ThreadPoolExecutor
) -> None:
    """Add a notebook's record and glued figures to the manifest (in plan order) and export its HTML."""
    name = record["name"]
    if record["status"] != "ok":
        out.fail(f"{name}: {record['error']}")
    run.manifest["notebooks"].append(record)
    run.manifest["notebooks"].sort(key=lambda r: run.names.index(r["name"]))
    out_nb = run.run_dir / "notebooks" / f"{name}.ipynb"
    if out_nb.exists():
        run.manifest["scraps"][name] = _scraps(out_nb)
        html = run.run_dir / "html" / f"{name}.html"
        out.exports.append(exporter.submit(_export_html, out_nb, html, name in settings.run.hide_code))
    archive.write_manifest(run.run_dir, run.manifest)


def _settle_week(run: Plan, out: Outcome) -> None:
    """Once the first stage (the ingest) has ended, move the run folder to the latest complete week of the
    data if that differs. Nothing writes in the folder meanwhile: the stage's notebooks have ended, their
    HTML is not exported yet and the next stage has not started."""
    try:
        final = resolve_week(None, wait=run.manifest["params"]["run"]["lock_wait_seconds"])
    except WarehouseBusy as e:
        out.fail(str(e))
        return
    if final == run.manifest["week"]:
        return
    dest = paths.runs_dir() / final / run.run_id
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.rename(run.run_dir, dest)
    with contextlib.suppress(OSError):  # not empty: other runs of that week
        run.run_dir.parent.rmdir()
    run.run_dir = dest
    run.manifest["week"] = final
    archive.write_manifest(dest, run.manifest)


def record(run: Plan, out: Outcome, seconds: float) -> None:
    """The run's end in its manifest: the exports' hashes, status, error, end time and duration."""
    run.manifest["exports"] = {
        p.name: sha256_file(p) for p in sorted((run.run_dir / "exports").glob("*")) if p.is_file()
    }
    run.manifest.update(
        status=out.status,
        error=out.error,
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        duration_seconds=round(seconds, 2),
    )


def publish(run: Plan, settings: Settings, out: Outcome) -> None:
    """Point the dashboards at this run's read-only warehouse snapshot (see :mod:`mktdash.dashboards.publish`): the one
    taken during the last stage, or a new one if there was none or the warehouse changed meanwhile. The
    manifest names it before the pointer moves, so a pointer never names a run that is not ``ok``."""
    from mktdash.dashboards import publish as pub

    wh_path = _warehouse_file(settings)
    taken = out.snapshot.result() if out.snapshot else None
    if wh_path is None:
        return
    if taken is None or _file_state(wh_path) != out.warehouse_state:
        taken = pub.snapshot(run.run_dir, wh_path)
    run.manifest["published"] = str(taken)
    archive.write_manifest(run.run_dir, run.manifest)
    pub.point(run.run_dir, taken, keep=settings.dashboard.keep_published)


def run(
    settings: Settings,
    *,
    week: str | None = None,
    only: Sequence[str] | None = None,
    notebooks_dir: Path | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run the weekly notebooks into a new, immutable run folder and archive them: :func:`plan`,
    :func:`execute`, :func:`record`, :func:`publish`, holding the run lock (:mod:`mktdash.runner.lock`).

    ``only`` restricts the run to some notebooks (by name, e.g. ``["10_kpis"]``); ``notebooks_dir`` swaps the
    notebooks (the benchmark runs emptied copies). A failing notebook stops the run after its stage; so
    does a full or read-only disk (an ``OSError``): the run ends ``failed``, its partial work kept, the
    previous runs and the published snapshot untouched. Raises :class:`mktdash.runner.lock.RunBusy` when
    another run holds the lock beyond ``run.lock_wait_seconds``, :class:`WarehouseBusy` when another process
    holds the warehouse, ``OSError`` when not even the run folder can be written.
    """
    from mktdash.runner import lock as runlock

    names = notebook_names(settings, only)
    run_id = archive.new_run_id()
    lock = runlock.RunLock(
        run_id, wait=settings.run.lock_wait_seconds, heartbeat=settings.run.heartbeat_seconds,
        stuck_after=settings.run.stuck_after_seconds,
    )  # fmt: skip
    with lock:
        started = time.perf_counter()
        the_plan = plan(settings, run_id, names, week=week, notebooks_dir=notebooks_dir,
                        started_at=str(lock.info["started_at"]))  # fmt: skip
        out = Outcome()
        try:
            execute(the_plan, settings, out=out, progress=progress)
            record(the_plan, out, time.perf_counter() - started)
            if out.status == "ok":
                publish(the_plan, settings, out)
        except Exception as e:  # a full or read-only disk (OSError), a snapshot that failed: the run fails
            out.status, out.error = "failed", _describe(e)
            record(the_plan, out, time.perf_counter() - started)
        _close(the_plan)
    m = the_plan.manifest
    return RunResult(run_id, m["week"], the_plan.run_dir, m["status"], m, m.get("error"))


RESERVE = ".reserve"  # space kept in the run folder for its last manifest, freed before that is written


def _reserve(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Allocate room for the final manifest and summary (twice the first manifest, plus 64 kB), so that a
    disk that fills up during the run still lets it say ``failed``."""
    size = 2 * len(json.dumps(manifest, indent=2, default=str)) + 64 * 1024
    fd = os.open(run_dir / RESERVE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


def _close(run: Plan) -> None:
    """Free the reserved room, write the final manifest and the index. A failed run's snapshot is removed
    (never published); if the manifest cannot be written even so, the result says so and the next command
    marks the run ``crashed``."""
    (run.run_dir / RESERVE).unlink(missing_ok=True)
    if run.manifest["status"] != "ok":
        _discard_snapshot(run)
    try:
        archive.write_manifest(run.run_dir, run.manifest)
        archive.write_index()
    except OSError as e:
        run.manifest["error"] = (
            f"{run.manifest['error']}; the run folder could not be updated: {_describe(e)}"
        )


def _discard_snapshot(run: Plan) -> None:
    from mktdash.dashboards import publish as pub

    current = pub.latest()
    if current and current.run_id == run.run_id:  # the pointer moved before the failure: leave it consistent
        return
    for f in [
        *pub.published_dir().glob(f"{run.run_id}.duckdb*"),
        *pub.published_dir().glob(f".{run.run_id}.*"),
    ]:
        f.unlink(missing_ok=True)  # the snapshot taken meanwhile, or a copy cut short by a full disk


def _warm_up_exporter() -> None:
    from mktdash.reporting import html as htmlexport

    htmlexport.warm_up()


def _export_html(nb: Path, dest: Path, hide_code: bool) -> None:
    from mktdash.reporting import html as htmlexport  # nbconvert: ~0.8 s to import, needed by the runner only

    try:
        htmlexport.export(nb, dest, hide_code=hide_code)
    except OSError:  # a full or read-only disk: the run fails (see execute), without a partial page
        dest.unlink(missing_ok=True)
        raise
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
    from mktdash.dashboards import publish

    wh_path = _warehouse_file(settings)
    return publish.snapshot(run_dir, wh_path) if wh_path else None


def _describe(e: BaseException) -> str:
    ename = getattr(e, "ename", None)
    if ename:  # PapermillExecutionError carries the kernel's exception name and value
        return f"{ename}: {getattr(e, 'evalue', '')}".strip()
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    if isinstance(e, WarmUpError):  # says which kernel and why
        return str(e)
    if isinstance(e, OSError) and e.filename:  # a full or read-only disk: say what and where
        return f"{e.strerror or type(e).__name__} ({e.filename})"
    return "".join(traceback.format_exception_only(type(e), e)).strip()
