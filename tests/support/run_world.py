"""A tiny project for the runner's process-level tests: the real params, small notebooks, `mktdash` run as a
command in a new process (as cron and users start it), and what the archive and warehouse say afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
PARAMS = 'week: str = "latest"\nparams: dict = {}\nrun_dir: str = ""\nmode: str = "auto"'

# the first notebook of a run ingests the inbox for real (DuckDB writes, ledger, quarantine)
INGEST = (
    "from mktdash import params as P\nfrom mktdash.ingest import engine as ingest\nfrom mktdash.warehouse.backend import Warehouse",
    "with Warehouse.open() as wh:\n    report = ingest.ingest_inbox(wh, P.load(params), progress=False)\n"
    "import scrapbook as sb\nsb.glue('files_quarantined_this_run', len(report.by_status('quarantined')))",
)
# a notebook that reads the warehouse and writes an export
READ = (
    "import pathlib\nfrom mktdash.warehouse.backend import Warehouse",
    "with Warehouse.open(read_only=True) as wh:\n    n = wh.count('ad_daily') if wh.exists('ad_daily') else 0\n"
    "(pathlib.Path(run_dir) / 'exports' / f'rows_{n}.txt').write_text(str(n))",
)


def sleeper(marks: Path, name: str) -> tuple[str, str]:
    """A notebook that says it started (``<marks>/<name>.started``) and waits for ``<name>.go``."""
    return ("import pathlib, time", f"m = pathlib.Path({str(marks)!r})\n(m / '{name}.started').touch()\n"
            f"while not (m / '{name}.go').exists():\n    time.sleep(0.05)")  # fmt: skip


def write_nb(path: Path, imports: str, body: str) -> None:
    nb = new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [new_code_cell(imports), new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
                new_code_cell(body)]  # fmt: skip
    nbformat.write(nb, path)


@dataclass
class World:
    """``home`` (data/, outputs/) and ``project`` (params/ -> the repo's, notebooks/) of a tiny weekly run."""

    home: Path
    project: Path

    @property
    def outputs(self) -> Path:
        return self.home / "outputs"

    def notebooks(self, run: dict[str, Any], **notebooks: tuple[str, str]) -> Path:
        """Write ``notebooks`` and a params file running them (``run`` merged over the defaults)."""
        for name, (imports, body) in notebooks.items():
            write_nb(self.project / "notebooks" / f"{name}.ipynb", imports, body)
        params = {"run": {"notebooks": list(notebooks), "hide_code": [], "concurrent": [],
                          "lock_wait_seconds": 0, "heartbeat_seconds": 0.5, **run}}  # fmt: skip
        f = self.home / "tiny.yaml"
        f.write_text(yaml.safe_dump(params))
        return f

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(ROOT / "lib"), os.environ.get("PYTHONPATH", "")])
        return dict(
            os.environ, MKTDASH_HOME=str(self.home), MKTDASH_PROJECT=str(self.project), PYTHONPATH=path
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``mktdash ARGS`` in a new process (``run`` gets --quiet --no-demo and the tiny params)."""
        argv = [sys.executable, "-m", "mktdash.cli", *args]
        if args[0] == "run":
            argv += ["--quiet", "--no-demo", "--params", str(self.home / "tiny.yaml")]
        return subprocess.Popen(
            argv, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def mktdash(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def manifests(self) -> dict[str, dict[str, Any]]:
        """Every run's manifest by run id."""
        return {m.parent.name: json.loads(m.read_text()) for m in self.outputs.glob("runs/*/*/manifest.json")}

    def pointer(self) -> dict[str, Any]:
        """``outputs/published/latest.json`` ({} when nothing is published)."""
        p = self.outputs / "published" / "latest.json"
        return dict(json.loads(p.read_text())) if p.exists() else {}


def make_world(tmp: Path) -> World:
    home, project = tmp / "home", tmp / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "params").symlink_to(ROOT / "params", target_is_directory=True)
    home.mkdir()
    return World(home, project)


def add_sample_export(home: Path) -> None:
    """The home's inbox gets a small real export: a run with no data at all is refused (exit 2) before it starts."""
    inbox = home / "data" / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "external" / "fivetran_ad_report_sample.csv", inbox)


def with_sample_data(w: World) -> World:
    add_sample_export(w.home)
    return w


def holding_run(w: World, run: dict[str, Any] | None = None) -> tuple[subprocess.Popen[str], Path]:
    """A `mktdash run` holding the lock: its one notebook waits for ``<marks>/a.go``; returns (process, marks)."""
    marks = w.home / "marks"
    marks.mkdir()
    w.notebooks(run or {}, a=sleeper(marks, "a"))
    proc = w.start("run", "--week", "2025-W46")
    wait_for(marks / "a.started")
    return proc, marks


def wait_for(path: Path, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not path.exists():
        assert time.monotonic() - t0 < timeout, f"{path} never appeared"
        time.sleep(0.05)
