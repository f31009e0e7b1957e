"""`privdom simulate` and `privdom sop diff`: what a playbook will do, on a copy of the workspace."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from privdom.cli.context import parse_date_option, parse_period, workspace
from privdom.cli.options import DateOpt, TableOrJson
from privdom.cli.sop_cmd import sop_app
from privdom.errors import PrivdomError
from privdom.playbook import load_playbook
from privdom.render import console, print_json

FormatOpt = Annotated[TableOrJson, typer.Option("--format", "-f", help="Output format.")]
MAX_DAYS = 366


def simulate(
    ctx: typer.Context,
    first: Annotated[str, typer.Option("--from", help="First morning, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last morning, YYYY-MM-DD.")],
    sops: Annotated[
        Path | None, typer.Option("--sops", help="Playbook folder to simulate [default: the workspace's].")
    ] = None,
    done_rate: Annotated[
        float, typer.Option("--done-rate", min=0.0, max=1.0, help="Share of each morning's tasks marked done.")
    ] = 0.8,
    fmt: FormatOpt = TableOrJson.table,
) -> None:
    """Can the team carry this playbook? Replays the mornings on a copy; the workspace is not written."""
    from privdom.render.simulate import print_simulation
    from privdom.replay import workspace_copy
    from privdom.simulate import simulate as run_simulation
    ws = workspace(ctx)
    d1, d2 = parse_period(first, last, max_days=MAX_DAYS)
    playbook = load_playbook(sops) if sops is not None else ws.playbook()
    with workspace_copy(ws.db) as conn:
        result = run_simulation(conn, playbook, d1, d2, done_rate=done_rate)
    if fmt is TableOrJson.json:
        print_json(result.model_dump(mode="json"))
    else:
        print_simulation(result, console())


def diff(
    ctx: typer.Context,
    other: Annotated[
        Path | None,
        typer.Argument(metavar="OTHER", help="The playbook folder to compare with (before); the workspace's is after."),
    ] = None,
    rev: Annotated[
        str | None, typer.Option("--rev", help="Compare with the workspace's sops/ at this git revision instead.")
    ] = None,
    date: DateOpt = None,
    first: Annotated[str | None, typer.Option("--from", help="First morning of a period, with --days.")] = None,
    days: Annotated[int | None, typer.Option("--days", min=1, max=MAX_DAYS, help="Mornings in the period.")] = None,
    fmt: FormatOpt = TableOrJson.table,
) -> None:
    """What a playbook change does to the plan: rules, tasks per rule/owner/stage, touches, deferrals."""
    from privdom.playbook.revision import export_revision
    from privdom.render.simulate import print_diff
    from privdom.replay import workspace_copy
    from privdom.sop_diff import sop_diff
    ws = workspace(ctx)
    if (other is None) == (rev is None):
        raise PrivdomError("give either a playbook folder or --rev REV", hint="e.g. `privdom sop diff --rev HEAD~1`")
    if date is not None and (first is not None or days is not None):
        raise PrivdomError(
            "--date and --from/--days do not go together", hint="one day: --date; a period: --from D --days N"
        )
    if (first is None) != (days is None):
        raise PrivdomError("--from and --days go together", hint="e.g. --from 2026-11-23 --days 7")
    d1 = parse_date_option(first, "--from") if first is not None else ws.date_or_today(date)
    d2 = d1 + timedelta(days=(days or 1) - 1)
    after = ws.playbook()
    with tempfile.TemporaryDirectory(prefix="privdom-sops-") as tmp:
        if rev is None:
            assert other is not None
            before = load_playbook(other)
        else:
            try:
                before = load_playbook(export_revision(ws.sops, rev, Path(tmp)))
            except PrivdomError as exc:  # name the files as the revision holds them, not the scratch copy
                raise PrivdomError(exc.message.replace(tmp, f"{rev}:{ws.sops}"), hint=exc.hint) from None
    with tempfile.TemporaryDirectory(prefix="privdom-diff-") as tmp:
        result = sop_diff(lambda: workspace_copy(ws.db, Path(tmp)), before, after, d1, d2)
    if fmt is TableOrJson.json:
        print_json(result.model_dump(mode="json"))
    else:
        print_diff(result, console())


def register(app: typer.Typer) -> None:
    app.command()(simulate)
    sop_app.command("diff")(diff)
