"""SQL for the task history: what saved plans issued, and what the operator did with it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from hashlib import sha1
from typing import Any

from privdom.store.schema import transaction

TASK_COLUMNS = (
    "task_id",
    "date",
    "rule",
    "stage",
    "trigger",
    "action",
    "content_type",
    "member_id",
    "group_id",
    "owner",
    "due_at",
    "event_date",
    "message",
    "reason",
    "priority",
    "status",
    "note",
    "created_at",
    "closed_at",
)
_INSERT_COLUMNS = TASK_COLUMNS[:16] + ("created_at",)
_INSERT_TASK = (
    f"INSERT INTO tasks ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))}) "
    "ON CONFLICT(task_id) DO NOTHING"
)
# What a saved task counts as. Held-out tasks are never sent; skipped ones were not sent either, so
# they count as work planned (load) but not as a touch the member received (the 7-day cap).
TO_DO = "status IN ('open', 'done', 'skipped')"
TOUCHED = "member_id IS NOT NULL AND status IN ('open', 'done')"


def marks(values: Sequence[Any]) -> str:
    """`?,?,?`: one SQL parameter per value, for `IN (...)`."""
    return ",".join("?" * len(values))


DEFERRAL_COLUMNS = (
    "task_id", "date", "rule", "stage", "action", "member_id", "group_id", "owner", "due_at", "event_date", "cause"
)


def task_id(rule: str, target: str, key: str) -> str:
    """Stable across runs, so saving a plan twice issues nothing twice. `target` is the member id,
    else the group id; `key` is what the task is issued once for: its event date, or an episode
    such as `tier:gold`."""
    return sha1(f"{rule}|{target}|{key}".encode()).hexdigest()[:12]


def tier_episode(tier: str) -> str:
    """The key of a tier congratulation: once per tier reached, however often a refund and a new
    order cross the line again."""
    return f"tier:{tier}"


def rekey_member_tasks(conn: sqlite3.Connection, moves: str, episodes: Sequence[str]) -> None:
    """Saved and deferred tasks of members that take a new id (the table `moves` of `old`, `new`)
    take the id the planner gives them under the new member id, before their member_id moves.

    A task id is made of the member id, so without this the planner would not know the member's
    saved tasks and would issue them again. Each id is re-made from its rule and key, found among
    the task's event date and `episodes` by hashing: an id that matches none is kept as it is."""
    for table in ("tasks", "deferrals"):
        rows = conn.execute(
            f"""SELECT t.task_id, t.rule, t.event_date, r.old, r.new
                FROM {table} t JOIN {moves} r ON t.member_id = r.old"""
        ).fetchall()
        changes = []
        for old_id, rule, event_date, old, new in rows:
            for key in (event_date, *episodes):
                if key is not None and task_id(rule, old, key) == old_id:
                    changes.append((task_id(rule, new, key), old_id))
                    break
        conn.executemany(f"UPDATE OR IGNORE {table} SET task_id = ? WHERE task_id = ?", changes)


def insert_tasks(
    conn: sqlite3.Connection,
    rows: Iterable[Sequence[Any]],
    *,
    held_out: Iterable[Sequence[Any]] = (),
    deferred: Iterable[Sequence[Any]] = (),
    morning: tuple[str, str] | None = None,
) -> int:
    """Insert new tasks, held-out tasks and first deferrals in one transaction; an id already saved
    is left as it is. `morning` (date, saved_at) records the morning as saved, tasks or none, the
    first time. Returns how many of `rows` (the tasks to do) were inserted."""
    with transaction(conn):
        if morning is not None:
            conn.execute("INSERT INTO saved_mornings (date, saved_at) VALUES (?, ?) ON CONFLICT DO NOTHING", morning)
        before = conn.total_changes
        conn.executemany(_INSERT_TASK, rows)
        inserted = conn.total_changes - before
        conn.executemany(_INSERT_TASK, held_out)
        # The first morning a task waited is kept: when it later goes out, the task row says so.
        conn.executemany(
            f"INSERT INTO deferrals ({', '.join(DEFERRAL_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(DEFERRAL_COLUMNS))}) ON CONFLICT(task_id) DO NOTHING",
            deferred,
        )
    return inserted


def saved_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, sqlite3.Row]:
    """task_id -> (task_id, date, status, group_id) for the ids already in the history."""
    out: dict[str, sqlite3.Row] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = f"SELECT task_id, date, status, group_id FROM tasks WHERE task_id IN ({marks(chunk)})"
        for row in conn.execute(sql, chunk):
            out[str(row["task_id"])] = row
    return out


