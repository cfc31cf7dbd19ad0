"""Preheated kernels (mktdash.runner.kernels): plain kernels started ahead with their imports loaded, errors raised,
gone with the run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mktdash.params import resolve
from mktdash.runner import kernels, pipeline

PARAMS = 'week: str = "latest"\nparams: dict = {}\nrun_dir: str = ""\nmode: str = "auto"'
FACTS = """import json, os, sys
facts = {"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(), "probe": os.environ.get("MKTDASH_PROBE"),
         "pandas_loaded": "pandas" in sys.modules}
print(json.dumps(facts))"""
FIGURE = "import matplotlib.pyplot as plt\nplt.subplots()[0]"


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
    _nb(d / "later.ipynb", "import pandas\nfrom mktdash.reporting import charts", FACTS, FIGURE)
    _nb(d / "die.ipynb", "import json", "import os\nos._exit(3)")
    _nb(d / "broken.ipynb", "import json\nimport no_such_module_for_mktdash")
    return d


def test_a_preheated_kernel_is_a_plain_child_and_is_gone_after_the_run(
    nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "later.out.ipynb"
    monkeypatch.setenv("MKTDASH_PROBE", "set before the kernel started")
    with kernels.KernelPool(nbdir, "python3") as pool:
        pool.preheat(["later"])
        km = pool.take("later")
        pipeline._execute(nbdir / "later.ipynb", out, {}, resolve(), km)
    facts = json.loads(nbformat.read(out, as_version=4).cells[2].outputs[0]["text"])
    assert facts["ppid"] == os.getpid()  # launched by jupyter_client from this process: no fork server
    assert facts["probe"] == "set before the kernel started" and facts["cwd"] == str(nbdir)
    assert facts["pandas_loaded"]
    # charts registered its figure formatter on import: the figure shows as an <img>
    html = nbformat.read(out, as_version=4).cells[3].outputs[0]["data"]["text/html"]
    assert html.startswith('<img class="mktdash-chart"')
    with pytest.raises(ProcessLookupError):  # the pool waited for the kernel to be gone
        os.kill(facts["pid"], 0)


def test_warm_up_errors_are_raised_naming_the_notebook(nbdir: Path) -> None:
    kernel = kernels.Preheated(nbdir / "broken.ipynb", "python3")
    with pytest.raises(kernels.WarmUpError, match=r"^kernel for broken.ipynb: its import cells failed: "
                       r"ModuleNotFoundError: No module named 'no_such_module_for_mktdash'$"):  # fmt: skip
        kernel.manager()
    kernel.shutdown().result()
    with pytest.raises(kernels.WarmUpError, match=r"^kernel for first.ipynb did not start: NoSuchKernel"):
        kernels.Preheated(nbdir / "first.ipynb", "no-such-kernel").manager()


def test_a_kernel_that_dies_fails_its_notebook_and_the_run_goes_on_to_say_so(home: Path, nbdir: Path) -> None:
    t0 = time.monotonic()
    res = pipeline.run(resolve(overrides={"run": {"notebooks": ["first", "die"]}}), week="2025-W46",
                       notebooks_dir=nbdir, progress=False)  # fmt: skip
    assert not res.ok and time.monotonic() - t0 < 120
    record = {n["name"]: n for n in res.manifest["notebooks"]}["die"]
    assert record["status"] == "failed" and "died" in record["error"].lower(), record
    assert json.loads((res.run_dir / "manifest.json").read_text())["status"] == "failed"
