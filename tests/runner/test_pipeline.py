"""The runner and the archive, on tiny notebooks (fast): what a weekly run must leave behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mktdash.ingest import filehash
from mktdash.params import resolve
from mktdash.reporting import html as htmlexport
from mktdash.runner import archive, pipeline

PARAMS = 'week: str = "latest"\nparams: dict = {}\nrun_dir: str = ""\nmode: str = "auto"'


def _nb(path: Path, body: str) -> None:
    nb = new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [new_code_cell(PARAMS, metadata={"tags": ["parameters"]}), new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    d = tmp_path / "nbs"
    d.mkdir()
    glue = "import scrapbook as sb\nsb.glue('rows', 42)\nsb.glue('week_seen', week)\n"
    _nb(d / "a.ipynb", glue + "print('<b>hello</b>')")
    _nb(d / "b.ipynb", "import pathlib, pandas as pd\n"
        "pd.DataFrame({'campaign_name': ['<script>alert(1)</script>']}).to_csv(pathlib.Path(run_dir, 'exports', 'x.csv'))\n"
        "pd.DataFrame({'campaign_name': ['<script>alert(1)</script>']})")  # fmt: skip
    _nb(d / "boom.ipynb", "raise ValueError('planted failure')")
    _nb(d / "c.ipynb", "x = 1")
    return d


def _settings(names: list[str]):
    return resolve(overrides={"run": {"notebooks": names, "hide_code": ["b"]}})


def test_successful_run_archives_everything(home: Path, nbdir: Path) -> None:
    res = pipeline.run(_settings(["a", "b"]), week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert res.ok and res.week == "2025-W46"
    assert res.run_dir == home / "outputs" / "runs" / "2025-W46" / res.run_id
    m = json.loads((res.run_dir / "manifest.json").read_text())
    assert m["status"] == "ok" and m["week"] == "2025-W46" and m["run_id"] == res.run_id
    assert [n["name"] for n in m["notebooks"]] == ["a", "b"]
    assert m["scraps"]["a"] == {"rows": 42, "week_seen": "2025-W46"}
    assert m["params"]["run"]["notebooks"] == ["a", "b"]  # resolved params, as run
    assert m["exports"]["x.csv"] == filehash.sha256_file(res.run_dir / "exports" / "x.csv")
    assert "pandas" in m["packages"] and "commit" in m["git"]
    # the executed notebook records the injected parameters (papermill metadata)
    nb = nbformat.read(res.run_dir / "notebooks" / "a.ipynb", as_version=4)
    injected = nb.metadata["papermill"]["parameters"]
    assert injected["week"] == "2025-W46" and injected["mode"] == "static"
    assert injected["params"]["run"]["hide_code"] == ["b"]
    # HTML: offline, code hidden only where asked, user text escaped
    html_a = (res.run_dir / "html" / "a.html").read_text()
    html_b = (res.run_dir / "html" / "b.html").read_text()
    assert htmlexport.external_refs(html_a) == [] and htmlexport.external_refs(html_b) == []
    assert "hl-ipython3" in html_a and "hl-ipython3" not in html_b and "to_csv" not in html_b
    assert "<script>alert(1)</script>" not in html_b and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_b
    index = (home / "outputs" / "index.html").read_text()
    assert res.run_id in index and f"runs/2025-W46/{res.run_id}/html/a.html" in index


def test_failure_stops_run_keeps_partial_work_and_next_run_works(home: Path, nbdir: Path) -> None:
    res = pipeline.run(_settings(["a", "boom", "c"]), week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert not res.ok and res.status == "failed"
    assert "ValueError" in (res.error or "") and "planted failure" in (res.error or "")
    m = json.loads((res.run_dir / "manifest.json").read_text())
    assert m["status"] == "failed"
    assert [(n["name"], n["status"]) for n in m["notebooks"]] == [("a", "ok"), ("boom", "failed")]
    assert not (res.run_dir / "notebooks" / "c.ipynb").exists()  # later notebooks never ran
    partial = nbformat.read(res.run_dir / "notebooks" / "boom.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in partial.cells for o in c.get("outputs", []))
    assert (res.run_dir / "html" / "boom.html").exists() and (res.run_dir / "notebooks" / "a.ipynb").exists()
    assert "failed" in (home / "outputs" / "index.html").read_text()
    again = pipeline.run(_settings(["a", "c"]), week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert again.ok and again.run_id != res.run_id
    assert json.loads((res.run_dir / "manifest.json").read_text())["status"] == "failed"  # never overwritten
    assert [r.status for r in archive.list_runs()] == ["ok", "failed"]


def test_unknown_notebook_is_refused_before_anything_runs(home: Path, nbdir: Path) -> None:
    with pytest.raises(ValueError, match="Unknown notebook"):
        pipeline.run(_settings(["a"]), only=["nope"], notebooks_dir=nbdir, progress=False)
    assert not (home / "outputs" / "runs").exists()


def test_resolve_week_uses_the_calendar_without_data(home: Path) -> None:
    import datetime as dt

    assert pipeline.resolve_week(None, today=dt.date(2026, 11, 23)) == "2026-W47"
    assert pipeline.resolve_week(None, today=dt.date(2026, 11, 22)) == "2026-W46"  # Sunday not over yet
    assert pipeline.resolve_week("2025-W02") == "2025-W02"
    with pytest.raises(ValueError, match="2025-W46"):
        pipeline.resolve_week("2025-46")


def test_stages_group_concurrent_notebooks_at_their_first_member() -> None:
    names = ["00", "10", "15", "20", "30"]
    assert pipeline.stages(names, [["20", "10"]]) == [["00"], ["10", "20"], ["15"], ["30"]]
    assert pipeline.stages(names, [["10", "99"]]) == [
        [n] for n in names
    ]  # a group not all in the run: no group
    assert pipeline.stages(["10", "20"], []) == [["10"], ["20"]]


# Each notebook of a concurrent pair writes <name>.started and waits for the other's: it can only finish if
# both run at the same time (a sequential runner times out and fails the run).
BARRIER = """import pathlib, time
d = pathlib.Path(run_dir)
(d / "{me}.started").touch()
t = time.monotonic()
while not (d / "{other}.started").exists():
    assert time.monotonic() - t < 60, "{other} never started while {me} ran"
    time.sleep(0.05)
