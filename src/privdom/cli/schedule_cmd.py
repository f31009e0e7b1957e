"""`privdom schedule`: the group posting schedule for calendars and scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from privdom.cli.context import workspace
from privdom.cli.options import DaysOpt, FromOpt, ScheduleFormat, ShowPiiOpt
from privdom.labels import CONTENT_TYPES, GROUP_TYPES, resolve


def schedule(
    ctx: typer.Context,
    start: FromOpt = None,
    days: DaysOpt = 7,
    group: Annotated[str | None, typer.Option("--group", help="Only this group (group_id).")] = None,
    group_type: Annotated[
        str | None, typer.Option("--type", help="Only welfare, service or interest groups (or 福利群, 服务群, 兴趣群).")
    ] = None,
    content_type: Annotated[
        str | None,
        typer.Option("--content-type", help="Only posts of this content type, e.g. product or 产品营销."),
    ] = None,
    fmt: Annotated[
        ScheduleFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ScheduleFormat.table,
    show_pii: ShowPiiOpt = False,
) -> None:
    """Every group post over the coming days (daily rhythms, member days, marketing nodes)."""
    from privdom.render import schedule as render
    group_type = resolve(group_type, "--type", GROUP_TYPES)
    content_type = resolve(content_type, "--content-type", CONTENT_TYPES)
    ws = workspace(ctx)
    first = ws.date_or_today(start, "--from")
    result = ws.schedule(
        first, days, group=group, group_type=group_type, content_type=content_type, show_pii=show_pii
    )
    render.schedule(result, fmt.value, show_pii)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("schedule")(schedule)
