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
from privdom.store.scratch import running_import


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


def say_if_waiting(db: Path) -> None:
    """On stderr, before a command that writes waits for an import that holds the workspace (it
    waits up to store.busy_timeout_ms, then fails: `error: the workspace is busy (...)`)."""
    since = running_import(db)
    if since:
        typer.echo(f"waiting for the import started at {since} to finish / 等待进行中的导入完成", err=True)


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


def parse_period(first: str, last: str, *, max_days: int | None = None) -> tuple[date, date]:
    """`--from` and `--to` as dates, the first not after the last (and at most `max_days` days)."""
    d1, d2 = parse_date_option(first, "--from"), parse_date_option(last, "--to")
    if d2 < d1:
        raise PrivdomError(f"--to {last} is before --from {first}", hint="give the period's first day to --from")
    if max_days is not None and (d2 - d1).days >= max_days:
        raise PrivdomError(
            f"--from {first} --to {last} is more than {max_days} days", hint=f"give a period of at most {max_days} days"
        )
    return d1, d2
