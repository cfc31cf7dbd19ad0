"""One full weekly run on a small demo world, shared by the end-to-end tests (built once per session)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from mktdash import demo, paths
from mktdash.params import resolve
from mktdash.runner import pipeline

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "params" / "test" / "smoke.yaml"
END = dt.date(2026, 11, 22)  # a Sunday: its ISO week (2026-W47) is the latest complete one
WEEK = "2026-W47"
HOSTILE = "<script>alert(1)</script>"


@dataclass
class WeeklyRun:
    home: Path
    world: demo.world.World
    result: pipeline.RunResult


@pytest.fixture(scope="session")
def weekly_run(tmp_path_factory: pytest.TempPathFactory) -> WeeklyRun:
    home = tmp_path_factory.mktemp("weekly")
    mp = pytest.MonkeyPatch()
    mp.setenv("MKTDASH_HOME", str(home))
    mp.setenv("MKTDASH_PARAMS", str(SMOKE))
    world = demo.generate(
        paths.inbox_dir(), paths.demo_dir() / "truth.json", seed=7, scale=1.0, end=END, hostile_names=True
    )
    result = pipeline.run(resolve(), week=WEEK, progress=False)
    yield WeeklyRun(home, world, result)
    mp.undo()
