"""Options shared by several commands, as Annotated aliases so every command spells them alike."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class TableOrJson(str, Enum):
    """For reports and profiles that have no sensible CSV form."""

    table = "table"
    json = "json"


class PlanFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


class ScheduleFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    ics = "ics"


DateOpt = Annotated[
    str | None, typer.Option("--date", help="As of this date, YYYY-MM-DD [default: today in the playbook's timezone].")
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD [default: today].")]
DaysOpt = Annotated[int, typer.Option("--days", min=1, max=3660, help="Number of days.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
ShowPiiOpt = Annotated[bool, typer.Option("--show-pii", help="Print phone numbers unmasked.")]
