"""`privdom plan`, `privdom tasks`, `privdom done`: the morning plan and what became of it."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from privdom import planner
from privdom.cli.context import say_if_waiting, workspace
from privdom.cli.options import DateOpt, PlanFormat, ShowPiiOpt
from privdom.cli.output import after_commit
from privdom.cycles import collector_paused
from privdom.errors import PrivdomError
from privdom.planner import history
from privdom.playbook.models import ACTIONS, STAGES, Playbook
from privdom.render import plan as render


class Status(StrEnum):
    open = "open"
    done = "done"
    skipped = "skipped"
    holdout = "holdout"


PlanFormatOpt = Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only this owner's tasks (添加人/导购).")]


def _check(value: str | None, option: str, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise PrivdomError(
            f"{option} {value!r} is not one of {', '.join(choices)}", hint=f"use one of: {', '.join(choices)}"
        )


def plan(
    ctx: typer.Context,
    date: DateOpt = None,
    owner: OwnerOpt = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only pull_in, retention or conversion.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. private_message.")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Record the tasks (caps, catch-up, done).")
    ] = False,
    fmt: PlanFormatOpt = PlanFormat.table,
    show_pii: ShowPiiOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 (and save nothing) when any task is blocked.")
    ] = False,
) -> None:
    """The day's tasks: what to post, where, when, whom to message, and why."""
    _check(stage, "--stage", STAGES)
    _check(action, "--action", ACTIONS)
    ws = workspace(ctx)
    playbook = ws.playbook()
    day = ws.date_or_today(date)
    if save:
        say_if_waiting(ws.db)
    _plan(
        ws.connect(), playbook, day, owner, stage, action, save=save, fmt=fmt.value, show_pii=show_pii, strict=strict
    )


# The plan is gone when the function returns, before the collector is back: it never walks it.
@collector_paused()
def _plan(
    conn: sqlite3.Connection,
    playbook: Playbook,
    day: date,
    owner: str | None,
    stage: str | None,
    action: str | None,
    *,
    save: bool,
    fmt: str,
    show_pii: bool,
    strict: bool = False,
) -> None:
    result = planner.build_plan(conn, playbook, day, owner=owner, stage=stage, action=action)
    if result.blocked:
        count = f"{len(result.blocked)} task{'s' if len(result.blocked) != 1 else ''} blocked"
        first = result.blocked[0]
        if strict:
            raise PrivdomError(
                f"{count} (--strict); first: rule {first.rule}: {first.cause}",
                hint="every blocked task and its cause: privdom plan --format csv (or json); nothing was saved",
            )
        causes = len(result.summary["blocked_by_cause"])
        typer.echo(
            f"warning: {count} ({causes} cause{'s' if causes != 1 else ''}, e.g. rule {first.rule}: "
            f"{first.cause}); the rest of the plan goes out",
            err=True,
        )
    if not save:
        render.plan(result, fmt, show_pii)
        return
    new = planner.save_plan(conn, result, saved_at=datetime.now(ZoneInfo(playbook.timezone)))
    saved = f"saved {new} new task{'s' if new != 1 else ''} ({len(result.tasks) - new} already saved)"
    typer.echo(saved, err=True)
    with after_commit(saved, hint=f"the tasks are kept: `privdom plan --date {day}` prints the same plan again"):
        render.plan(result, fmt, show_pii)


def tasks(
    ctx: typer.Context,
    date: DateOpt = None,
    status: Annotated[
        Status | None, typer.Option("--status", help="Only open, done, skipped or held-out tasks.")
    ] = None,
    owner: OwnerOpt = None,
    fmt: PlanFormatOpt = PlanFormat.table,
    show_pii: ShowPiiOpt = False,
) -> None:
    """Saved tasks of a day and their status."""
    ws = workspace(ctx)
    day = ws.date_or_today(date)
    rows = history.list_tasks(ws.connect(), day=day, status=status.value if status else None, owner=owner)
    render.tasks(rows, fmt.value, show_pii)


def done(
    ctx: typer.Context,
    ids: Annotated[
        list[str], typer.Argument(metavar="ID...", help="Task ids from `privdom plan` or `privdom tasks`.")
    ],
    skip: Annotated[bool, typer.Option("--skip", help="Mark them skipped instead of done.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the tasks.")] = None,
) -> None:
    """Mark saved tasks done (or skipped). Unknown ids change nothing."""
    ws = workspace(ctx)
    tz = ZoneInfo(ws.playbook().timezone)
    count = history.close(ws.connect(), ids, skip=skip, note=note, closed_at=datetime.now(tz))
    typer.echo(f"{'skipped' if skip else 'done'}: {count} task{'s' if count != 1 else ''}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("plan")(plan)
    app.command("tasks")(tasks)
    app.command("done")(done)
