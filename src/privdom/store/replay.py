"""SQL for replaying mornings on a copy of the workspace (`privdom simulate`, `privdom sop diff`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from privdom.store.schema import BUSY_TIMEOUT_MS, connect
from privdom.store.tasks import TO_DO, TOUCHED, marks


def copy_workspace(source: Path, target: Path) -> sqlite3.Connection:
    """Copy the workspace database into `target` and open the copy.

    The source gets a plain connection that only reads (no migration, no pragma that writes), so
    its file stays byte for byte as it was; SQLite's online backup reads a consistent snapshot even
    while another process writes. (A `mode=ro` connection would leave the `-wal` and `-shm` files
    behind: only a connection that may write removes them when it closes.)"""
    if not source.exists():
        connect(source)  # raises the usual "no workspace database" error
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        src.execute("PRAGMA query_only = ON")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return connect(target)


def owner_load(conn: sqlite3.Connection, first: str, last: str) -> list[sqlite3.Row]:
    """(date, owner, tasks, member_tasks) of the tasks to do saved for days first..last."""
    sql = (
        "SELECT date, owner, COUNT(*) AS tasks, COUNT(member_id) AS member_tasks FROM tasks "
        f"WHERE date BETWEEN ? AND ? AND {TO_DO} GROUP BY date, owner ORDER BY date, owner"
    )
    return conn.execute(sql, (first, last)).fetchall()


def touches(conn: sqlite3.Connection, actions: Sequence[str], first: str, last: str) -> list[sqlite3.Row]:
    """(member_id, date, touches) of private touches to do (open or done) dated first..last."""
    sql = (
        f"SELECT member_id, date, COUNT(*) AS touches FROM tasks WHERE {TOUCHED} AND action IN ({marks(actions)}) "
        "AND date BETWEEN ? AND ? GROUP BY member_id, date ORDER BY member_id, date"
    )
    return conn.execute(sql, [*actions, first, last]).fetchall()


def rule_tasks(conn: sqlite3.Connection, first: str, last: str) -> dict[str, int]:
    """rule -> tasks saved for days first..last, held-out ones included (the rule fired for them)."""
    sql = "SELECT rule, COUNT(*) FROM tasks WHERE date BETWEEN ? AND ? GROUP BY rule"
    return {str(r[0]): int(r[1]) for r in conn.execute(sql, (first, last))}


def sequence_tasks(conn: sqlite3.Connection, rules: Sequence[str], first: str, last: str) -> list[sqlite3.Row]:
    """(member_id, rule, event_date) of tasks to do of `rules` saved for days first..last."""
    sql = (
        f"SELECT member_id, rule, event_date FROM tasks WHERE member_id IS NOT NULL AND {TO_DO} "
        f"AND rule IN ({marks(rules)}) AND date BETWEEN ? AND ?"
    )
    return conn.execute(sql, [*rules, first, last]).fetchall()
