"""`privdom plan`, `privdom tasks`, `privdom done`: the morning plan and what became of it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from privdom.cli.context import say_if_waiting, workspace
from privdom.cli.options import DateOpt, PlanFormat, ShowPiiOpt
from privdom.cli.output import after_commit
from privdom.labels import ACTIONS, STAGES, resolve


class Status(StrEnum):
    open = "open"
    done = "done"
    skipped = "skipped"
    holdout = "holdout"


PlanFormatOpt = Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only this owner's tasks (添加人/导购).")]


def plan(
    ctx: typer.Context,
    date: DateOpt = None,
    owner: OwnerOpt = None,
    stage: Annotated[
        str | None,
        typer.Option("--stage", help="Only pull_in, retention or conversion (id, Chinese or English label)."),
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. private_message or 私聊.")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Record the tasks (caps, catch-up, done).")
    ] = False,
    fmt: PlanFormatOpt = PlanFormat.table,
    show_pii: ShowPiiOpt = False,
    full: Annotated[
        bool, typer.Option("--full", help="Print every message in full (the table cuts long ones with …).")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 (and save nothing) when any task is blocked.")
    ] = False,
) -> None:
    """The day's tasks: what to post, where, when, whom to message, and why."""
    from privdom.render import plan as render
    ws = workspace(ctx)
    stage = resolve(stage, "--stage", STAGES)  # the library would name the option `stage`
    action = resolve(action, "--action", ACTIONS)
    day = ws.date_or_today(date)
    ws.warn_unknown_owner(owner)
    if save:
        say_if_waiting(ws.db)
    result = ws.plan(day, owner=owner, stage=stage, action=action, save=save, show_pii=show_pii, strict=strict)
    if result.blocked:
        count = f"{len(result.blocked)} task{'s' if len(result.blocked) != 1 else ''} blocked"
        first = result.blocked[0]
        causes = len(result.summary["blocked_by_cause"])
        typer.echo(
            f"warning: {count} ({causes} cause{'s' if causes != 1 else ''}, e.g. rule {first.rule}: "
            f"{first.cause}); the rest of the plan goes out",
            err=True,
        )
    if not save:
        render.plan(result, fmt.value, show_pii, full=full, lang=ws.lang, taken=ws.ids_near)
        return
    new = ws.last_saved or 0
    saved = f"saved {new} new task{'s' if new != 1 else ''} ({len(result.tasks) - new} already saved)"
    typer.echo(saved, err=True)
    with after_commit(saved, hint=f"the tasks are kept: `privdom plan --date {day}` prints the same plan again"):
        render.plan(result, fmt.value, show_pii, full=full, lang=ws.lang, taken=ws.ids_near)


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
    from privdom.render import plan as render
    ws = workspace(ctx)
    day = ws.date_or_today(date)
    ws.warn_unknown_owner(owner)
    rows = ws.tasks(day, status=status.value if status else None, owner=owner)
    render.tasks(rows, fmt.value, show_pii, lang=ws.lang, taken=ws.ids_near)


def done(
    ctx: typer.Context,
    ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...",
            help="Ids from `privdom plan` or `privdom tasks`: a task's, a line's (all its tasks), or a"
            " unique prefix of 6 or more characters.",
        ),
    ],
    skip: Annotated[bool, typer.Option("--skip", help="Mark them skipped instead of done.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the tasks.")] = None,
) -> None:
    """Mark saved tasks done (or skipped). An unknown or ambiguous id changes nothing."""
    ws = workspace(ctx)
    closed = ws.done(ids, skip=skip, note=note)
    count = len(closed)
    typer.echo(f"{'skipped' if skip else 'done'}: {count} task{'s' if count != 1 else ''}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("plan")(plan)
    app.command("tasks")(tasks)
    app.command("done")(done)