"""


def _with_imports(path: Path, imports: str, body: str) -> None:
    _nb(path, body)
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, new_code_cell(imports))
    nbformat.write(nb, path)


def test_concurrent_group_runs_at_once_and_preheats_the_next_notebook(home: Path, nbdir: Path) -> None:
    _nb(
        nbdir / "p.ipynb",
        BARRIER.format(me="p", other="q") + "import scrapbook as sb\nsb.glue('done', time.time())",
    )
    _nb(nbdir / "q.ipynb", BARRIER.format(me="q", other="p"))
    # probe.py records when it was imported: in the preheated kernel, that is while p and q still run
    (nbdir / "probe.py").write_text("import time\nIMPORTED_AT = time.time()\n")
    _with_imports(
        nbdir / "r.ipynb", "import probe", "import scrapbook as sb\nsb.glue('imported_at', probe.IMPORTED_AT)"
    )
    settings = resolve(overrides={"run": {"notebooks": ["a", "p", "q", "r"], "concurrent": [["p", "q"]]}})
    res = pipeline.run(settings, week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert res.ok, res.error
    assert [n["name"] for n in res.manifest["notebooks"]] == ["a", "p", "q", "r"]
    assert res.manifest["scraps"]["r"]["imported_at"] < res.manifest["scraps"]["p"]["done"]
    # the executed notebook is the whole notebook, import cell included, numbered from 1
    nb = nbformat.read(res.run_dir / "notebooks" / "r.ipynb", as_version=4)
    assert nb.cells[0].source == "import probe" and nb.cells[0].execution_count == 1


def test_failure_in_a_concurrent_stage_lets_its_sibling_finish_and_stops_the_run(
    home: Path, nbdir: Path
) -> None:
    settings = resolve(overrides={"run": {"notebooks": ["boom", "c", "a"], "concurrent": [["boom", "c"]],
                                          "preheat": False}})  # fmt: skip
    res = pipeline.run(settings, week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert not res.ok and (res.error or "").startswith("boom: ValueError")
    status = {n["name"]: n["status"] for n in res.manifest["notebooks"]}
    assert status == {"boom": "failed", "c": "ok"}  # a never ran
    assert (res.run_dir / "notebooks" / "c.ipynb").exists() and not (
        res.run_dir / "notebooks" / "a.ipynb"
    ).exists()
    assert json.loads((res.run_dir / "manifest.json").read_text())["status"] == "failed"


def test_the_next_stage_starts_only_once_the_stage_before_has_ended(home: Path, nbdir: Path) -> None:
    """No early release: a's last cell writes a mark after a pause; b, the next stage, finds it at once."""
    _nb(
        nbdir / "a.ipynb", "import pathlib, time\ntime.sleep(1.0)\n(pathlib.Path(run_dir) / 'a.done').touch()"
    )
    _nb(
        nbdir / "b.ipynb",
        "import pathlib\nassert (pathlib.Path(run_dir) / 'a.done').exists(), 'b started before a ended'",
    )
    res = pipeline.run(_settings(["a", "b"]), week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert res.ok, res.error


def test_the_run_folder_moves_to_the_week_of_the_data_between_the_first_and_second_stage(
    home: Path, nbdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The week of ``latest`` is settled once the ingest has ended: the folder is renamed (no link left),
    the later notebooks get the settled week, and everything a wrote moved with it."""
    weeks_seen = iter(["2025-W45", "2025-W46"])  # before ingest, then after it
    monkeypatch.setattr(pipeline, "resolve_week", lambda week, wait=0.0: next(weeks_seen))
    _nb(nbdir / "f.ipynb", "import pathlib, scrapbook as sb\nsb.glue('week_seen', week)\n"
        "(pathlib.Path(run_dir) / 'exports' / 'f.csv').write_text('x')")  # fmt: skip
    res = pipeline.run(_settings(["f", "b", "c"]), notebooks_dir=nbdir, progress=False)
    assert res.ok, res.error
    runs = home / "outputs" / "runs"
    assert res.week == "2025-W46" and res.run_dir == runs / "2025-W46" / res.run_id
    assert (res.run_dir / "exports" / "f.csv").read_text() == "x"
    assert sorted(p.name for p in (res.run_dir / "notebooks").iterdir()) == ["b.ipynb", "c.ipynb", "f.ipynb"]
    assert sorted(p.name for p in (res.run_dir / "html").iterdir()) == ["b.html", "c.html", "f.html"]
    assert not (runs / "2025-W45").exists()  # renamed, not linked
    assert res.manifest["scraps"]["f"] == {"week_seen": "latest"}  # the first notebook resolves it itself
    b = nbformat.read(res.run_dir / "notebooks" / "b.ipynb", as_version=4)
    assert b.metadata["papermill"]["parameters"]["week"] == "2025-W46"
    assert b.metadata["papermill"]["parameters"]["run_dir"] == str(res.run_dir)
    assert json.loads((res.run_dir / "manifest.json").read_text())["week"] == "2025-W46"
    assert [(r.week, r.status) for r in archive.list_runs()] == [("2025-W46", "ok")]


def test_a_notebook_whose_import_cells_fail_while_preheating_fails_with_that_error(
    home: Path, nbdir: Path
) -> None:
    """The warm-up error is not swallowed: the notebook's record names the notebook, the import and why."""
    _with_imports(nbdir / "r.ipynb", "import no_such_module_for_mktdash", "x = 1")
    res = pipeline.run(_settings(["a", "r", "c"]), week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert not res.ok
    assert res.error == (
        "r: kernel for r.ipynb: its import cells failed: ModuleNotFoundError: "
        "No module named 'no_such_module_for_mktdash'"
    )
    assert [(n["name"], n["status"]) for n in res.manifest["notebooks"]] == [("a", "ok"), ("r", "failed")]


def test_a_kernel_that_cannot_start_fails_its_notebook_with_a_clear_error(home: Path, nbdir: Path) -> None:
    settings = resolve(overrides={"run": {"notebooks": ["a"], "kernel": "no-such-kernel"}})
    res = pipeline.run(settings, week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert not res.ok and (res.error or "").startswith("a: kernel for a.ipynb did not start: NoSuchKernel")
    assert json.loads((res.run_dir / "manifest.json").read_text())["status"] == "failed"


def test_the_link_a_crashed_run_left_at_its_old_week_is_not_a_run(home: Path) -> None:
    real = home / "outputs" / "runs" / "2025-W46" / "r1"
    real.mkdir(parents=True)
    (real / "manifest.json").write_text(json.dumps({"run_id": "r1", "week": "2025-W46", "status": "running"}))
    (home / "outputs" / "runs" / "2025-W45").mkdir()
    (home / "outputs" / "runs" / "2025-W45" / "r1").symlink_to(real, target_is_directory=True)
    assert [(r.week, r.run_id) for r in archive.list_runs()] == [("2025-W46", "r1")]


def test_listings_read_each_runs_summary_and_the_manifest_when_the_summary_is_missing_or_older(
    home: Path,
) -> None:
    """The index and `mktdash runs` read summary.json (the manifest holds every input's hash: ~50 kB at scale);
    a run without one (an older version) or with one older than its manifest (a crash between the two
    writes) is listed from its manifest."""

    runs = home / "outputs" / "runs" / "2025-W46"
    notebooks = [{"name": "a", "status": "ok", "seconds": 1.5, "error": None}]
    for run_id, status in (("r1", "ok"), ("r2", "failed"), ("r3", "ok")):
        (runs / run_id).mkdir(parents=True)
        archive.write_manifest(runs / run_id, {"run_id": run_id, "week": "2025-W46", "status": status,
                                               "inputs": {"f": "0" * 64}, "notebooks": notebooks})  # fmt: skip
    assert json.loads((runs / "r1" / archive.SUMMARY).read_text()) == {
        "run_id": "r1",
        "week": "2025-W46",
        "status": "ok",
        "started_at": None,
        "finished_at": None,
        "duration_seconds": None,
        "error": None,
        "notebooks": [{"name": "a", "status": "ok", "seconds": 1.5}],
    }
    (runs / "r2" / archive.SUMMARY).unlink()  # an older version's run
    stale = runs / "r3" / archive.SUMMARY  # says "ok"; the manifest written after it says "failed"
    (runs / "r3" / "manifest.json").write_text(json.dumps({"run_id": "r3", "status": "failed"}))
    os.utime(stale, ns=(1, 1))
    assert [(r.run_id, r.status) for r in archive.list_runs()] == [
        ("r3", "failed"),
        ("r2", "failed"),
        ("r1", "ok"),
    ]
    assert "inputs" not in archive.list_runs()[2].summary


def test_only_pure_import_cells_above_the_parameters_cell_are_preheated(tmp_path: Path) -> None:
    from mktdash.runner import kernels

    nb = new_notebook()
    nb.cells = [new_code_cell("import os\nfrom pathlib import Path"), new_code_cell("import sys\nx = 1"),
                new_code_cell(PARAMS, metadata={"tags": ["parameters"]}), new_code_cell("import json")]  # fmt: skip
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert kernels.import_cells(tmp_path / "n.ipynb") == "import os\nfrom pathlib import Path"


def test_report_exporter_matches_nbconvert_accessibility_touches(tmp_path: Path) -> None:
    """Our exporter skips nbconvert's BeautifulSoup pass but makes the same changes: focusable input/output
    areas, alt text on images without one; the visible text is the same."""
    import html
    import re
    from html.parser import HTMLParser

    from nbconvert import HTMLExporter
    from nbformat.v4 import new_output

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    nb = new_notebook(metadata={"language_info": {"name": "python"}})
    nb.cells = [new_code_cell("x = 1", outputs=[
        new_output("display_data", data={"image/png": png}),
        new_output("display_data", data={"text/html": "<b>&lt;script&gt;</b>"}),
        new_output("stream", name="stdout", text="hello\n")])]  # fmt: skip
    ref, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    ours, _ = htmlexport.ReportExporter(template_name="lab").from_notebook_node(nb)

    def focusable(h: str) -> list[str]:  # the classes of every element with tabindex=0, in page order
        found: list[str] = []

        class Parser(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list) -> None:
                a = dict(attrs)
                if a.get("tabindex") == "0":
                    found.append(" ".join(sorted((a.get("class") or "").split())))

        Parser().feed(h)
        return found

    assert len(focusable(ours)) == 4 and focusable(ours) == focusable(ref)
    assert ours.count('alt="No description has been provided for this image"') == 1

    def text(h: str) -> str:
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", h.split("<body", 1)[1]))).strip()

    assert text(ours) == text(ref)


def test_report_exporter_shows_code_exactly_as_nbconvert_does(monkeypatch) -> None:  # noqa: ANN001
    """Highlighted code skips nbconvert's second (bleach) escaping: the page is byte for byte what it is with
    that pass, a campaign name in a code cell stays escaped, and a raw HTML cell is still cleaned."""
    from nbconvert.filters.strings import clean_html
    from nbformat.v4 import new_raw_cell

    nb = new_notebook(metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nb.cells = [
        new_code_cell("campaign = \"<script>alert(1)</script> & 'Q4'\"  # <b>not bold</b>\nx = 1 < 2"),
        new_raw_cell("<script>alert(2)</script><b>raw</b>", metadata={"raw_mimetype": "text/html"}),
    ]
    export = lambda: htmlexport.ReportExporter(template_name="lab").from_notebook_node(nb)[0]  # noqa: E731
    ours = export()
    monkeypatch.setattr(htmlexport, "_clean_unless_highlighted", clean_html)  # nbconvert's pass everywhere
    assert ours == export()
    assert "&lt;script&gt;alert(1)" in ours and "<script>alert(1)" not in ours
    assert "&lt;script&gt;alert(2)" in ours and "<script>alert(2)" not in ours


WRITE_ROW = "import duckdb\nfrom mktdash import paths\nwith duckdb.connect(str(paths.warehouse_path())) as con:\n" \
            "    con.execute('INSERT INTO t VALUES (2)')"  # fmt: skip


def _published_rows(res: pipeline.RunResult) -> list[int]:
    import duckdb

    with duckdb.connect(res.manifest["published"], read_only=True) as con:
        return [r[0] for r in con.execute("SELECT x FROM t ORDER BY x").fetchall()]


@pytest.mark.parametrize("last_writes", [False, True])
def test_snapshot_taken_during_the_last_stage_is_what_the_warehouse_holds_at_the_end(
    home: Path, nbdir: Path, last_writes: bool
) -> None:
    import duckdb

    from mktdash import paths

    paths.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse_path())) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    _nb(nbdir / "w.ipynb", WRITE_ROW)  # a last notebook that writes after all: the snapshot is taken again
    res = pipeline.run(_settings(["a", "w" if last_writes else "c"]), week="2025-W46", notebooks_dir=nbdir,
                       progress=False)  # fmt: skip
    assert res.ok, res.error
    assert _published_rows(res) == ([1, 2] if last_writes else [1])
    assert json.loads((home / "outputs" / "published" / "latest.json").read_text())["run_id"] == res.run_id


def test_a_run_failing_in_its_last_stage_publishes_nothing(home: Path, nbdir: Path) -> None:
    import duckdb

    from mktdash import paths
    from mktdash.dashboards import publish

    paths.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(paths.warehouse_path())).close()
    res = pipeline.run(_settings(["a", "boom"]), week="2025-W46", notebooks_dir=nbdir, progress=False)
    assert not res.ok and "published" not in res.manifest
    assert (
        not list(publish.published_dir().glob("*.duckdb"))
        and not (publish.published_dir() / "latest.json").exists()
    )


def test_the_runs_index_escapes_what_a_manifest_says(home: Path) -> None:
    run = home / "outputs" / "runs" / "2025-W46" / "20251117T000000Z-abcd"
    (run / "html").mkdir(parents=True)
    (run / "html" / "10_kpis.html").write_text("<p>report</p>")
    hostile = "<img src=x onerror=alert(1)>"
    (run / "manifest.json").write_text(
        json.dumps(
            {
                "run_id": run.name,
                "week": "2025-W46",
                "status": "failed",
                "error": hostile,
                "started_at": "2025-11-17T00:00:00",
                "duration_seconds": 12.34,
                "notebooks": [{"name": "10_kpis"}, {"name": "20_budget"}],
            }
        )  # fmt: skip
    )
    index = archive.write_index().read_text()
    assert hostile not in index and "&lt;img src=x onerror=alert(1)&gt;" in index
    assert f'href="runs/2025-W46/{run.name}/html/10_kpis.html"' in index and "20_budget.html" not in index
    assert ">12.3 s<" in index and 'class="failed"' in index
