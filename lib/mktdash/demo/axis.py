"""The calendar of a demo world (shared by the media, business and plan parts of the simulation)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from mktdash import weeks


@dataclass
class Axis:
    """The calendar of a world: simulated whole weeks, of which the days up to ``end`` are kept."""

    first_monday: dt.date
    end: dt.date
    n_weeks: int  # simulated weeks (complete weeks + the partial current week, if any)
    n_complete: int

    @property
    def n_days(self) -> int:
        return (self.end - self.first_monday).days + 1

    @property
    def mondays(self) -> pd.DatetimeIndex:
        return pd.date_range(self.first_monday, periods=self.n_weeks, freq="7D")

    @property
    def week_labels(self) -> list[str]:
        return [weeks.of(d.date()) for d in self.mondays]

    @property
    def latest_complete(self) -> str:
        return self.week_labels[self.n_complete - 1]
