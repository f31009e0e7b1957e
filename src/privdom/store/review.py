"""SQL for `privdom review`: the saved tasks of a period, and what their members and groups did next."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# A task's window opens at its due time (an order earlier that day came before the message) and
# closes at the end of its date + N days. `due_at` is ISO with the playbook's offset; `paid_at` is
# local wall-clock text in the same zone, so the first 19 characters compare as local times.
_DUE_LOCAL = "replace(substr({t}.due_at, 1, 19), 'T', ' ')"


def rule_counts(
    conn: sqlite3.Connection, first: str, last: str, rule: str | None, owner: str | None
) -> list[sqlite3.Row]:
    """(rule, stage, action, owner, status, tasks) of the tasks saved for days first..last."""
    where, params = _filters("t", first, last, rule, owner)
    sql = (
        "SELECT rule, stage, action, owner, status, COUNT(*) AS tasks FROM tasks t "
        f"WHERE {where} GROUP BY rule, stage, action, owner, status ORDER BY rule, owner, status"
    )
    return conn.execute(sql, params).fetchall()


def waiting_counts(
    conn: sqlite3.Connection, first: str, last: str, rule: str | None, owner: str | None
) -> list[sqlite3.Row]:
    """(rule, stage, action, cause, tasks) of tasks first deferred in first..last and never issued."""
    where, params = _filters("d", first, last, rule, owner)
    sql = (
        "SELECT rule, stage, action, cause, COUNT(*) AS tasks FROM deferrals d "
        f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = d.task_id) "
        "GROUP BY rule, stage, action, cause ORDER BY rule, cause"
    )
    return conn.execute(sql, params).fetchall()


def member_outcomes(
    conn: sqlite3.Connection,
    rule: str,
    first: str,
    last: str,
    owner: str | None,
    window: int,
    causes: Sequence[str],
) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """The members of `rule`'s tasks by arm, and the counted orders inside their windows.

    Arms: `done`, `skipped`, `holdout` (status), `deferred` (first deferred in the period for one
    of `causes`, never issued), `open`. Returns (units, hits): units are (arm, member_id,
    window_end); hits are distinct (arm, member_id, order, amount_fen)."""
    where_t, params_t = _filters("t", first, last, rule, owner)
    where_d, params_d = _filters("d", first, last, rule, owner)
    marks = ",".join("?" * len(causes))
    units = f"""
        WITH units(arm, member_id, start_at, window_end) AS (
            SELECT t.status, t.member_id, {_DUE_LOCAL.format(t="t")}, date(t.date, '+{int(window)} days')
            FROM tasks t WHERE {where_t} AND t.member_id IS NOT NULL
            UNION ALL
            SELECT 'deferred', d.member_id, {_DUE_LOCAL.format(t="d")}, date(d.date, '+{int(window)} days')
            FROM deferrals d WHERE {where_d} AND d.member_id IS NOT NULL AND d.cause IN ({marks})
              AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = d.task_id)
        )"""
    params = [*params_t, *params_d, *causes]
    unit_rows = conn.execute(f"{units} SELECT arm, member_id, window_end FROM units", params).fetchall()
    hit_rows = conn.execute(
        f"""{units}
        SELECT DISTINCT u.arm, u.member_id, o.rowid AS order_row, o.amount_fen, u.window_end
        FROM units u JOIN orders o ON o.member_id = u.member_id AND o.counted = 1
         AND o.paid_at >= u.start_at AND substr(o.paid_at, 1, 10) <= u.window_end""",
        params,
    ).fetchall()
    return unit_rows, hit_rows


def group_outcomes(
    conn: sqlite3.Connection, rule: str, first: str, last: str, owner: str | None, window: int
) -> list[sqlite3.Row]:
    """Group messages in the `window` days before and after each day `rule` fired in first..last.

    One row per (group, day) for every group of a type the rule posted to on a day it fired:
    `posted` is 1 where a task of the rule to that group that day is done. Rows carry the day
    (their windows are checked against the data by the caller)."""
    where, params = _filters("t", first, last, rule, owner)
    n = int(window)
    sql = f"""
        WITH fired AS (SELECT t.group_id, t.date, t.status FROM tasks t WHERE {where}),
        days AS (SELECT DISTINCT date FROM fired),
        kinds AS (SELECT DISTINCT g.type FROM fired f JOIN groups g ON g.group_id = f.group_id),
        units AS (
            SELECT g.group_id, d.date,
                   EXISTS (SELECT 1 FROM fired f WHERE f.group_id = g.group_id AND f.date = d.date
                           AND f.status = 'done') AS posted
            FROM groups g JOIN kinds k ON g.type = k.type CROSS JOIN days d
            {"WHERE g.owner = ?" if owner is not None else ""}
        )
        SELECT u.group_id, u.date, u.posted,
            (SELECT COALESCE(SUM(a.messages), 0) FROM activity a WHERE a.group_id = u.group_id
              AND a.date BETWEEN date(u.date, '-{n} days') AND date(u.date, '-1 days')) AS before,
            (SELECT COALESCE(SUM(a.messages), 0) FROM activity a WHERE a.group_id = u.group_id
              AND a.date BETWEEN date(u.date, '+1 days') AND date(u.date, '+{n} days')) AS after
        FROM units u ORDER BY u.date, u.group_id"""
    return conn.execute(sql, [*params, *([owner] if owner is not None else [])]).fetchall()


def data_through(conn: sqlite3.Connection) -> tuple[str | None, str | None, str | None]:
    """The last local date with a counted order, and the first and last dates of group activity."""
    orders = conn.execute("SELECT MAX(substr(paid_at, 1, 10)) FROM orders WHERE counted = 1").fetchone()[0]
    first, last = conn.execute("SELECT MIN(date), MAX(date) FROM activity").fetchone()
    return orders, first, last


def _filters(alias: str, first: str, last: str, rule: str | None, owner: str | None) -> tuple[str, list[str]]:
    where = [f"{alias}.date BETWEEN ? AND ?"]
    params = [first, last]
    if rule is not None:
        where.append(f"{alias}.rule = ?")
        params.append(rule)
    if owner is not None:
        where.append(f"{alias}.owner = ?")
        params.append(owner)
    return " AND ".join(where), params
