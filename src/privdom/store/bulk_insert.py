"""SQL of the insert-only import path: a file for an empty members or orders table.

A file imported into an empty table cannot update or merge with stored rows, so its records go
straight into the table in batches: no temp table, no set-based clean-up, and the indexes, the
key's unique index included, are built once at the end instead of row by row. When the key's index
cannot be built, the file repeated an identity: those rows move to the stage and are settled with the
staged path's fold (`stage_repeated_keys`, `imports.replace_from_stage`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from itertools import chain
from typing import Any

from privdom.store import identity
from privdom.store.binding import fast_null_binding
from privdom.store.imports import COLUMNS, KEY, STAGE_ONLY, TABLE, member_by_phone, pragmas

DIRECT_KINDS = ("members", "orders")


def table_is_empty(conn: sqlite3.Connection, kind: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {TABLE[kind]} LIMIT 1").fetchone() is None


# The unique index that keeps each identity to one row (schema migration 3 -> 4).
KEY_INDEX = {"members": "members_key", "orders": "orders_key"}


def drop_indexes(conn: sqlite3.Connection, kind: str) -> dict[str, str]:
    """Drop the table's indexes, the key's included, and its triggers; returns name -> the SQL that
    makes each again (`create_indexes`).

    The triggers note every member a write touches (`member_changes`, schema 9): for a load into an
    empty table one row saying "every member" replaces a row per record, and the next metrics are
    computed in full anyway. Measured at 1M orders: see docs/ARCHITECTURE.md, Metrics cache.
    """
    found = conn.execute(
        "SELECT type, name, sql FROM sqlite_master"
        " WHERE type IN ('index', 'trigger') AND tbl_name = ? AND sql IS NOT NULL",
        (TABLE[kind],),
    ).fetchall()
    for what, name, _sql in found:
        conn.execute(f'DROP {what.upper()} "{name}"')
    if any(what == "trigger" for what, _name, _sql in found):
        conn.execute("INSERT INTO member_changes (member_id) VALUES (NULL)")
    return {str(name): str(sql) for _what, name, sql in found}


# While indexes are built after a load: SQLite's sorter cuts the rows into runs of the page cache's
# size and, given helper threads, sorts and merges runs side by side. With the import's big cache a
# million-row index is one run sorted by one thread. Measured on 4.6M orders (2 cores): 8.0 s with
# the 64 MiB cache and no helpers, 4.0 s with 8 MiB runs and 4 helpers.
SORT_CACHE_KIB = 8_192
SORT_THREADS = 4


def sorting_in_threads(conn: sqlite3.Connection) -> AbstractContextManager[None]:
    """Around the CREATE INDEX statements of a bulk load; the settings before are restored."""
    return pragmas(conn, {"main.cache_size": -SORT_CACHE_KIB, "threads": SORT_THREADS})


def create_key_index(conn: sqlite3.Connection, kind: str, indexes: dict[str, str]) -> bool:
    """Build the key's unique index; False, and nothing built, when an identity has several rows."""
    try:
        conn.execute(indexes[KEY_INDEX[kind]])
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise
        return False
    return True


def create_indexes(conn: sqlite3.Connection, indexes: dict[str, str], *, skip: str = "") -> None:
    for name, statement in indexes.items():
        if name != skip:
            conn.execute(statement)


# Rows per INSERT statement on the insert-only path: one statement of many rows costs far less per
# row than executemany's one statement per row. Capped by the parameters one statement may have
# (32,766 in current SQLite, 999 before 3.32).
ROWS_PER_INSERT = 500


def append_rows(conn: sqlite3.Connection, kind: str, rows: Sequence[Sequence[Any]]) -> None:
    """Append rows of COLUMNS[kind] to a table that has no index: nothing to look up, nothing to
    keep in order, so each row costs about what `sqlite3 .import` pays."""
    table, columns = TABLE[kind], COLUMNS[kind]
    per = max(1, min(ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)))
    one = f"({', '.join('?' * len(columns))})"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    many = head + ", ".join([one] * per)
    cur = conn.cursor()
    whole = len(rows) - len(rows) % per
    with fast_null_binding():
        for start in range(0, whole, per):
            cur.execute(many, list(chain.from_iterable(rows[start : start + per])))
        if whole < len(rows):
            cur.executemany(head + one, rows[whole:])


def append_batches(conn: sqlite3.Connection, kind: str, batches: Iterable[tuple[list[list[Any]], list[Any]]]) -> int:
    """Append batches of (rows, phones) as `records.value_batches` gives them; orders find their
    members first. Returns the rows appended."""
    appended = 0
    for rows, phones in batches:
        if kind == "orders":
            find_order_members(conn, rows, phones)
        append_rows(conn, kind, rows)
        appended += len(rows)
    return appended


def stage_repeated_keys(conn: sqlite3.Connection, kind: str) -> tuple[int, int]:
    """Move every row of an identity the file gave more than once to the stage, to be settled
    there like the staged path settles repeats; returns (rows moved, identities).

    The rows went in in file order, so the rowid is the record order the fold needs (`seq`), and
    the row's values as JSON tell exact duplicates apart (`rowhash`).
    """
    table, columns = TABLE[kind], COLUMNS[kind]
    (key,) = KEY[kind]
    act = "coalesce(last_order_at, joined_at, '')" if kind == "members" else "''"
    only = "".join(", NULL" for _ in STAGE_ONLY.get(kind, []))
    listed = ", ".join(columns)
    conn.execute(
        f"""CREATE TEMP TABLE import_repeated AS
            SELECT {key} AS k FROM {table} GROUP BY {key} HAVING count(*) > 1"""
    )
    keys = int(conn.execute("SELECT count(*) FROM import_repeated").fetchone()[0])
    conn.execute(
        f"""INSERT INTO import_stage
            SELECT rowid, 0, json_array({listed}), {key}, 0, {act}, {listed}{only}
            FROM {table} WHERE {key} IN (SELECT k FROM import_repeated) ORDER BY rowid"""
    )
    moved = conn.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT k FROM import_repeated)").rowcount
    conn.execute("DROP TABLE temp.import_repeated")
    return moved, keys


def find_order_members(conn: sqlite3.Connection, rows: list[list[Any]], phones: list[Any]) -> None:
    """Orders without a member id find their member by phone (an unknown phone makes the id: see
    store.identity), and
    the orders of members the table does not have are noted, to create them at the end."""
    ids: set[str] = set()
    by_phone: list[int] = []
    for i, vals in enumerate(rows):
        member = vals[1]
        if member is None:
            by_phone.append(i)
        else:
            ids.add(member)
    if by_phone:
        found = members_for_phones(conn, {phones[i] for i in by_phone})
        phone_id = identity.id_for_phone(conn)
        for i in by_phone:
            member = rows[i][1] = found.get(phones[i]) or phone_id(phones[i])
            ids.add(member)
    unknown = unknown_members(conn, ids)
    if unknown:
        note_unknown_members(conn, [(vals[1], phones[i]) for i, vals in enumerate(rows) if vals[1] in unknown])


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


def create_unknown_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_unknown (member_id TEXT, phone TEXT)")


def note_unknown_members(conn: sqlite3.Connection, rows: Iterable[tuple[str, str | None]]) -> None:
    """(member_id, phone) of orders whose member does not exist yet."""
    create_unknown_table(conn)
    conn.executemany("INSERT INTO temp.import_unknown VALUES (?, ?)", rows)


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
