"""What every command gets from the global options: the workspace, and the language of labels."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import typer

from privdom.api import Workspace as LibraryWorkspace
from privdom.bounds import DATE_RANGE, FIRST_DATE, LAST_DATE, date_in_range
from privdom.errors import PrivdomError
from privdom.labels import Lang, default_lang


class Workspace(LibraryWorkspace):
    """The library's Workspace, plus what only the command line knows: today, and `--lang`."""

    def __init__(self, db: Path, sops: Path, lang: Lang | None = None) -> None:
        super().__init__(db=db, sops=sops)
        self.lang: Lang = lang or default_lang()

    def today(self) -> date:
        """Today in the playbook's timezone: the only place below main that reads the clock."""
        return self.now().date()

    def date_or_today(self, value: str | None, option: str = "--date") -> date:
        return parse_date_option(value, option) if value else self.today()

    def warn_unknown_owner(self, owner: str | None) -> None:
        """A `warning:` line when `owner` owns nothing: the output will be empty, and why should show."""
        if owner is None:
            return
        known = self.owners()
        if owner not in known:
            typer.echo(f"warning: no owner {owner!r}; known owners: {', '.join(known) or '(none yet)'}", err=True)


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
