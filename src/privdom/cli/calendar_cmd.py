"""`privdom calendar`: the marketing nodes ahead, lunar festivals included."""

from __future__ import annotations

from typing import Annotated

import typer

from privdom import render
from privdom.cli.context import workspace
from privdom.cli.options import Format, FormatOpt, FromOpt

_WEEKDAY_ZH = "一二三四五六日"


def calendar(
    ctx: typer.Context,
    from_: FromOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="Number of days.")] = 365,
    weekly: Annotated[bool, typer.Option("--weekly/--no-weekly", help="Include member day.")] = True,
    format: FormatOpt = Format.table,
) -> None:
    """The marketing nodes ahead: 春节 … 中秋 from the lunar calendar, 618, 双11, member day."""
    from rich.table import Table

    from privdom.calendar import marketing_nodes
    ws = workspace(ctx)
    start = ws.date_or_today(from_, "--from")
    nodes = [n for n in marketing_nodes(ws.playbook(), start, days) if weekly or n.source != "weekly"]
    if format is Format.json:
        render.print_json([n.model_dump(mode="json") for n in nodes])
        return
    rows = [
        (n.date.isoformat(), "周" + _WEEKDAY_ZH[n.date.weekday()], (n.date - start).days,
         n.id, n.zh, n.en, n.source)
        for n in nodes
    ]
    header = ("date", "weekday", "days_left", "id", "zh", "en", "source")
    if format is Format.csv:
        render.write_csv(header, rows)
        return
    table = Table("日期 date", "星期", "还有 days", "节点 node", "", "", "来源 source")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    render.console().print(table)
    typer.echo(f"{len(nodes)} nodes from {start} for {days} days", err=True)


def register(app: typer.Typer) -> None:
    app.command("calendar")(calendar)
