"""``mktdash``: the command line (``mktdash --help``, ``mktdash VERB --help``).

Exit codes (docs/cli.md): 0 ok · 1 the run or a load failed (details in the run folder / ledger) · 2 bad usage
or params, another run in progress, the warehouse busy · 3 the run succeeded but quarantined files (reports
written; see 00_ingest) · 130 interrupted.
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mktdash import __version__, paths
from mktdash.params import ParamsError, Settings, resolve

if TYPE_CHECKING:
    from mktdash.runner.lock import RunLock

EPILOG = """examples:
  mktdash run                          # demo world if data/ is empty, then the latest complete week
  mktdash run --week 2025-W46 --params params/local/acme.yaml
  mktdash run --only 10_kpis           # one notebook
  mktdash ingest exports/*.csv         # load files (auto-detected) into the warehouse
  mktdash ingest --explain report.csv  # what would be loaded from a file, or why it would be refused
  mktdash runs                         # list the archive
  mktdash serve                        # dashboards on http://127.0.0.1:8866 (login required)
  mktdash users add alice              # a named dashboard login (prompts for the password)
"""


def _params_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--params", action="append", default=[], metavar="FILE",
        help="YAML file merged over params/base.yaml (repeatable; later wins)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mktdash",
        description="Weekly marketing performance and budget-optimization suite.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mktdash {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    p = sub.add_parser("run", help="run the weekly notebooks and archive the results",
                       description="Run 00_ingest → 10_kpis → 20_budget → 30_exec_summary into a new run folder "
                       "outputs/runs/<week>/<run-id>/. Generates the demo world first when data/ holds no data.")  # fmt: skip
    p.add_argument(
        "--week", default="latest", help="ISO week to report, e.g. 2025-W46 (default: latest complete)"
    )
    _params_arg(p)
    p.add_argument("--only", action="append", metavar="NOTEBOOK", help="run only this notebook (repeatable)")
    p.add_argument(
        "--no-demo", action="store_true", help="do not generate the demo world when data/ is empty"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("demo", help="write the demo world's exports into data/inbox",
                       description="Write a synthetic world as the platforms' own export files into data/inbox/ "
                       "and its ground truth into data/demo/truth.json.")  # fmt: skip
    p.add_argument("--seed", type=int, default=None, help="random seed (default: params demo.seed)")
    p.add_argument("--scale", type=float, default=None, help="multiply campaigns/ads (10 ≈ 1M ad_daily rows)")
    p.add_argument("--end", default=None, help="last day of data, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--no-plant", action="store_true", help="no planted anomalies, gaps or bad rows")
    _params_arg(p)

    p = sub.add_parser("ingest", help="load export files into the warehouse",
                       description="Load files or folders (recursively). Formats are auto-detected; a file already "
                       "loaded is skipped; a bad file is quarantined and the others still load.")  # fmt: skip
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: data/inbox)")
    p.add_argument("--source", help="format name, skipping detection (see `mktdash formats`)")
    p.add_argument(
        "--explain", action="store_true",
        help="load nothing: say per file which format, encoding, delimiter, locale, period, currency and column "
        "mapping was found, and what would be loaded or why it would be refused",
    )  # fmt: skip
    _params_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("formats", help="list the export formats mktdash reads")

    p = sub.add_parser(
        "runs", help="list archived runs", description="List runs in outputs/runs, newest first."
    )
    p.add_argument("--week", help="only this ISO week")
    p.add_argument("-n", type=int, default=20, help="how many (default 20)")

    p = sub.add_parser("serve", help="serve the dashboards (Voilà, login required, 127.0.0.1)",
                       description="Serve the executive and budget dashboards with Voilà.")  # fmt: skip
    from mktdash.dashboards import serve

    serve.add_arguments(p)

    p = sub.add_parser("users", help="named dashboard logins (add, remove, list)",
                       description="Manage .secrets/dashboard_users: name and password hash per dashboard user.")  # fmt: skip
    from mktdash.dashboards import users

    users.add_arguments(p)
    return parser


def _settings(files: Sequence[str]) -> Settings:
    return resolve(files)


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINED = 0, 1, 2, 3


def cmd_run(args: argparse.Namespace) -> int:
    from mktdash import weeks
    from mktdash.runner import pipeline

    settings = _settings(args.params)
    try:
        pipeline.notebook_names(settings, args.only)
        if args.week != "latest":
            weeks.parse(args.week)
    except ValueError as e:
        print(f"mktdash run: {e}", file=sys.stderr)
        return EXIT_USAGE
    if not args.no_demo:
        pipeline.ensure_data(settings)
    elif not pipeline.inbox_has_files() and pipeline.data_last_day() is None:
        print(
            f"mktdash run: no data to report: {paths.inbox_dir()} holds no exports and the warehouse is empty. "
            "Put your exports there (docs/sources.md says which section needs which) or run `mktdash demo`.",
            file=sys.stderr,
        )
        return 2
    result = pipeline.run(settings, week=args.week, only=args.only, progress=not args.quiet)
    rel = result.run_dir
    explained = result.manifest.get("scraps", {}).get("00_ingest", {}).get("ingest_explained")
    if explained:  # what 00_ingest loaded and refused, and why (glued by the notebook)
        print(f"\n{explained}")
    print(f"\nRun {result.run_id} for {result.week}: {result.status.upper()}")
    print(f"  reports:  {rel / 'html'}")
    print(f"  exports:  {rel / 'exports'}")
    print(f"  manifest: {rel / 'manifest.json'}")
    print(f"  index:    {paths.outputs_dir() / 'index.html'}")
    if not result.ok:
        print(f"mktdash run: run {result.run_id} failed: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    if result.quarantined and _no_data():  # the exports were refused and nothing was loaded before
        print(f"mktdash run: no data to report: no file was ever loaded and {result.quarantined} file(s) "
              f"in {paths.inbox_dir()} were refused (why, and what to do, is printed above and in the run's "
              "00_ingest report). Fix or re-export them (docs/sources.md says which export fills what).",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if result.quarantined:
        print(f"mktdash run: {result.quarantined} file(s) in the inbox quarantined: the reports are written without "
              "them; the run's 00_ingest report says what is wrong and what to do (load a fixed export, or move "
              "the file out of the inbox)", file=sys.stderr)  # fmt: skip
        return EXIT_QUARANTINED
    return EXIT_OK


def _no_data() -> bool:
    """Whether the warehouse holds no data at all: nothing a report week comes from, and every file its ingest
    ever saw was refused (False when it cannot be asked now)."""
    from mktdash.ingest import engine as ingest
    from mktdash.runner import pipeline

    try:
        return pipeline.data_last_day() is None and ingest.nothing_ever_loaded()
    except pipeline.WarehouseBusy:
        return False


def cmd_demo(args: argparse.Namespace) -> int:
    import datetime as dt

    from mktdash import demo

    settings = _settings(args.params)
    end = dt.date.fromisoformat(args.end) if args.end else None
    world = demo.generate(
        paths.inbox_dir(),
        paths.demo_dir() / "truth.json",
        seed=settings.demo.seed if args.seed is None else args.seed,
        scale=settings.demo.scale if args.scale is None else args.scale,
        end=end,
        weeks=settings.demo.weeks,
        plant=settings.demo.plant and not args.no_plant,
        hostile_names=settings.demo.hostile_names,
    )
    n = sum(len(df) for df in world.tables.values())
    print(
        f"Demo world written to {paths.inbox_dir()} ({n:,} rows); truth in {paths.demo_dir() / 'truth.json'}"
    )
    return 0


def _ingest_lock(settings: Settings) -> RunLock:
    """The run lock, held by an ingest (one writer of the warehouse at a time): waits ``run.lock_wait_seconds``
    for a run or ingest in progress, then :class:`mktdash.runner.lock.RunBusy` (exit 2)."""
    from mktdash.runner import archive
    from mktdash.runner import lock as runlock

    r = settings.run
    return runlock.RunLock(f"ingest-{archive.new_run_id()}", kind="ingest", wait=r.lock_wait_seconds,
                           heartbeat=r.heartbeat_seconds, stuck_after=r.stuck_after_seconds)  # fmt: skip


def cmd_ingest(args: argparse.Namespace) -> int:
    from mktdash.ingest import engine as ingest
    from mktdash.warehouse.backend import Warehouse

    settings = _settings(args.params)
    targets = args.paths or [paths.inbox_dir()]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        print(f"mktdash ingest: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.explain:
        from mktdash.ingest import explain

        return explain.explain_paths(list(targets), settings, source=args.source)
    with _ingest_lock(settings), Warehouse.open() as wh:
        report = ingest.ingest_paths(wh, targets, settings, source=args.source, progress=not args.quiet)
    print(report.explain())
    return 1 if report.by_status("quarantined") else 0


def cmd_formats(args: argparse.Namespace) -> int:
    from mktdash.ingest import sources

    for mod in sources.FORMATS:
        doc = (mod.__doc__ or "").strip().splitlines()[0] if mod.__doc__ else ""
        print(f"{mod.NAME:<20} -> {mod.TABLE:<16} {doc}")
    for name, m in resolve().mappings.items():  # params mappings (docs/mapping.md)
        print(f"{'custom:' + name:<20} -> {m.table:<16} files {', '.join(m.files)} (params mappings.{name})")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from mktdash.runner import archive
    from mktdash.runner import lock as runlock

    if owner := runlock.holder():
        print(f"in progress: {owner.get('kind', 'run')} {owner.get('run_id')} started at {owner.get('started_at')} "
              f"(pid {owner.get('pid')}, last heartbeat {owner.get('heartbeat_age')} s ago)")  # fmt: skip
        stuck_after = _settings([]).run.stuck_after_seconds
        if runlock.is_stuck(owner, stuck_after):
            print(f"mktdash runs: {runlock.stuck_advice(owner, stuck_after)}", file=sys.stderr)
    runs = [r for r in archive.list_runs() if not args.week or r.week == args.week][: args.n]
    if not runs:
        print(f"No runs in {paths.runs_dir()} yet: `mktdash run` makes one.")
        return 0
    print(f"{'week':<10} {'run id':<24} {'status':<8} {'seconds':>8}  folder")
    for r in runs:
        secs = r.summary.get("duration_seconds") or 0
        print(f"{r.week:<10} {r.run_id:<24} {r.status:<8} {float(secs):>8.1f}  {r.path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from mktdash.dashboards import serve

    return serve.serve(
        _settings(args.params), port=args.port, host=args.host, open_browser=args.open_browser,
        params_files=args.params,
    )  # fmt: skip


def cmd_users(args: argparse.Namespace) -> int:
    from mktdash.dashboards import users

    return users.main(args)


COMMANDS = {
    "run": cmd_run, "demo": cmd_demo, "ingest": cmd_ingest, "formats": cmd_formats, "runs": cmd_runs,
    "serve": cmd_serve, "users": cmd_users,
}  # fmt: skip


# verbs that read or write runs: they first mark the runs whose process is gone as crashed (mktdash.runner.lock)
REAPING = ("run", "runs", "ingest", "serve")


DISK_ERRORS = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space", errno.EROFS: "make it writable",
               errno.EACCES: "make it writable", errno.EPERM: "make it writable"}  # fmt: skip


def _os_error(verb: str, e: OSError) -> str:
    where = f" {e.filename}" if e.filename else ""
    hint = DISK_ERRORS.get(e.errno or 0, "check it")
    return f"mktdash {verb}: cannot write{where}: {e.strerror or e} ({hint}, then run again)"


def main(argv: Sequence[str] | None = None) -> int:
    from mktdash.runner import lock as runlock
    from mktdash.runner import pipeline

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.verb in REAPING:
            for ref in runlock.reap_crashed():
                print(f"mktdash: run {ref.run_id} ({ref.week}) was left running by a process that is gone: "
                      "marked crashed", file=sys.stderr)  # fmt: skip
        return COMMANDS[args.verb](args)
    except ParamsError as e:
        print(f"mktdash: bad params: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (runlock.RunBusy, pipeline.WarehouseBusy) as e:
        print(f"mktdash {args.verb}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # a full or read-only disk before the run folder existed
        if e.errno not in DISK_ERRORS:
            raise
        print(_os_error(args.verb, e), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("mktdash: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
