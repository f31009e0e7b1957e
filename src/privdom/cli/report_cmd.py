"""`privdom report`: the operations report in the terminal, as JSON, or as one HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privdom.cli.context import workspace
from privdom.cli.options import DateOpt, TableOrJson
from privdom.errors import PrivdomError
from privdom.render import console, print_json


def report(
    ctx: typer.Context,
    date: DateOpt = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the report as one self-contained HTML file (opens offline)."),
    ] = None,
    format: Annotated[TableOrJson, typer.Option("--format", "-f", help="Output format.")] = TableOrJson.table,
) -> None:
    """Funnel, tiers, lifecycle and its 30-day flow, group health and owner workload."""
    from privdom.render.report import masked, print_report, write_html
    from privdom.report import build_report
    ws = workspace(ctx)
    playbook = ws.playbook()
    as_of = ws.date_or_today(date)
    conn = ws.connect()
    try:
        result = masked(build_report(conn, playbook, as_of))
    finally:
        conn.close()
    if html is not None:
        try:
            write_html(result, html)
        except OSError as exc:
            raise PrivdomError(
                f"cannot write the report to {html}: {exc.strerror or exc}",
                hint="pass --html a file path in a folder you can write to",
            ) from None
        typer.echo(f"report written: {html}", err=True)
    if format is TableOrJson.json:
        print_json(result.model_dump(mode="json"))
    else:
        print_report(result, console())


def register(app: typer.Typer) -> None:
    app.command()(report)
