"""Forked kernels (mktdash.kernels + mktdash.kernel_server) behave like fresh ones, and go away with the run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mktdash import kernels, pipeline
from mktdash.params import resolve

PARAMS = 'week: str = "latest"\nparams: dict = {}\nrun_dir: str = ""\nmode: str = "auto"'
FACTS = """import gc, json, os, sys
facts = {"ppid": os.getppid(), "cwd": os.getcwd(), "probe": os.environ.get("MKTDASH_PROBE"),
         "pandas_loaded": "pandas" in sys.modules, "charts_loaded": "mktdash.charts" in sys.modules,
         "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
print(json.dumps(facts))"""
FIGURE = "from mktdash import charts\nimport matplotlib.pyplot as plt\nplt.subplots()[0]"


def _nb(path: Path, imports: str, *cells: str) -> None:
    nb = new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [new_code_cell(imports), new_code_cell(PARAMS, metadata={"tags": ["parameters"]})]
    nb.cells += [new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    d = tmp_path / "nbs"
    d.mkdir()
    _nb(d / "first.ipynb", "import json")
    _nb(d / "later.ipynb", "import json", FACTS, FIGURE)
    _nb(d / "stack.ipynb", "import pandas\nfrom mktdash import charts")
    _nb(d / "die.ipynb", "import json", "import os\nos._exit(3)")
    return d


def test_kernels_are_forks_that_behave_like_fresh_kernels(
    nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "later.out.ipynb"
    with kernels.KernelPool(nbdir, "python3", fork=True) as pool:
        pool.preheat(["stack"])  # the server loads its imports for it (pandas, mktdash.charts) ...
        pool.take("stack")
        monkeypatch.setenv("MKTDASH_PROBE", "set after the server started")
        later = pool.take("later")  # ... and the next kernel is forked from there
        pipeline._execute(nbdir / "later.ipynb", out, {}, resolve(), later)
        server = pool.server._process
        kernel_pid = later.provisioner.pid
    facts = json.loads(nbformat.read(out, as_version=4).cells[2].outputs[0]["text"])
    assert facts["ppid"] == server.pid  # forked by the server ...
    assert facts["probe"] == "set after the server started"  # ... in the environment of the launch
    assert facts["cwd"] == str(nbdir)
    # the server's objects are frozen: the kernel's collections (enabled) skip them and never copy their pages
    assert facts["gc_enabled"] and facts["frozen"] > 100_000
    assert facts["pandas_loaded"] and facts["charts_loaded"]  # the stack and our code inherited, ...
    # ... and charts registered its figure formatter with this kernel's IPython: the figure shows as an <img>
    html = nbformat.read(out, as_version=4).cells[3].outputs[0]["data"]["text/html"]
    assert html.startswith('<img class="mktdash-chart"')
    # the run is over: the kernel and the server are gone
    assert server.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(kernel_pid, 0)


def test_a_forked_kernel_that_dies_fails_its_notebook_and_the_run_goes_on_to_say_so(
    home: Path, nbdir: Path
) -> None:
    res = pipeline.run(resolve(overrides={"run": {"notebooks": ["first", "die"]}}), week="2025-W46",
                       notebooks_dir=nbdir, progress=False)  # fmt: skip
    assert not res.ok
    record = {n["name"]: n for n in res.manifest["notebooks"]}["die"]
    assert record["status"] == "failed" and "died" in record["error"].lower(), record
    assert json.loads((res.run_dir / "manifest.json").read_text())["status"] == "failed"


def test_kernels_are_plain_processes_where_fork_is_not_safe(
    nbdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with kernels.KernelPool(nbdir, "python3", fork=True) as pool:
        assert pool.server is None


def test_without_its_server_a_run_goes_on_with_plain_kernels(nbdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "later.out.ipynb"
    with kernels.KernelPool(nbdir, "python3", fork=True) as pool:
        pool.server._process.kill()
        pool.server._process.wait()
        pipeline._execute(nbdir / "later.ipynb", out, {}, resolve(), pool.take("later"))
    facts = json.loads(nbformat.read(out, as_version=4).cells[2].outputs[0]["text"])
    assert facts["ppid"] == os.getpid()  # launched by jupyter_client, not forked
