"""`privdom init` and `privdom demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privdom.cli.context import workspace
from privdom.workspace import init_workspace


def init(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Argument(help="Workspace folder [default: current folder].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite playbooks that already exist.")] = False,
) -> None:
    """Create a workspace: privdom.db (SQLite, WAL) and sops/ with the default playbook."""
    ws = workspace(ctx)
    db, sops = ws.db, ws.sops
    if directory is not None:
        db = directory / "privdom.db" if not db.is_absolute() else db
        sops = directory / "sops" if not sops.is_absolute() else sops
    result = init_workspace(db, sops, force=force)
    typer.echo(f"workspace ready: {result.db}", err=True)
    for name in result.copied:
        typer.echo(f"  wrote {result.sops / name}", err=True)
    for name in result.kept:
        typer.echo(f"  kept  {result.sops / name} (edited copies are never overwritten; --force to replace)", err=True)


def register(app: typer.Typer) -> None:
    app.command()(init)
