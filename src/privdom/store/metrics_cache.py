"""The persistent metrics cache: member_metrics snapshots kept in the workspace database.

Every command is a new process, so a TEMP table would be rebuilt by each `members`, `segments`,
`tiers` and `plan`. Instead a build is written once into a real table `metrics_snapshot_<key>`
(listed in `metrics_cache`) and later commands read it through a TEMP VIEW named `member_metrics`,
so every query over `member_metrics` works unchanged.

The key is a hash of everything the numbers depend on:
* the data: the last import id plus the row count and highest rowid of members, orders and
  activity (any import that commits, and any row inserted or deleted by hand, changes it);
* the playbook parts that feed the metrics, as compiled into the `MetricsQuery` (as-of date,
  windows, growth rate, tier thresholds, lifecycle conditions, RFM scores, KOC minimums);
* the source of `store/metrics.py`, so a new privdom version never reads an old layout.

A stale snapshot is never read: its key no longer matches. At most `KEEP` snapshots are kept (a
report reads two dates); older ones are dropped when a new one is built. A read-only or busy
database falls back to a TEMP table.
"""

from __future__ import annotations

import hashlib
import inspect
import sqlite3
from importlib.metadata import version

from privdom.store import metrics as sql
from privdom.store.schema import transaction

KEEP = 2
# A snapshot is written once and read by every later command, so it carries the indexes they need:
# lookups by member, `members` in spend order (no sort of a million rows), and the planner's event
# dates (each member trigger reads only the members whose event falls in its window).
INDEXES = (
    ("id", "member_id"),
    ("spend", "spend_total DESC, member_id"),
    ("joined", "joined_date"),
    ("first_order", "first_order_date"),
    ("last_order", "last_order_date"),
    ("tier_since", "tier_since"),
    ("segment_since", "segment_since"),
    ("birthday", "COALESCE(birthday_md, substr(birthday, 6, 5))"),
)
_PREFIX = "metrics_snapshot_"


def _build_source() -> str:
    """The build's SQL as shipped: any change to it (a new privdom) changes every key."""
    try:
        return inspect.getsource(sql)
    except (OSError, TypeError):  # no source file (a frozen build): the version has to do
        return f"privdom {version('privdom')}"


_BUILD_TEXT = _build_source()


def data_fingerprint(conn: sqlite3.Connection) -> str:
    """Changes whenever an import commits or rows are added to or removed from a metrics input."""
    parts = [str(conn.execute("SELECT MAX(import_id) FROM imports").fetchone()[0])]
    for table in ("members", "orders", "activity"):
        # Two statements: a bare COUNT(*) counts b-tree cells without reading a row and MAX(rowid)
        # is one seek, but asked together SQLite reads every row (0.35 s at 4.6M orders).
        count = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        last = conn.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0]
        parts += [str(count), str(last)]
    return ".".join(parts)


def cache_key(conn: sqlite3.Connection, q: sql.MetricsQuery) -> str:
    text = "\n".join([_BUILD_TEXT, repr(INDEXES), repr(q), data_fingerprint(conn)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _snapshot(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT table_name FROM metrics_cache WHERE cache_key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _show(conn: sqlite3.Connection, table: str) -> None:
    """Point the TEMP VIEW member_metrics at a snapshot (table names are generated hex, never input)."""
    sql.drop_member_metrics(conn)
    conn.execute(f"CREATE TEMP VIEW member_metrics AS SELECT * FROM main.{table}")


def materialize(conn: sqlite3.Connection, q: sql.MetricsQuery) -> None:
    """member_metrics for `q`: the cached snapshot when its key matches, else built (and kept)."""
    key = cache_key(conn, q)
    table = _snapshot(conn, key)
    if table is not None:
        _show(conn, table)
        return
    if conn.in_transaction:  # a caller's open transaction cannot be committed here
        sql.build_temp(conn, q)
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # read-only or busy: compute for this process only
        sql.build_temp(conn, q)
        return
    try:
        key = cache_key(conn, q)  # under the write lock: no import can slip in between
        table = _snapshot(conn, key)
        if table is None:
            table = _PREFIX + key[:24]
            conn.execute(f"DROP TABLE IF EXISTS main.{table}")
            sql.build(conn, q, f"main.{table}")
            for name, columns in INDEXES:
                unique = "UNIQUE " if name == "id" else ""
                conn.execute(f"CREATE {unique}INDEX main.{table}_{name} ON {table}({columns})")
            conn.execute(
                "INSERT INTO metrics_cache (cache_key, table_name, as_of) VALUES (?, ?, ?)", (key, table, q.as_of)
            )
            _evict(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    _show(conn, table)


def _evict(conn: sqlite3.Connection) -> None:
    old = conn.execute(
        "SELECT snapshot_id, table_name FROM metrics_cache ORDER BY snapshot_id DESC LIMIT -1 OFFSET ?", (KEEP,)
    ).fetchall()
    for snapshot_id, table in old:
        conn.execute(f"DROP TABLE IF EXISTS main.{table}")
        conn.execute("DELETE FROM metrics_cache WHERE snapshot_id = ?", (snapshot_id,))


def clear(conn: sqlite3.Connection) -> None:
    """Drop every snapshot (they are rebuilt on demand)."""
    with transaction(conn):
        for (table,) in conn.execute("SELECT table_name FROM metrics_cache").fetchall():
            conn.execute(f"DROP TABLE IF EXISTS main.{table}")
        conn.execute("DELETE FROM metrics_cache")
