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
from privdom.store.scratch import running_import


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
