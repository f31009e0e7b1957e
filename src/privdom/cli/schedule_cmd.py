"""`privdom schedule`: the group posting schedule for calendars and scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from privdom.cli.context import workspace
from privdom.cli.options import DaysOpt, FromOpt, ScheduleFormat, ShowPiiOpt
from privdom.errors import PrivdomError
from privdom.playbook.models import GROUP_TYPES
from privdom.render import schedule as render
from privdom.schedule import build_schedule


def schedule(
    ctx: typer.Context,
    start: FromOpt = None,
    days: DaysOpt = 7,
    group: Annotated[str | None, typer.Option("--group", help="Only this group (group_id).")] = None,
    group_type: Annotated[
        str | None, typer.Option("--type", help="Only welfare, service or interest groups.")
    ] = None,
    fmt: Annotated[
        ScheduleFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ScheduleFormat.table,
    show_pii: ShowPiiOpt = False,
) -> None:
    """Every group post over the coming days (daily rhythms, member days, marketing nodes)."""
    if group_type is not None and group_type not in GROUP_TYPES:
        raise PrivdomError(
            f"--type {group_type!r} is not a group type", hint=f"use one of: {', '.join(GROUP_TYPES)}"
        )
    ws = workspace(ctx)
    first = ws.date_or_today(start, "--from")
    result = build_schedule(ws.connect(), ws.playbook(), first, days, group_id=group, group_type=group_type)
    render.schedule(result, fmt.value, show_pii)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("schedule")(schedule)
