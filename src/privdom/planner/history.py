"""The task history behind `privdom tasks` and `privdom done`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel

from privdom.errors import PrivdomError
from privdom.planner.lines import SHORTEST_ID, line_id
from privdom.store import tasks as store


class SavedTask(BaseModel):
    """A task a saved plan issued, and what became of it (`privdom tasks --format json`)."""

    task_id: str
    date: str
    rule: str
    stage: str
    trigger: str
    action: str
    content_type: str | None
    member_id: str | None
    group_id: str | None
    owner: str | None
    due_at: str
    event_date: str | None
    message: str | None
    reason: str | None
    priority: int | None
    status: str
    note: str | None
    created_at: str
    closed_at: str | None
    target: str  # the group's or member's name (else its id)


def list_tasks(
    conn: sqlite3.Connection,
    *,
    day: date | None,
    status: str | None,
    owner: str | None,
    member_id: str | None = None,
    from_day: date | None = None,
) -> list[SavedTask]:
    rows = store.list_tasks(
        conn,
        day=day.isoformat() if day else None,
        status=status,
        owner=owner,
        member_id=member_id,
        from_day=from_day.isoformat() if from_day else None,
    )
    return [SavedTask(**dict(r)) for r in rows]


def close(
    conn: sqlite3.Connection, ids: list[str], *, skip: bool, note: str | None, closed_at: datetime
) -> list[str]:
    """Mark tasks done (or skipped); returns the task ids closed. Any id that is unknown, too short
    or ambiguous fails the whole call before anything changes."""
    resolved = resolve(conn, ids)
    found = store.saved_ids(conn, resolved)
    held = [i for i in resolved if found[i]["status"] == "holdout"]
    if held:
        raise PrivdomError(
            f"task {', '.join(held)} is held out (its rule's `holdout:`): it is not sent, so it cannot be "
            f"{'skipped' if skip else 'done'}",
            hint="held-out tasks are the control group `privdom review` compares with; nothing was changed",
        )
    store.close_tasks(conn, resolved, "skipped" if skip else "done", note, closed_at.isoformat(timespec="seconds"))
    return resolved


def ids_near(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Saved task ids other than `ids` starting with the first SHORTEST_ID characters of one of them."""
    near: set[str] = set()
    for prefix in sorted({i[:SHORTEST_ID] for i in ids}):
        near.update(store.ids_starting(conn, prefix))
    return near - set(ids)


def resolve(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    """The saved task ids that `ids` name: task ids, line ids (planner.lines) and unique prefixes."""
    tokens = list(dict.fromkeys(i.strip().lower() for i in ids))
    exact = store.saved_ids(conn, tokens)
    out: list[str] = [t for t in tokens if t in exact]
    rest = [t for t in tokens if t not in exact]
    if not rest:
        return out
    lines = {line_id(task_ids): task_ids for task_ids in store.line_tasks(conn, "group_post")}
    missing: list[str] = []
    for token in rest:
        if len(token) < SHORTEST_ID:  # too short to be a prefix: only an id as it is would do
            missing.append(token)
            continue
        matches = {i: [i] for i in store.ids_starting(conn, token)}
        matches.update({key: value for key, value in lines.items() if key.startswith(token)})
        if len(matches) > 1:
            raise PrivdomError(
                f"id {token} is ambiguous: it starts {', '.join(sorted(matches))}",
                hint="give more characters of the id; nothing was changed",
            )
        if matches:
            out += next(iter(matches.values()))
        else:
            missing.append(token)
    if missing:
        raise PrivdomError(
            f"no saved task with id {', '.join(missing)}",
            hint=f"ids come from `privdom plan --save` or `privdom tasks` (a prefix needs {SHORTEST_ID} or more"
            " characters); nothing was changed",
        )
    return list(dict.fromkeys(out))