def first_waits(conn: sqlite3.Connection, ids: Sequence[str], before: str) -> dict[str, tuple[str, str]]:
    """task_id -> (the first morning before `before` the task waited, its cause), for the `ids` a
    saved plan deferred (none are looked up when no saved plan deferred anything)."""
    if not ids or conn.execute("SELECT 1 FROM deferrals WHERE date < ? LIMIT 1", (before,)).fetchone() is None:
        return {}
    rows = conn.execute(
        "SELECT d.task_id, d.date, d.cause FROM json_each(?) j JOIN deferrals d ON d.task_id = j.value"
        " WHERE d.date < ?",
        (json.dumps(list(ids)), before),
    )
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def saved_days(conn: sqlite3.Connection, before: str) -> list[str]:
    """The days before `before` for which a plan was saved: the mornings `plan --save` recorded,
    with or without tasks, and the days the history has tasks for."""
    rows = conn.execute(
        "SELECT date FROM saved_mornings WHERE date < ?1 UNION SELECT date FROM tasks WHERE date < ?1 ORDER BY date",
        (before,),
    )
    return [str(r[0]) for r in rows]


def private_touches(conn: sqlite3.Connection, actions: Sequence[str], first: str, last: str) -> dict[str, int]:
    """member_id -> private touches saved (open or done) with dates first..last."""
    sql = (
        f"SELECT member_id, COUNT(*) FROM tasks WHERE {TOUCHED} "
        f"AND action IN ({marks(actions)}) AND date BETWEEN ? AND ? GROUP BY member_id"
    )
    return {str(r[0]): int(r[1]) for r in conn.execute(sql, [*actions, first, last])}


def owner_load(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    """owner -> member-level tasks saved for `day` (open or done)."""
    sql = (
        f"SELECT owner, COUNT(*) FROM tasks WHERE date = ? AND {TOUCHED} GROUP BY owner"
    )
    return {str(r[0]): int(r[1]) for r in conn.execute(sql, (day,))}


def list_tasks(
    conn: sqlite3.Connection,
    *,
    day: str | None,
    status: str | None,
    owner: str | None,
    member_id: str | None = None,
    from_day: str | None = None,
) -> list[sqlite3.Row]:
    """Saved tasks in date and due order, each with `target`: its group's or member's name."""
    where: list[str] = []
    params: list[str] = []
    for column, op, value in (
        ("date", "=", day),
        ("status", "=", status),
        ("owner", "=", owner),
        ("member_id", "=", member_id),
        ("date", ">=", from_day),
    ):
        if value is not None:
            where.append(f"t.{column} {op} ?")
            params.append(value)
    if status is None:  # held-out tasks are no one's to-do: listed only when asked for by status
        where.append("t.status != 'holdout'")
    sql = (
        f"SELECT {', '.join('t.' + c for c in TASK_COLUMNS)}, "
        "COALESCE(g.name, m.name, m.nickname, m.phone_display, m.phone, t.member_id, t.group_id, t.owner) AS target "
        "FROM tasks t LEFT JOIN members m ON m.member_id = t.member_id "
        "LEFT JOIN groups g ON g.group_id = t.group_id "
        f"WHERE {' AND '.join(where) or '1'} ORDER BY t.date, t.due_at, t.owner, t.task_id"
    )
    return conn.execute(sql, params).fetchall()


def ids_starting(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """Saved task ids, held-out ones aside, that start with `prefix` (ids are lowercase hex: `~`
    sorts after them all)."""
    rows = conn.execute(
        "SELECT task_id FROM tasks WHERE task_id >= ? AND task_id < ? AND status != 'holdout' ORDER BY task_id",
        (prefix, prefix + "~"),
    )
    return [str(r[0]) for r in rows]


def line_tasks(conn: sqlite3.Connection, action: str) -> list[list[str]]:
    """The task ids of every saved line of two or more `action` tasks: one message of one rule by
    one owner at one time of a day (planner.lines)."""
    rows = conn.execute(
        "SELECT group_concat(task_id) FROM tasks WHERE action = ? AND status != 'holdout' "
        "GROUP BY date, owner, rule, due_at, message HAVING COUNT(*) > 1",
        (action,),
    )
    return [str(r[0]).split(",") for r in rows]


def close_tasks(
    conn: sqlite3.Connection, ids: Sequence[str], status: str, note: str | None, closed_at: str
) -> None:
    with transaction(conn):
        conn.executemany(
            "UPDATE tasks SET status = ?, note = COALESCE(?, note), closed_at = ? WHERE task_id = ?",
            [(status, note, closed_at, i) for i in ids],
        )
