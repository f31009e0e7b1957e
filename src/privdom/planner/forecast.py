"""A member's tasks ahead: what saved plans issued for them, and what the rules will issue next.

The forecast runs the planner's own triggers (`candidates`) for each of the coming days, with the
member metrics as of that day, so it says what `privdom plan` will say on that morning as far as
today's data can tell. Caps and capacity are not applied: a planned task may yet be deferred.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel

from privdom import metrics
from privdom.planner.history import list_tasks
from privdom.planner.reasons import reason
from privdom.planner.triggers import candidates
from privdom.playbook.models import Playbook
from privdom.store import tasks as store

FORECAST_DAYS = 7


class UpcomingTask(BaseModel):
    """A task ahead for one member: `saved` (issued by a saved plan, still open) or `planned` (a
    rule fires for the member on that day, and no saved plan has issued it yet)."""

    state: Literal["saved", "planned"]
    task_id: str
    date: str
    due_at: str
    stage: str
    rule: str
    rule_title: dict[str, str]
    action: str
    owner: str | None
    reason: str | None
    message: str | None  # saved tasks only: a planned task's message is written on its morning


def upcoming(
    conn: sqlite3.Connection, playbook: Playbook, member_id: str, day: date, days: int = FORECAST_DAYS
) -> list[UpcomingTask]:
    """The member's saved open tasks dated `day` or later, then the rules that fire for them on
    `day` .. `day + days - 1` (each task once, on the first day it would go out)."""
    titles = {rule.id: {"zh": rule.title.zh, "en": rule.title.en} for _, rule in playbook.stages.rules()}
    out = [
        UpcomingTask(
            state="saved",
            task_id=t.task_id,
            date=t.date,
            due_at=t.due_at,
            stage=t.stage,
            rule=t.rule,
            rule_title=titles.get(t.rule, {"zh": t.rule, "en": t.rule}),
            action=t.action,
            owner=t.owner,
            reason=t.reason,
            message=t.message,
        )
        for t in list_tasks(conn, day=None, status="open", owner=None, member_id=member_id, from_day=day)
    ]
    seen: set[str] = set()
    for n in range(days):
        when = day + timedelta(days=n)
        # The member's own row of each day, ranked among the others of the day's snapshot (the
        # profile has just attached it): the rules over that one row fire as over every member's,
        # and the cached snapshots stay those of the days commands plan for.
        metrics.materialize_member(conn, playbook, when, member_id)
        mine = [c for c in candidates(conn, playbook, when) if c.member_id == member_id and c.id not in seen]
        seen.update(c.id for c in mine)
        saved = store.saved_ids(conn, [c.id for c in mine])
        out += [
            UpcomingTask(
                state="planned",
                task_id=c.id,
                date=when.isoformat(),
                due_at=c.due.isoformat(),
                stage=c.stage,
                rule=c.rule.id,
                rule_title=titles[c.rule.id],
                action=c.rule.action,
                owner=c.owner,
                reason=reason(c, when, playbook, None),
                message=None,
            )
            for c in sorted(mine, key=lambda c: (c.due, c.rule.id))
            if c.id not in saved
        ]
    return out
