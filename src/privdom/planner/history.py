"""The task history behind `privdom tasks` and `privdom done`."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from privdom.errors import PrivdomError
from privdom.store import tasks as store


def list_tasks(
    conn: sqlite3.Connection, *, day: date | None, status: str | None, owner: str | None
) -> list[dict[str, Any]]:
    rows = store.list_tasks(conn, day=day.isoformat() if day else None, status=status, owner=owner)
    return [{k: r[k] for k in r.keys()} for r in rows]


def close(
    conn: sqlite3.Connection, ids: list[str], *, skip: bool, note: str | None, closed_at: datetime
) -> int:
    """Mark tasks done (or skipped); any unknown id fails the whole call before anything changes."""
    unique = list(dict.fromkeys(ids))
    found = store.saved_ids(conn, unique)
    missing = [i for i in unique if i not in found]
    if missing:
        raise PrivdomError(
            f"no saved task with id {', '.join(missing)}",
            hint="ids come from `privdom plan --save` or `privdom tasks`; nothing was changed",
        )
    held = [i for i in unique if found[i]["status"] == "holdout"]
    if held:
        raise PrivdomError(
            f"task {', '.join(held)} is held out (its rule's `holdout:`): it is not sent, so it cannot be "
            f"{'skipped' if skip else 'done'}",
            hint="held-out tasks are the control group `privdom review` compares with; nothing was changed",
        )
    store.close_tasks(
        conn, unique, "skipped" if skip else "done", note, closed_at.isoformat(timespec="seconds")
    )
    return len(unique)
