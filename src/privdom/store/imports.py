"""All SQL of `privdom import`.

A file is first staged in a TEMP table (`import_stage`), then cleaned with set-based SQL
(duplicates, in-file merges, member look-ups) and upserted into the real table in one statement.
Staging keeps memory flat in the file size and avoids one SELECT per row. Every upsert merges with
COALESCE, so an empty cell never blanks a value the database already knows. A file for an empty
members or orders table skips the stage: its SQL is in `bulk_insert`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from privdom.store.binding import fast_null_binding
from privdom.store.tasks import rekey_member_tasks

TABLE = {
    "members": "members",
    "orders": "orders",
    "groups": "groups",
    "group-members": "group_members",
    "activity": "activity",
}
KEY = {
    "members": ("member_id",),
    "orders": ("order_id",),
    "groups": ("group_id",),
    "group-members": ("group_id", "member_id"),
    "activity": ("date", "group_id", "member_id"),
}
COLUMNS: dict[str, list[str]] = {
    "members": [
        "member_id",
        "external_userid",
        "name",
        "nickname",
        "phone",
        "phone_display",
        "gender",
        "birthday",
        "birthday_md",
        "joined_at",
        "channel",
        "owner",
        "store",
        "region",
        "tags",
        "points",
        "level",
        "growth",
        "total_spent_fen",
        "order_count",
        "last_order_at",
        "source",
        "extra",
    ],
    "orders": [
        "order_id",
        "member_id",
        "paid_at",
        "amount_fen",
        "status",
        "counted",
        "store",
        "channel",
        "extra",
    ],
    "groups": [
        "group_id",
        "name",
        "type",
        "owner",
        "size",
        "capacity",
        "created_at",
        "region",
        "tags",
        "extra",
    ],
    "group-members": ["group_id", "member_id", "joined_at", "left_at", "extra"],
    "activity": ["date", "group_id", "member_id", "messages", "images", "extra"],
}
# Staged to find the member, never stored on the row itself.
STAGE_ONLY: dict[str, list[str]] = {"orders": ["phone"]}
# NOT NULL columns: an empty cell keeps the stored value, or this default for a new row.
# What a NOT NULL column holds when neither the file nor the stored row has a value.
DEFAULTS = {"amount_fen": 0, "counted": 1, "messages": 0, "images": 0}
HEAD = ["seq", "line", "rowhash", "k", "derived", "act"]
# The options of an import without any (as ingest.loader.Options.key writes them).
DEFAULT_OPTIONS = (
    '{"allow_missing": [], "encoding": "auto", "encoding_errors": "strict", "map": {}, "sheet": null,'
    ' "source": "generic"}'
)


def stage_columns(kind: str) -> list[str]:
    return HEAD + COLUMNS[kind] + STAGE_ONLY.get(kind, [])


def already_imported(conn: sqlite3.Connection, kind: str, sha256: str, options: str) -> int | None:
    """The import that read these bytes with these options before. Imports recorded before the
    options were (schema 8) count as read with the default options."""
    row = conn.execute(
        """SELECT import_id FROM imports WHERE kind = ? AND sha256 = ? AND status = 'ok'
             AND coalesce(options, ?) = ?
           ORDER BY import_id LIMIT 1""",
        (kind, sha256, DEFAULT_OPTIONS, options),
    ).fetchone()
    return int(row[0]) if row else None


def first_imported_at(conn: sqlite3.Connection, kind: str, sha256: str) -> str | None:
    """When these bytes were first imported as `kind` (local time, as stored), or None."""
    row = conn.execute(
        "SELECT MIN(started_at) FROM imports WHERE kind = ? AND sha256 = ? AND status = 'ok'", (kind, sha256)
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def create_stage(conn: sqlite3.Connection, kind: str) -> None:
    for name in ("import_stage", "import_folded", "import_dupkeys", "import_rekey"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    # A bigger page cache for the bulk statements: bounded (16 MiB each), so memory stays flat.
    conn.execute("PRAGMA temp.cache_size = -16384")
    conn.execute(f"CREATE TEMP TABLE import_stage ({', '.join(stage_columns(kind))})")


def stage_rows(conn: sqlite3.Connection, kind: str, rows: Sequence[Sequence[Any]]) -> None:
    marks = ", ".join("?" * len(stage_columns(kind)))
    with fast_null_binding():
        conn.executemany(f"INSERT INTO import_stage VALUES ({marks})", rows)


def find_repeated_keys(conn: sqlite3.Connection) -> int:
    """Collect identities staged more than once; usually none, and then nothing else needs doing."""
    conn.execute(
        "CREATE TEMP TABLE import_dupkeys AS SELECT k FROM import_stage GROUP BY k HAVING count(*) > 1"
    )
    return int(conn.execute("SELECT count(*) FROM import_dupkeys").fetchone()[0])


def drop_duplicates(conn: sqlite3.Connection) -> int:
    """Exact duplicate records (same identity, same cells): keep the first."""
    cur = conn.execute(
        """DELETE FROM import_stage WHERE rowid IN (
             SELECT rowid FROM (
               SELECT rowid, row_number() OVER (PARTITION BY k, rowhash ORDER BY seq) AS n
               FROM import_stage WHERE k IN (SELECT k FROM import_dupkeys)
             ) WHERE n > 1)"""
    )
    return cur.rowcount


def member_by_phone(phone: str) -> str:
    """SQL for the member a phone belongs to: a real member before one made from orders, then the
    lowest id. Every import path finds members by phone with this one rule. `phone` is SQL text
    from code (a column or a bound value's name), never input."""
    return (
        f"(SELECT m.member_id FROM members m WHERE m.phone = {phone}"
        " ORDER BY m.source = 'orders', m.member_id LIMIT 1)"
    )


def resolve_member_keys(conn: sqlite3.Connection) -> None:
    """Members keyed by WeCom id or phone join the member the database already has for them."""
    conn.execute(
        f"""UPDATE import_stage SET member_id = coalesce(
             (SELECT m.member_id FROM members m WHERE m.external_userid = import_stage.external_userid),
             {member_by_phone("import_stage.phone")},
             member_id)
           WHERE derived IN (1, 2)"""
    )
    conn.execute("UPDATE import_stage SET k = member_id WHERE derived IN (1, 2)")


def drop_unmatched_blanks(conn: sqlite3.Connection) -> list[int]:
    """Records whose identity cell was blank and that matched no stored member leave the stage;
    returns their record numbers (they are rejected)."""
    seqs = [int(r[0]) for r in conn.execute("SELECT seq FROM import_stage WHERE derived = 2 AND member_id IS NULL")]
    if seqs:
        conn.execute("DELETE FROM import_stage WHERE derived = 2 AND member_id IS NULL")
    return seqs


def adopt_derived_members(conn: sqlite3.Connection, episodes: Sequence[str] = ()) -> int:
    """A member first known by WeCom id or phone takes the real member_id when a file brings one.

    Orders, group memberships, activity, tasks and deferred tasks follow the member to its new id
    in the same transaction, so caps, catch-up and review see one member with one history. Their
    tasks take the ids the planner makes for the new id (`episodes`: the task keys other than event
    dates, see tasks.rekey_member_tasks), so no saved task is issued again.
    """
    conn.execute(
        """CREATE TEMP TABLE import_rekey AS
           SELECT old, min(new) AS new FROM (
             SELECT m.member_id AS old, s.member_id AS new
               FROM import_stage s JOIN members m ON m.phone = s.phone
              WHERE s.derived = 0 AND m.member_id IN (m.phone, phone_member_id(m.phone), m.external_userid)
             UNION
             SELECT m.member_id, s.member_id
               FROM import_stage s JOIN members m ON m.external_userid = s.external_userid
              WHERE s.derived = 0 AND m.member_id IN (m.phone, phone_member_id(m.phone), m.external_userid)
           )
           WHERE old <> new AND NOT EXISTS (SELECT 1 FROM members x WHERE x.member_id = new)
           GROUP BY old HAVING count(DISTINCT new) = 1"""
    )
    conn.execute(
        "DELETE FROM import_rekey WHERE rowid NOT IN (SELECT min(rowid) FROM import_rekey GROUP BY new)"
    )
    count = int(conn.execute("SELECT count(*) FROM import_rekey").fetchone()[0])
    if count:
        rekey_member_tasks(conn, "import_rekey", episodes)
        for table in ("members", "orders", "group_members", "activity", "tasks", "deferrals"):
            conn.execute(
                f"""UPDATE OR IGNORE {table}
                    SET member_id = (SELECT new FROM import_rekey WHERE old = {table}.member_id)
                    WHERE member_id IN (SELECT old FROM import_rekey)"""
            )
    return count


def stamp_export_totals(conn: sqlite3.Connection, imported_at: str, *, staged: bool) -> None:
    """The members whose export totals (orders, spend) this file gave take its import time as
    `totals_as_of`: totals without a last order time cover the orders paid up to then
    (docs/metrics.md). A file loaded into an empty table gave every total there is."""
    from_file = (
        " OR member_id IN (SELECT member_id FROM import_stage"
        " WHERE order_count IS NOT NULL OR total_spent_fen IS NOT NULL)"
        if staged
        else ""
    )
    conn.execute(
        f"""UPDATE members SET totals_as_of = ?
           WHERE (COALESCE(order_count, 0) > 0 OR COALESCE(total_spent_fen, 0) > 0)
             AND (totals_as_of IS NULL{from_file})""",
        (imported_at,),
    )


def link_rows_to_new_members(conn: sqlite3.Connection) -> None:
    """Group joins and activity imported before their member, under the WeCom external_userid
    the group exports name customers by, become the member's own once a members file brings a
    member with that external_userid. A join the member already has under its id is the same
    join: its early copy goes."""
    for table in ("group_members", "activity"):
        orphan = f"""NOT EXISTS (SELECT 1 FROM members x WHERE x.member_id = {table}.member_id)
                     AND EXISTS (SELECT 1 FROM members m WHERE m.external_userid = {table}.member_id)"""
        conn.execute(
            f"""UPDATE OR IGNORE {table}
                SET member_id = (SELECT min(m.member_id) FROM members m WHERE m.external_userid = {table}.member_id)
                WHERE {orphan}"""
        )
        conn.execute(f"DELETE FROM {table} WHERE {orphan}")


def resolve_order_members(conn: sqlite3.Connection) -> None:
    """Orders without a member id find their member by phone; an unknown phone makes the id of a
    new member (store.identity: never the phone itself)."""
    conn.execute(
        f"""UPDATE import_stage
            SET member_id = coalesce({member_by_phone("import_stage.phone")}, phone_member_id(phone))
           WHERE member_id IS NULL"""
    )


def create_order_members(conn: sqlite3.Connection) -> int:
    """A minimal member for every order whose member is unknown, joined at its first order."""
    cur = conn.execute(
        """INSERT INTO members (member_id, phone, joined_at, source)
           SELECT member_id, max(phone), min(paid_at), 'orders' FROM import_stage s
           WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.member_id = s.member_id)
           GROUP BY member_id"""
    )
    return cur.rowcount


def resolve_external_ids(conn: sqlite3.Connection, kind: str) -> None:
    """Group files may name members by WeCom external_userid; use the member's id instead."""
    conn.execute(
        """UPDATE import_stage SET member_id = (
             SELECT m.member_id FROM members m WHERE m.external_userid = import_stage.member_id)
           WHERE NOT EXISTS (SELECT 1 FROM members x WHERE x.member_id = import_stage.member_id)
             AND EXISTS (SELECT 1 FROM members m WHERE m.external_userid = import_stage.member_id)"""
    )
    conn.execute(f"UPDATE import_stage SET k = {' || char(31) || '.join(KEY[kind])}")


def repeated_keys(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    """Every staged record whose identity occurs more than once, winners first within a key."""
    # Exact duplicates are gone now, so some identities may no longer repeat.
    conn.execute(
        """DELETE FROM import_dupkeys
           WHERE k NOT IN (SELECT k FROM import_stage WHERE k IN (SELECT k FROM import_dupkeys)
                           GROUP BY k HAVING count(*) > 1)"""
    )
    conn.execute("CREATE TEMP TABLE import_folded AS SELECT * FROM import_stage WHERE 0")
    cur = conn.execute(
        "SELECT * FROM import_stage WHERE k IN (SELECT k FROM import_dupkeys) ORDER BY k, act DESC, seq DESC"
    )
    while batch := cur.fetchmany(5000):
        yield from (tuple(r) for r in batch)


def store_folded(conn: sqlite3.Connection, kind: str, rows: Sequence[Sequence[Any]]) -> None:
    marks = ", ".join("?" * len(stage_columns(kind)))
    conn.executemany(f"INSERT INTO import_folded VALUES ({marks})", rows)


def replace_folded(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM import_stage WHERE k IN (SELECT k FROM import_dupkeys)")
    conn.execute("INSERT INTO import_stage SELECT * FROM import_folded")


def _join(kind: str) -> str:
    return " AND ".join(f"t.{c} = s.{c}" for c in KEY[kind])


def _same(kind: str, column: str) -> str:
    if column == "tags":
        return (
            "(s.tags IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(s.tags) n"
            " WHERE n.value NOT IN (SELECT value FROM json_each(coalesce(t.tags, '[]')))))"
        )
    if column == "extra":
        return (
            "(s.extra IS NULL"
            " OR json_patch(coalesce(t.extra, '{}'), s.extra) = json(coalesce(t.extra, '{}')))"
        )
    if column == "source":
        return "(t.source IS NOT 'orders')"
    return f"(s.{column} IS NULL OR s.{column} IS t.{column})"


def count_changes(conn: sqlite3.Connection, kind: str) -> tuple[int, int, int]:
    """-> (staged, new, unchanged), comparing every staged record with the stored row.

    Also marks the staged records whose row exists (`known`), so the upsert can insert the new
    ones without reading the target table in the same statement.
    """
    table = TABLE[kind]
    conn.execute("ALTER TABLE import_stage ADD COLUMN known INTEGER")
    conn.execute(
        f"""UPDATE import_stage AS s SET known = 1
            WHERE EXISTS (SELECT 1 FROM {table} t WHERE {_join(kind)})"""
    )
    same = " AND ".join(_same(kind, c) for c in COLUMNS[kind] if c not in KEY[kind])
    staged, new = conn.execute(
        "SELECT count(*), coalesce(sum(known IS NULL), 0) FROM import_stage"
    ).fetchone()
    unchanged = conn.execute(
        f"SELECT count(*) FROM import_stage s JOIN {table} t ON {_join(kind)} WHERE s.known = 1 AND {same}"
    ).fetchone()[0]
    return int(staged), int(new), int(unchanged)


def count_order_updates(conn: sqlite3.Connection) -> tuple[int, int]:
    """(refunds, status changes) a later export brings to orders already stored: an amount that
    went down (a refund taken off) or an order that stopped counting, and a different status."""
    row = conn.execute(
        """SELECT coalesce(sum(s.amount_fen < t.amount_fen OR (s.counted = 0 AND t.counted = 1)), 0),
                  coalesce(sum(s.status IS NOT NULL AND s.status IS NOT t.status), 0)
           FROM import_stage s JOIN orders t ON t.order_id = s.order_id WHERE s.known = 1"""
    ).fetchone()
    return int(row[0]), int(row[1])


def _merged(column: str) -> str:
    if column == "tags":
        return """CASE WHEN s.tags IS NULL THEN t.tags WHEN t.tags IS NULL THEN s.tags ELSE
                  (SELECT json_group_array(value) FROM (SELECT value FROM json_each(t.tags) UNION ALL
                   SELECT value FROM json_each(s.tags)
                   WHERE value NOT IN (SELECT value FROM json_each(t.tags))))
                  END"""
    if column == "extra":
        return (
            "CASE WHEN s.extra IS NULL THEN t.extra WHEN t.extra IS NULL THEN s.extra "
            "ELSE json_patch(t.extra, s.extra) END"
        )
    if column == "source":
        return "CASE WHEN t.source IS NULL OR t.source = 'orders' THEN s.source ELSE t.source END"
    if column == "counted":
        return "CASE WHEN s.status IS NULL THEN coalesce(t.counted, 1) ELSE s.counted END"
    if column in DEFAULTS:
        return f"coalesce(s.{column}, t.{column}, {DEFAULTS[column]})"
    return f"coalesce(s.{column}, t.{column})"


def _fresh(column: str) -> str:
    if column in DEFAULTS:
        return f"coalesce(s.{column}, {DEFAULTS[column]})"
    return f"s.{column}"


def upsert(conn: sqlite3.Connection, kind: str) -> None:
    """Known rows are merged (COALESCE: an empty cell keeps the stored value); new rows go in in
    key order, which keeps the key index's b-tree appends cheap."""
    table, columns = TABLE[kind], COLUMNS[kind]
    conn.execute(
        f"""INSERT INTO {table} ({", ".join(columns)})
            SELECT {", ".join(_merged(c) for c in columns)}
            FROM import_stage s JOIN {table} t ON {_join(kind)} WHERE s.known = 1
            ON CONFLICT ({", ".join(KEY[kind])}) DO UPDATE SET
            {", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEY[kind])}"""
    )
    conn.execute(
        f"""INSERT INTO {table} ({", ".join(columns)})
            SELECT {", ".join(_fresh(c) for c in columns)}
            FROM import_stage s WHERE s.known IS NULL ORDER BY {", ".join(f"s.{c}" for c in KEY[kind])}"""
    )


def record_import(
    conn: sqlite3.Connection,
    *,
    kind: str,
    file_name: str,
    sha256: str,
    encoding: str,
    started_at: str,
    seconds: float,
    counts: dict[str, Any],
    rejects: Iterable[tuple[int, int, str, str]],
    options: str = DEFAULT_OPTIONS,
) -> int:
    cur = conn.execute(
        """INSERT INTO imports (kind, file_name, sha256, encoding, started_at, seconds, counts, status, options)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'ok', ?)""",
        (kind, file_name, sha256, encoding, started_at, seconds, json.dumps(counts, ensure_ascii=False), options),
    )
    import_id = int(cur.lastrowid or 0)
    conn.executemany(
        "INSERT INTO rejects (import_id, record, line, reason, raw) VALUES (?, ?, ?, ?, ?)",
        ((import_id, *r) for r in rejects),
    )
    return import_id


def drop_stage(conn: sqlite3.Connection) -> None:
    for name in ("import_stage", "import_folded", "import_dupkeys", "import_rekey", "import_unknown"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


# ---------------------------------------------------------------- shared by both paths

# The page cache while an import runs: bounded, so memory stays flat in the file size, and big
# enough for the key look-ups of a merge and the sorts that build indexes after a first import.
BULK_CACHE_KIB = 65_536


@contextmanager
def pragmas(conn: sqlite3.Connection, settings: dict[str, int]) -> Iterator[None]:
    """The PRAGMA settings (name -> number; our own names, never input) for a block; the values
    before are restored after it."""
    before = {name: int(conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in settings}
    for name, value in settings.items():
        conn.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        for name, value in before.items():
            conn.execute(f"PRAGMA {name} = {value}")


def bulk_settings(conn: sqlite3.Connection) -> AbstractContextManager[None]:
    """Around the import transaction: no fsync (the WAL keeps the file consistent; a power cut
    may lose the last import, not corrupt earlier ones) and a bigger page cache; both restored."""
    return pragmas(conn, {"synchronous": 0, "main.cache_size": -BULK_CACHE_KIB})


# ---------------------------------------------------------------- repeats on the insert-only path


def replace_from_stage(conn: sqlite3.Connection, kind: str) -> None:
    """The folded records take the place of the rows inserted for their identity."""
    table, columns = TABLE[kind], COLUMNS[kind]
    conn.execute(
        f"""INSERT OR REPLACE INTO {table} ({", ".join(columns)})
            SELECT {", ".join(_fresh(c) for c in columns)} FROM import_stage s"""
    )

