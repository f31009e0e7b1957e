"""SQL of the insert-only import path: a file for an empty members or orders table.

A file imported into an empty table cannot update or merge with stored rows, so its records go
straight into the table in batches: no temp table, no set-based clean-up, and the secondary indexes
are built once at the end instead of row by row. Identities the file repeats are caught by the
primary key and settled afterwards with the staged path's fold (`imports.stage_first_rows`,
`imports.replace_from_stage`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from privdom.store.imports import COLUMNS, KEY, TABLE, member_by_phone

DIRECT_KINDS = ("members", "orders")


def table_is_empty(conn: sqlite3.Connection, kind: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {TABLE[kind]} LIMIT 1").fetchone() is None


def drop_secondary_indexes(conn: sqlite3.Connection, kind: str) -> list[str]:
    """Drop the table's own indexes (not the primary key's); returns the SQL that makes them again."""
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (TABLE[kind],),
    ).fetchall()
    for name, _sql in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [str(sql) for _name, sql in found]


def create_indexes(conn: sqlite3.Connection, statements: Iterable[str]) -> None:
    for statement in statements:
        conn.execute(statement)


# Rows per INSERT statement on the insert-only path: one statement of many rows costs far less per
# row than executemany's one statement per row. Capped by the parameters one statement may have
# (32,766 in current SQLite, 999 before 3.32).
ROWS_PER_INSERT = 500


def insert_new(conn: sqlite3.Connection, kind: str, rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert rows of COLUMNS[kind]; returns the indexes of those whose key the table already had."""
    table, columns = TABLE[kind], COLUMNS[kind]
    per = max(1, min(ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)))
    one = f"({', '.join('?' * len(columns))})"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    many = head + ", ".join([one] * per)
    single = head + one + f" ON CONFLICT ({', '.join(KEY[kind])}) DO NOTHING"
    cur = conn.cursor()
    conflicts: list[int] = []
    whole = len(rows) - len(rows) % per
    for start in range(0, whole, per):
        chunk = rows[start : start + per]
        try:
            cur.execute(many, list(chain.from_iterable(chunk)))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            # The statement wrote nothing; a file that repeats an identity: go row by row.
            conflicts += _insert_each(cur, single, chunk, start)
    if whole < len(rows):
        conflicts += _insert_each(cur, single, rows[whole:], whole)
    return conflicts


def _insert_each(cur: sqlite3.Cursor, sql: str, rows: Sequence[Sequence[Any]], offset: int) -> list[int]:
    conflicts = []
    for i, row in enumerate(rows):
        cur.execute(sql, row)
        if cur.rowcount == 0:
            conflicts.append(offset + i)
    return conflicts


def stored_row(conn: sqlite3.Connection, kind: str, key: Any) -> tuple[Any, ...] | None:
    (name,) = KEY[kind]
    row = conn.execute(f"SELECT {', '.join(COLUMNS[kind])} FROM {TABLE[kind]} WHERE {name} = ?", (key,)).fetchone()
    return tuple(row) if row is not None else None


def members_for_phones(conn: sqlite3.Connection, phones: Iterable[str]) -> dict[str, str]:
    """phone -> the member orders without a member id belong to (a real member before one made
    from orders); phones no member has are left out."""
    found = conn.execute(
        f"SELECT value, {member_by_phone('value')} FROM json_each(?)",
        (json.dumps(sorted(phones)),),
    )
    return {str(phone): str(member) for phone, member in found if member is not None}


def unknown_members(conn: sqlite3.Connection, member_ids: Iterable[str]) -> set[str]:
    """Which of these member ids the members table does not have."""
    ids = json.dumps(list(member_ids), ensure_ascii=False)
    return {
        str(r[0])
        for r in conn.execute(
            """SELECT value FROM json_each(?)
               WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.member_id = value)""",
            (ids,),
        )
    }


def note_unknown_members(conn: sqlite3.Connection, rows: Iterable[tuple[str, str | None]]) -> None:
    """(member_id, phone) of orders whose member does not exist yet."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_unknown (member_id TEXT, phone TEXT)")
    conn.executemany("INSERT INTO import_unknown VALUES (?, ?)", rows)


def create_unknown_members(conn: sqlite3.Connection) -> int:
    """A minimal member for every noted unknown member id that still has an order (a record folded
    into another order of the same id may have named a member that keeps no order), joined at its
    first order."""
    if conn.execute("SELECT name FROM sqlite_temp_master WHERE name = 'import_unknown'").fetchone() is None:
        return 0
    cur = conn.execute(
        """INSERT INTO members (member_id, phone, joined_at, source)
           SELECT u.member_id, max(u.phone),
                  (SELECT min(o.paid_at) FROM orders o WHERE o.member_id = u.member_id), 'orders'
           FROM import_unknown u
           WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.member_id = u.member_id)
             AND EXISTS (SELECT 1 FROM orders o WHERE o.member_id = u.member_id)
           GROUP BY u.member_id"""
    )
    conn.execute("DROP TABLE temp.import_unknown")
    return cur.rowcount
