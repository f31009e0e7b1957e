"""`privdom sop validate|list|show` (and `sop diff`, registered by cli/simulate_cmd.py): check, read, compare."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml

from privdom import render
from privdom.cli.context import workspace
from privdom.cli.options import Format, FormatOpt
from privdom.labels import STAGES
from privdom.playbook.loader import check_playbook, load_playbook, playbook_files

sop_app = typer.Typer(help="Check, read and compare the playbook (sops/*.yaml).", no_args_is_help=True)

class ShowFormat(StrEnum):
    yaml = "yaml"
    json = "json"


@sop_app.command()
def validate(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="Playbook folder or file [default: --sops].")] = None,
) -> None:
    """Check everything (schema, conditions, templates, references); exit 1 listing every problem.

    In a workspace, every template is also rendered for real members and groups of every kind."""
    from privdom.planner.preflight import render_on_rows
    from privdom.playbook.validate import folded_cjk_warnings
    ws = workspace(ctx)
    sops = path or ws.sops
    playbook, issues = check_playbook(sops)
    problems = [f"error: {issue}" for issue in issues]
    if playbook is not None and not issues and path is None and ws.db.exists():
        conn = ws.connect()
        try:
            for failure in render_on_rows(conn, playbook, ws.today()):
                problems.append(f"error: {failure.cause} (e.g. {failure.target} of this workspace)")
        finally:
            conn.close()
    # Only a playbook that loaded is read again for folded lines: a file that is not UTF-8 or not YAML
    # has already been reported above.
    if playbook is not None:
        for warning in folded_cjk_warnings(playbook_files(sops)):
            typer.echo(f"warning: {warning}", err=True)
    if problems or playbook is None:
        for problem in problems:
            typer.echo(problem, err=True)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        typer.echo(f"hint: {count}; fix each at the line shown, then validate again", err=True)
        raise typer.Exit(1)
    stages = {stage: len(getattr(playbook.stages, stage)) for stage in STAGES}
    typer.echo(
        f"ok: {sops} is valid: {sum(stages.values())} rules ("
        + ", ".join(f"{stage} {n}" for stage, n in stages.items())
        + f"), {len(playbook.tiers.levels)} tiers, {len(playbook.lifecycle)} segments, "
        f"{len(playbook.coupons)} coupons, {len(playbook.calendar.nodes)} calendar nodes",
        err=True,
    )


@sop_app.command("list")
def list_rules(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """The rules by stage, each with its trigger and audience in a sentence."""
    from rich.table import Table

    from privdom.playbook.describe import rule_rows
    rows = rule_rows(workspace(ctx).playbook())
    if format is Format.json:
        render.print_json(rows)
        return
    if format is Format.csv:
        header = list(rows[0]) if rows else ["stage", "id"]
        render.write_csv(header, ([row[k] for k in header] for row in rows))
        return
    table = Table("阶段 stage", "规则 rule", "触发 when", "对象 audience", "动作 action", "优先级")
    for row in rows:
        table.add_row(
            f"{STAGES[row['stage']][0]} {row['stage']}", f"{row['title_zh']}\n{row['id']}", row["when"],
            row["audience"], f"{row['action']}\n{row['content_type']}", str(row["priority"]),
        )
    render.console().print(table)


@sop_app.command()
def show(
    ctx: typer.Context,
    format: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = ShowFormat.yaml,
) -> None:
    """The merged playbook with every default filled in, as the planner sees it."""
    ws = workspace(ctx)
    data = load_playbook(ws.sops).model_dump(mode="json", by_alias=True)
    if format is ShowFormat.json:
        render.print_json(data)
    else:
        typer.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sop_app, name="sop")
