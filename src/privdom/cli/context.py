"""What every command gets from the global options: where the workspace lives."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from privdom import store
from privdom.bounds import DATE_RANGE, FIRST_DATE, LAST_DATE, date_in_range
from privdom.errors import PrivdomError
from privdom.playbook import Playbook, load_playbook


@dataclass
class Workspace:
    db: Path
    sops: Path
    _playbook: Playbook | None = field(default=None, repr=False)

    def connect(self, *, create: bool = False) -> sqlite3.Connection:
        return store.connect(self.db, create=create)

    def playbook(self) -> Playbook:
        if self._playbook is None:
            self._playbook = load_playbook(self.sops)
        return self._playbook

    def today(self) -> date:
        """Today in the playbook's timezone: the only place below main that reads the clock."""
        return datetime.now(ZoneInfo(self.playbook().timezone)).date()

    def date_or_today(self, value: str | None, option: str = "--date") -> date:
        return parse_date_option(value, option) if value else self.today()


def workspace(ctx: typer.Context) -> Workspace:
    obj = ctx.find_root().obj
    assert isinstance(obj, Workspace)
    return obj


_YMD = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date_option(value: str, option: str = "--date") -> date:
    try:
        # Only YYYY-MM-DD: fromisoformat also takes week dates (2026-W47-1) of the same length.
        day = date.fromisoformat(value) if _YMD.fullmatch(value) else _bad_date(value, option)
    except ValueError:
        return _bad_date(value, option)
    if not date_in_range(day):
        raise PrivdomError(f"{option} {value!r} is outside {DATE_RANGE}",
                           hint=f"give a date between {FIRST_DATE} and {LAST_DATE}, YYYY-MM-DD")
    return day


def _bad_date(value: str, option: str) -> date:
    raise PrivdomError(f"{option} {value!r} is not a date", hint="dates are written YYYY-MM-DD, e.g. 2026-11-23")
