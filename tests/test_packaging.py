"""pyproject.toml is the one dependency source; environment.yml, the Makefile and the notebooks agree with it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PARAMETERS = ["week", "params", "run_dir", "mode"]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_installs_the_same_package() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert any(re.fullmatch(r"-e \.(\[[a-z,]+\])?", line) for line in pip_section), pip_section
    conda = [d for d in deps if isinstance(d, str)]
    python = next(d for d in conda if d.startswith("python="))
    version = python.split("=")[1]
    spec = _pyproject()["project"]["requires-python"]
    lo = re.search(r">=(\d+\.\d+)", spec).group(1)
    hi = re.search(r"<(\d+\.\d+)", spec).group(1)
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    assert as_tuple(lo) <= as_tuple(version) < as_tuple(hi)
    # conda may add only what pip cannot install (python, pip, a JDK): no second list of Python packages
    assert {re.split(r"[=<>]", d)[0] for d in conda} <= {"python", "pip", "openjdk"}


def test_stack_pins_are_declared() -> None:
    deps = " ".join(_pyproject()["project"]["dependencies"])
    assert "sqlglot<30.18" in deps  # ibis 12 + sqlglot >= 30.18 breaks create_table (docs/stack.md)
    assert re.search(r"duckdb[^\"]*<2", deps)  # ibis 12 calls fetch_arrow_table, gone in duckdb 2.0


def test_installed_versions_satisfy_the_pins() -> None:
    from importlib.metadata import version

    assert tuple(int(x) for x in version("sqlglot").split(".")[:2]) < (30, 18)
    assert int(version("duckdb").split(".")[0]) < 2


def test_makefile_help_lists_the_two_commands() -> None:
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ("run", "test", "lab", "serve", "bench"):
        assert re.search(rf"\b{target}\b", out), target


def test_ci_calls_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_notebooks_are_stored_thin_and_without_outputs() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["00_ingest", "10_kpis", "20_budget", "30_exec_summary"]
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), path.name
        src = ["".join(c["source"]) for c in code]
        assert not any(re.search(r"^\s*(def|class)\s", s, re.M) for s in src), f"{path.name} defines code"
        assert not any("autoreload" in s for s in src), path.name
        assert nb["cells"][0]["cell_type"] == "markdown" and nb["cells"][0]["source"][0].startswith("# ")


def test_every_notebook_documents_the_same_parameters() -> None:
    import papermill as pm

    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, path.name
        lines = [ln for ln in "".join(tagged[0]["source"]).splitlines() if ln.strip()]
        assert all(re.match(r"^\w+: \w+ = .+  # .+", ln) for ln in lines), lines  # typed literal + comment
        inferred = pm.inspect_notebook(str(path))
        assert list(inferred) == PARAMETERS, path.name
        assert all(inferred[p]["help"] for p in PARAMETERS), path.name


def test_cli_help_for_every_verb() -> None:
    for verb in ("run", "demo", "ingest", "runs", "serve", "formats"):
        out = subprocess.run(
            [sys.executable, "-m", "mktdash.cli", verb, "--help"], capture_output=True, text=True, check=True
        ).stdout
        assert out.startswith(f"usage: mktdash {verb}"), verb


def test_the_project_stands_alone() -> None:
    """Nothing reads or cites files beside the repository; the external samples are the published bytes."""
    import hashlib

    tracked = subprocess.run(
        ["git", "ls-files", "lib", "tests", "bench", "notebooks", "pyproject.toml", "Makefile", ".ci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # split so this file does not match itself: the folder beside the repo, written whole or as path parts
    outside = re.compile("\\.\\./" + "shared|" + "GUIDE" + " §|parent / " + '"shared"')
    offenders = [
        p
        for p in tracked
        if p.endswith((".py", ".toml", ".ipynb", "Makefile", "run"))
        and outside.search((ROOT / p).read_text(errors="replace"))
    ]
    assert offenders == []
    external = ROOT / "tests" / "fixtures" / "external"
    listed = dict(re.findall(r"^- (\S+\.csv) ([0-9a-f]{64})$", (external / "SOURCES.md").read_text(), re.M))
    assert set(listed) == {p.name for p in external.glob("*.csv")}
    for name, digest in listed.items():
        assert hashlib.sha256((external / name).read_bytes()).hexdigest() == digest, name
