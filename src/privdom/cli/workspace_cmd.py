"""`privdom init` and `privdom demo`."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from privdom.cli.context import Workspace, parse_date_option, workspace
from privdom.cli.options import PlanFormat, ShowPiiOpt
from privdom.errors import PrivdomError
from privdom.labels import Lang
from privdom.workspace import EXAMPLE_FILES, EXAMPLE_MORNING, example_sops_dir, examples_dir, init_workspace


def init(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Argument(help="Workspace folder [default: current folder].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite playbooks that already exist.")] = False,
    brand: Annotated[str | None, typer.Option("--brand", help="The brand name the messages use.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who gets members and groups without an owner (limits.default_owner).")
    ] = None,
) -> None:
    """Create a workspace: privdom.db (SQLite, WAL) and sops/ with the default playbook."""
    ws = workspace(ctx)
    db, sops = ws.db, ws.sops
    if directory is not None:
        db = directory / "privdom.db" if not db.is_absolute() else db
        sops = directory / "sops" if not sops.is_absolute() else sops
    result = init_workspace(db, sops, force=force, brand=brand, owner=owner)
    typer.echo(f"workspace ready: {result.db}", err=True)
    for name in result.copied:
        typer.echo(f"  wrote {result.sops / name}", err=True)
    for name in result.kept:
        typer.echo(f"  kept  {result.sops / name} (edited copies are never overwritten; --force to replace)", err=True)


def demo(
    ctx: typer.Context,
    date_: Annotated[
        str | None,
        typer.Option("--date", help="The morning to plan, YYYY-MM-DD [default: 2026-11-23, the brand's next morning]."),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Build the workspace here and keep it [default: a temporary folder]."),
    ] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")] = PlanFormat.table,
    show_pii: ShowPiiOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Use --dir even though it already holds files (a workspace included).")
    ] = False,
) -> None:
    """Import the bundled example brand (茶语 TeaTalk) into a fresh workspace and print its morning plan."""
    day = parse_date_option(date_) if date_ else EXAMPLE_MORNING
    lang = workspace(ctx).lang
    if directory is not None and not force:
        _refuse_used_folder(directory)
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="privdom-demo-") as tmp:
            _demo(Path(tmp), day, fmt, show_pii, lang)
    else:
        _demo(directory, day, fmt, show_pii, lang)
        typer.echo(f"workspace kept in {directory}: cd there and try `privdom members` or `privdom report`", err=True)


def _refuse_used_folder(directory: Path) -> None:
    """The demo imports 2,000 made-up members: never into a real workspace by accident."""
    if directory.exists() and not directory.is_dir():
        raise PrivdomError(f"--dir {directory} is not a folder", hint="give a new or empty folder for the demo")
    if directory.is_dir() and any(directory.iterdir()):
        what = "a workspace" if (directory / "privdom.db").exists() else "files"
        raise PrivdomError(
            f"--dir {directory} already holds {what}; the demo would import the example brand into it",
            hint="give a new or empty folder for the demo (or --force to use this one anyway)",
        )


def _demo(directory: Path, day: date, fmt: PlanFormat, show_pii: bool, lang: Lang) -> None:
    from privdom.render import plan as render_plan
    ws = Workspace(db=directory / "privdom.db", sops=directory / "sops", lang=lang)
    init_workspace(ws.db, ws.sops, source=example_sops_dir())
    source = examples_dir()
    for kind, name in EXAMPLE_FILES:
        report = ws.import_file(kind, source / name)
        counted = (
            "already imported" if report.already_imported else f"{report.inserted} new, {report.rejected} rejected"
        )
        typer.echo(f"imported {kind:<13} {report.read:>6} records: {counted}", err=True)
    result = ws.plan(day, show_pii=show_pii)
    if result.blocked:
        typer.echo(f"warning: {len(result.blocked)} tasks blocked; see `blocked` in --format json", err=True)
    render_plan.plan(result, fmt.value, show_pii, lang=ws.lang)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(demo)
