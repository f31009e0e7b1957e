"""`privdom review` (复盘): which rules were done, and whether they worked."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from privdom.cli.context import parse_period, workspace
from privdom.errors import PrivdomError
from privdom.render import console, print_json


class ReviewFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


def review(
    ctx: typer.Context,
    first: Annotated[str, typer.Option("--from", help="First planned day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last planned day, YYYY-MM-DD.")],
    window: Annotated[
        int, typer.Option("--window", min=1, max=365, help="Days after a task in which an order counts.")
    ] = 7,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's tasks (添加人/导购).")] = None,
    fmt: Annotated[ReviewFormat, typer.Option("--format", "-f", help="Output format.")] = ReviewFormat.table,
) -> None:
    """Per rule: issued, done, skipped; orders after done tasks against held-out, skipped or deferred ones."""
    from privdom.render.review import print_review, render_html, write_review_csv
    from privdom.review import review as build_review
    ws = workspace(ctx)
    d1, d2 = parse_period(first, last)
    playbook = ws.playbook()
    conn = ws.connect()
    try:
        result = build_review(conn, playbook, d1, d2, window=window, rule=rule, owner=owner)
    finally:
        conn.close()
    if rule is not None and not result.rules and not result.never_fired:
        raise PrivdomError(
            f"--rule {rule!r} is not a rule of the playbook and has no saved task in the period",
            hint="`privdom sop list` shows the rule ids",
        )
    if fmt is ReviewFormat.json:
        print_json(result.model_dump(mode="json"))
    elif fmt is ReviewFormat.csv:
        write_review_csv(result)
    elif fmt is ReviewFormat.html:
        typer.echo(render_html(result), nl=False)
    else:
        print_review(result, console())


def register(app: typer.Typer) -> None:
    app.command()(review)
