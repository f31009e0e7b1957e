"""Today's metrics snapshot from an earlier one: only the members whose row may differ are computed.

A full build reads every order of every member (16 ms per 1,000 members). A new date after a day's
import changes few rows, so the snapshot's life cycle (`metrics_cache`) copies the latest snapshot of
the same playbook and asks `patch` to bring it to the new date and data. The members computed again
are:

* those the database noted since the older snapshot was built: the triggers of schema 9 write the
  member id of every row written, deleted or changed in `members`, `orders` and `activity`
  (`member_changes`), whatever did it: an import's upsert, a refund, a merge that moves orders to
  another member, a row changed by hand;
* those the new days bring rows to: orders and activity entering the days, members joining,
  exported last orders entering the days or leaving a window (range reads of the date indexes of
  schema 9).

They are computed with the full build's own statements (`store/metrics.py`, restricted to them), so
the full build stays the one definition of a member's row. Members whose data did not change but
whom the date moved are restamped (`_restamp`): orders leaving the 365-day or the tier's window,
activity leaving the 30-day window, days since the last or first order crossing a day count a
lifecycle condition compares with. Their base is their stored row less what left, and the same
final statement gives their row. The members whose ranks alone moved with the others' (RFM values
whose score changed, values that crossed to the other side of a mean, KOC ranks) get their rank
columns again from their stored values; the RFM scores come from the counts per
value kept in the snapshot, plus and minus the changed members' values. The full build stays the
reference: tests compare the two column for column after random imports.
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from privdom.store import metrics as sql

# An older snapshot further back than this is not patched: the windows' edges would touch too many.
MAX_DAYS = 31
# When more members than this share of the snapshot are to be computed again, a full build is as quick.
MAX_SHARE = 0.25

_META = "snapshot_meta"
# The members whose RFM scores, class or KOC rank alone moved (their data and dates did not).
_RANKED = "temp._mm_ranked"
# The members whose data did not change but whom the date moved: their stored row, less the orders
# and activity that left its windows, with the new day counts, is their base (`_restamp`).
_RESTAMPED = "temp._mm_restamped"
# What left those windows, per member: (orders, spend) out of the 365 days, spend out of the
# tier's window; (messages, images) out of the 30 days.
_LEFT_ORDERS = "temp._mm_left_orders"
_LEFT_ACTIVITY = "temp._mm_left_activity"
_METRICS = (("r", "recency_days"), ("f", "orders_total"), ("m", "spend_total"))


@dataclass(frozen=True)
class Base:
    """What a snapshot says about itself (its `snapshot_meta` row)."""

    path: Path
    as_of: str
    family: str
    workspace: str
    seq: int
    rows: int
    n: int  # the RFM population and its means
    r: float | None
    f: float | None
    m: float | None


def undated(q: sql.MetricsQuery) -> str:
    """The metrics query without its date, for a snapshot's family (`metrics_cache.family`): a
    snapshot of another date of the same family may be patched into this one."""
    dated = replace(
        q,
        as_of="",
        next_day="",
        start_365="",
        start_30="",
        window_start=None if q.window_start is None else str(_days_between(q.window_start, q.as_of)),
    )
    return repr(dated)


def create_meta(conn: sqlite3.Connection, schema: str) -> None:
    """The snapshot's own tables beside member_metrics: its meta row and the RFM counts per value."""
    conn.execute(
        f"CREATE TABLE {schema}.{_META} (as_of TEXT, family TEXT, workspace TEXT, seq INTEGER, rows INTEGER,"
        " n INTEGER, r REAL, f REAL, m REAL, made TEXT)"
    )
    for metric, _column in _METRICS:
        conn.execute(
            f"CREATE TABLE {schema}.rfm_count_{metric} (v INTEGER PRIMARY KEY, c INT, score INT) WITHOUT ROWID"
        )


def write_meta(
    conn: sqlite3.Connection, schema: str, as_of: str, family: str, workspace: str, seq: int, made: str
) -> None:
    """The meta row and the counts per value of the snapshot just built or patched in `schema`;
    `made` says how ('full', or 'patch of <date>')."""
    conn.execute(f"DELETE FROM {schema}.{_META}")
    conn.execute(
        f"""INSERT INTO {schema}.{_META}
            SELECT ?, ?, ?, ?, (SELECT COUNT(*) FROM {schema}.member_metrics), n, r, f, m, ?
            FROM temp._mm_rfm_stats""",
        (as_of, family, workspace, seq, made),
    )
    for metric, _column in _METRICS:
        conn.execute(f"DELETE FROM {schema}.rfm_count_{metric}")
        conn.execute(
            f"""INSERT INTO {schema}.rfm_count_{metric}
                SELECT c.v, c.c, s.score FROM temp._mm_rfm_count_{metric} c JOIN temp._mm_rfm_{metric} s USING (v)"""
        )


def how_made(conn: sqlite3.Connection, schema: str) -> str:
    """'full', or 'patch of <date>': how the snapshot attached as `schema` was made."""
    return str(conn.execute(f"SELECT made FROM {schema}.{_META}").fetchone()[0])


def read_base(path: Path) -> Base | None:
    """The meta of the snapshot in `path`; None for a snapshot without one, or a file that is not one."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute(f"SELECT as_of, family, workspace, seq, rows, n, r, f, m FROM {_META}").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:  # gone, damaged, or of a version before the meta
        return None
    if row is None:
        return None
    return Base(path, *row)


def find_base(paths: list[Path], as_of: str, family: str, workspace: str) -> Base | None:
    """The snapshot to patch into one of `as_of`: of this workspace and family, of the latest date
    up to `as_of` and no more than MAX_DAYS before it."""
    earliest = _day(as_of, -MAX_DAYS)
    found = [b for b in map(read_base, paths) if b is not None]
    fit = [b for b in found if b.workspace == workspace and b.family == family and earliest <= b.as_of <= as_of]
    return max(fit, key=lambda b: (b.as_of, b.seq), default=None)


def _changes_kept(conn: sqlite3.Connection, seq: int) -> bool:
    """Whether every change after `seq` is still noted: numbers follow each other, and only the
    oldest are forgotten (schema 9 keeps the last KEPT_CHANGES)."""
    first = conn.execute("SELECT MIN(seq) FROM member_changes").fetchone()[0]
    last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'member_changes'").fetchone()
    return last is None or last[0] <= seq or (first is not None and first <= seq + 1)


def everything_changed(conn: sqlite3.Connection, seq: int) -> bool:
    """Whether a change since `seq` says "every member" (a first import into an empty table)."""
    found = conn.execute("SELECT 1 FROM member_changes WHERE seq > ? AND member_id IS NULL LIMIT 1", (seq,))
    return found.fetchone() is not None


def _days_between(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days


def _day(text: str, days: int) -> str:
    return (date.fromisoformat(text) + timedelta(days=days)).isoformat()


def patch(conn: sqlite3.Connection, q: sql.MetricsQuery, base: Base, schema: str) -> bool:
    """Bring the copy of `base` attached as `schema` to `q`'s date and the data as it is now, inside
    the caller's read transaction. False, with the copy left as it may be, when a full build is the
    way: a date before the base's, everything changed, or too many members to compute again."""
    gap = (date.fromisoformat(q.as_of) - date.fromisoformat(base.as_of)).days
    if not 0 <= gap <= MAX_DAYS or everything_changed(conn, base.seq) or not _changes_kept(conn, base.seq):
        return False
    _new_member_sets(conn)
    # The members computed again in full: their data changed, or the date brought rows into their
    # figures; those whose figures only lost rows to the date, or crossed a day count, are restamped.
    _note(conn, "SELECT member_id FROM member_changes WHERE seq > ? AND member_id IS NOT NULL", (base.seq,))
    if gap:
        _note_dated(conn, q, base.as_of, schema)
        if not _note_lifecycle_days(conn, q, schema, gap):
            return False
    conn.execute(f"DELETE FROM {_RESTAMPED} WHERE member_id IN (SELECT member_id FROM {sql.ONLY})")
    if _count(conn, sql.ONLY) + _count(conn, _RESTAMPED) > MAX_SHARE * max(base.rows, 1):
        return False
    sql.member_bases(conn, q, only=True)
    if gap:
        _restamp(conn, q, schema)
    # The ranks of everyone from the counts per value; the members whose ranks alone moved.
    if not _count_rfm_values(conn, schema, q.as_of, gap):
        return False
    _rank_with_stored(conn, q, schema)
    if not _note_moved_ranks(conn, q, base, schema, gap):
        return False
    select, params = sql.member_rows(q, sql.SNAPSHOT_COLUMNS)
    conn.execute("DROP TABLE IF EXISTS temp._mm_patch")
    conn.execute(f"CREATE TEMP TABLE _mm_patch AS {select}", params)
    conn.execute("CREATE UNIQUE INDEX temp._mm_patch_id ON _mm_patch(member_id)")
    _replace_rows(conn, schema)
    _rerank(conn, q, schema)
    return True


def member_row(conn: sqlite3.Connection, q: sql.MetricsQuery, member_id: str, schema: str) -> bool:
    """`temp.member_metrics` holding `member_id`'s row as of `q`'s date, on or after the date of
    the snapshot attached as `schema`, which is read only: the member computed with the full
    build's statements, ranked among the others as the snapshot holds them (recency counted to
    the new date). False when the snapshot is of a later date or its counts do not add up."""
    as_of = conn.execute(f"SELECT as_of FROM {schema}.{_META}").fetchone()
    gap = (date.fromisoformat(q.as_of) - date.fromisoformat(as_of[0])).days if as_of else -1
    if gap < 0:
        return False
    _new_member_sets(conn)
    _note(conn, "SELECT ?", (member_id,))
    sql.member_bases(conn, q, only=True)
    if not _count_rfm_values(conn, schema, q.as_of, gap):
        return False
    _rank_with_stored(conn, q, schema)
    select, params = sql.member_rows(q, sql.TABLE_COLUMNS)
    sql.drop_member_metrics(conn)
    conn.execute(f"CREATE TEMP TABLE member_metrics AS {select}", params)
    return True


def _rank_with_stored(conn: sqlite3.Connection, q: sql.MetricsQuery, schema: str) -> None:
    """The RFM scores from the counts, and the KOC ranks among the stored KOCs and the members
    computed again (`_mm_base`, in place of their stored rows)."""
    keep = f"koc = 1 AND member_id NOT IN (SELECT member_id FROM {sql.ONLY})"
    sql.rank(
        conn,
        q,
        f"(SELECT member_id, orders_total, messages_30, images_30 FROM {schema}.member_metrics WHERE {keep}"
        " UNION ALL SELECT member_id, orders_total, messages_30, images_30 FROM _mm_base)",
    )


def _new_member_sets(conn: sqlite3.Connection) -> None:
    """Empty sets of the members computed again (ONLY), ranked again and restamped."""
    for table in (sql.ONLY, _RANKED, _RESTAMPED):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (member_id TEXT PRIMARY KEY) WITHOUT ROWID")


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _rerank(conn: sqlite3.Connection, q: sql.MetricsQuery, schema: str) -> None:
    """The RFM scores and classes and the KOC ranks of the members whose ranks alone moved
    (`_RANKED`), from their stored values with the full build's expressions; only those that differ
    are written (no index holds them)."""
    stored = f"{schema}.member_metrics"
    recency = sql.day_count_sql("recency_days", q.as_of)
    ranked = (
        f"(SELECT member_id, orders_total, spend_total, {recency} AS recency_days FROM {stored}"
        f" WHERE member_id IN (SELECT member_id FROM {_RANKED})"
        f" AND member_id NOT IN (SELECT member_id FROM {sql.ONLY}))"
    )
    listed = ", ".join(sql.RANK_COLUMNS)
    differs = " OR ".join(f"r.{c} IS NOT m.{c}" for c in sql.RANK_COLUMNS)
    conn.execute("DROP TABLE IF EXISTS temp._mm_ranks")
    conn.execute(
        f"CREATE TEMP TABLE _mm_ranks AS SELECT r.* FROM ({sql.member_ranks(ranked)}) r"
        f" JOIN {stored} m ON m.member_id = r.member_id WHERE {differs}"
    )
    conn.execute("CREATE UNIQUE INDEX temp._mm_ranks_id ON _mm_ranks(member_id)")
    conn.execute(
        f"UPDATE {stored} AS m SET ({listed}) = (SELECT {listed} FROM temp._mm_ranks r WHERE r.member_id = m.member_id)"
        " WHERE m.member_id IN (SELECT member_id FROM temp._mm_ranks)"
    )


def _replace_rows(conn: sqlite3.Connection, schema: str) -> None:
    """The rows computed again (`_mm_patch`) take their places in the snapshot, writing only what
    differs: most of them differ in a few columns, most of those in no index (ranks, the 30-day and
    365-day figures), and an index entry is rewritten only for a row whose indexed value changed."""
    stored = f"{schema}.member_metrics"
    again = f"SELECT member_id FROM {sql.ONLY}"
    conn.execute(
        f"DELETE FROM {stored} WHERE member_id IN ({again}) AND member_id NOT IN (SELECT member_id FROM _mm_patch)"
    )
    columns = ", ".join(sql.SNAPSHOT_COLUMNS)
    conn.execute(
        f"INSERT INTO {stored} ({columns}) SELECT {columns} FROM _mm_patch p"
        f" WHERE NOT EXISTS (SELECT 1 FROM {stored} m WHERE m.member_id = p.member_id)"
    )
    plain = [c for c in sql.SNAPSHOT_COLUMNS if c not in sql.INDEXED_COLUMNS]
    # The columns of each index but the member id: a row's entry in an index is rewritten only
    # when one of them changed (at 1M members: 0.2 s instead of 0.7 s for rewriting them all).
    groups = [plain] + [sorted(c for c in sql.SNAPSHOT_COLUMNS if c != "member_id" and _in_index(c, index))
                        for index in sql.SNAPSHOT_INDEXES]
    groups = [g for g in groups if g]
    # Which groups differ, as one number per row (bit i: group i); each row is then written once,
    # by the statement of its combination of groups (a few dozen combinations in a day).
    bits = " | ".join(f"(({' OR '.join(f'p.{c} IS NOT m.{c}' for c in g)}) << {i})" for i, g in enumerate(groups))
    conn.execute("DROP TABLE IF EXISTS temp._mm_differ")
    conn.execute(
        f"CREATE TEMP TABLE _mm_differ AS SELECT p.member_id, {bits} AS differs FROM _mm_patch p"
        f" JOIN {stored} m ON m.member_id = p.member_id"
    )
    conn.execute("CREATE INDEX temp._mm_differ_by ON _mm_differ(differs)")
    combinations = [r[0] for r in conn.execute("SELECT DISTINCT differs FROM temp._mm_differ WHERE differs <> 0")]
    for differs in combinations:
        listed = ", ".join(dict.fromkeys(c for i, g in enumerate(groups) if differs >> i & 1 for c in g))
        conn.execute(
            f"UPDATE {stored} AS m SET ({listed}) = (SELECT {listed} FROM _mm_patch p WHERE p.member_id = m.member_id)"
            " WHERE m.member_id IN (SELECT member_id FROM temp._mm_differ WHERE differs = ?)",
            (differs,),
        )


def _in_index(column: str, index: tuple[str, str, str]) -> bool:
    _name, columns, where = index
    return column in sql.INDEXED_COLUMNS and re.search(rf"\b{column}\b", f"{columns} {where}") is not None


def _note(conn: sqlite3.Connection, select: str, params: Any = ()) -> None:
    """The members `select` gives are computed again in full."""
    conn.execute(f"INSERT OR IGNORE INTO {sql.ONLY} {select}", params)


def _note_ranked(conn: sqlite3.Connection, select: str, params: Any = ()) -> None:
    """The members `select` gives get their ranks again (unless computed again in full)."""
    conn.execute(f"INSERT OR IGNORE INTO {_RANKED} {select}", params)


def _note_dated(conn: sqlite3.Connection, q: sql.MetricsQuery, before: str, schema: str) -> None:
    """The members whose rows the step from date `before` to `q.as_of` moves: an index range each.

    Rows the new days bring in (orders, activity, joins) and an export's last order entering or
    leaving a window need the member computed again in full. Orders and activity leaving a window
    only take away from sums the snapshot holds: those members are restamped, with what left
    (`_LEFT_ORDERS`, `_LEFT_ACTIVITY`), unless their figures come from an export's totals (the
    orders after them, not all orders, count) or they are not in the snapshot.
    """
    entering = (_day(before, 1), q.next_day)
    leaving_365 = (_day(before, -364), q.start_365)
    leaving_window = ("", "")  # no window: the tier counts all time, nothing leaves it
    if q.window_start is not None:
        width = (date.fromisoformat(q.as_of) - date.fromisoformat(q.window_start)).days
        leaving_window = (_day(before, -width), q.window_start)
    for low, high in {entering, leaving_365, leaving_window}:
        _note(conn, "SELECT member_id FROM members WHERE last_order_at >= ? AND last_order_at < ?", (low, high))
    _note(conn, "SELECT member_id FROM orders WHERE paid_at >= ? AND paid_at < ?", entering)
    _note(conn, "SELECT member_id FROM members WHERE joined_at >= ? AND joined_at < ?", entering)
    _note(conn, "SELECT member_id FROM activity WHERE date >= ? AND date < ?", entering)

    stored = f"{schema}.member_metrics"
    ranges = {"low_365": leaving_365[0], "high_365": leaving_365[1],
              "low_window": leaving_window[0], "high_window": leaving_window[1]}
    # The members by the date index, then their orders in the ranges by the member index, which
    # holds the amounts (the date index would need a read of every order's row).
    conn.execute("DROP TABLE IF EXISTS temp._mm_left_members")
    conn.execute(
        """CREATE TABLE temp._mm_left_members AS
           SELECT member_id FROM orders WHERE paid_at >= :low_365 AND paid_at < :high_365
           UNION SELECT member_id FROM orders WHERE paid_at >= :low_window AND paid_at < :high_window""",
        ranges,
    )
    in_365 = "o.counted = 1 AND o.paid_at >= :low_365 AND o.paid_at < :high_365"
    in_window = "o.counted = 1 AND o.paid_at >= :low_window AND o.paid_at < :high_window"
    conn.execute(f"DROP TABLE IF EXISTS {_LEFT_ORDERS}")
    conn.execute(
        f"""CREATE TABLE {_LEFT_ORDERS} AS
            SELECT o.member_id,
                   SUM({in_365}) AS orders_365,
                   SUM(CASE WHEN {in_365} THEN o.amount_fen ELSE 0 END) AS spend_365,
                   SUM(CASE WHEN {in_window} THEN o.amount_fen ELSE 0 END) AS spend_window
            FROM temp._mm_left_members x CROSS JOIN orders o ON o.member_id = x.member_id
            WHERE (o.paid_at >= :low_365 AND o.paid_at < :high_365)
               OR (o.paid_at >= :low_window AND o.paid_at < :high_window)
            GROUP BY o.member_id""",
        ranges,
    )
    conn.execute(f"DROP TABLE IF EXISTS {_LEFT_ACTIVITY}")
    conn.execute(
        f"""CREATE TABLE {_LEFT_ACTIVITY} AS
            SELECT member_id, COALESCE(SUM(messages), 0) AS messages, COALESCE(SUM(images), 0) AS images
            FROM activity WHERE date >= ? AND date < ? GROUP BY member_id""",
        (_day(before, -29), q.start_30),
    )
    for left, only_orders in ((_LEFT_ORDERS, True), (_LEFT_ACTIVITY, False)):
        imported = " OR m.basis <> 'orders'" if only_orders else ""
        _note(conn, f"SELECT x.member_id FROM {left} x LEFT JOIN {stored} m ON m.member_id = x.member_id"
                    f" WHERE m.member_id IS NULL{imported}")
        _note_restamped(conn, f"SELECT member_id FROM {left}")


def _note_restamped(conn: sqlite3.Connection, select: str, params: Any = ()) -> None:
    """The members `select` gives are restamped (unless computed again in full)."""
    conn.execute(f"INSERT OR IGNORE INTO {_RESTAMPED} {select}", params)


def _restamp(conn: sqlite3.Connection, q: sql.MetricsQuery, schema: str) -> None:
    """The bases of the restamped members into `_mm_base`, from their stored rows: the figures
    less what left their windows (`_note_dated`), the day counts of the new date. They are then
    computed again like the others (tier, segment, the dates they were reached), from these."""
    stored = f"{schema}.member_metrics"
    # A base column's value, where it is not the stored column of that name.
    instead = {
        "orders_365": "m.orders_365 - COALESCE(o.orders_365, 0)",
        "spend_365": "m.spend_365 - COALESCE(o.spend_365, 0)",
        "spend_window": "m.spend_window - COALESCE(o.spend_window, 0)",
        "messages_30": "m.messages_30 - COALESCE(a.messages, 0)",
        "images_30": "m.images_30 - COALESCE(a.images, 0)",
    }
    days = {column: sql.day_count_sql(column, q.as_of).replace(date_column, f"m.{date_column}")
            for column, date_column in sql.DAY_COUNTS.items()}
    # The dates the tier and segment were reached stay (`member_rows` uses them while the tier and
    # segment do), except the tier's of a member whose orders left the tier's window: the running
    # sum that reached the threshold may now reach it later.
    instead |= {"kept_tier_since": "CASE WHEN o.member_id IS NULL THEN m.tier_since END",
             "kept_lifecycle": "m.lifecycle", "kept_segment_since": "m.segment_since"}
    columns = [r[1] for r in conn.execute("PRAGMA temp.table_info(_mm_base)")]
    values = ", ".join(instead.get(c) or days.get(c) or f"m.{c}" for c in columns)
    conn.execute(
        f"""INSERT INTO temp._mm_base ({", ".join(columns)})
            SELECT {values}
            FROM {_RESTAMPED} r CROSS JOIN {stored} m ON m.member_id = r.member_id
            LEFT JOIN {_LEFT_ORDERS} o ON o.member_id = r.member_id
            LEFT JOIN {_LEFT_ACTIVITY} a ON a.member_id = r.member_id"""
    )
    # From here on they are among the members computed again.
    _note(conn, f"SELECT member_id FROM {_RESTAMPED}")


# A stored row's recency as of the new date (`:as_of`): the old snapshot's plus the days between.
_STORED_RECENCY = "CAST(julianday(:as_of) - julianday(last_order_date) AS INTEGER)"


def _count_rfm_values(conn: sqlite3.Connection, schema: str, as_of: str, gap: int) -> bool:
    """The counts per value for the new date: the snapshot's (a recency `gap` days more), less the
    changed members' values there, plus their values now. False if the counts do not add up."""
    sql.create_rfm_counts(conn)
    named = {"gap": gap, "as_of": as_of}
    # The stored values of the members computed again in full, read once for the three metrics. A
    # restamped member's values are its stored ones (its recency a `gap` more, like every count's):
    # their -1 and +1 would cancel, so they are left out of both.
    full = f"member_id NOT IN (SELECT member_id FROM {_RESTAMPED})"
    conn.execute("DROP TABLE IF EXISTS temp._mm_stored_rfm")
    conn.execute(
        f"""CREATE TABLE temp._mm_stored_rfm AS
            SELECT {_STORED_RECENCY} AS recency_days, orders_total, spend_total
            FROM {sql.ONLY} x CROSS JOIN {schema}.member_metrics m ON m.member_id = x.member_id
            WHERE x.{full} AND orders_total > 0 AND {_STORED_RECENCY} IS NOT NULL""",
        named,
    )
    for metric, column in _METRICS:
        counts = f"temp._mm_rfm_count_{metric}"
        shift = " + :gap" if metric == "r" else ""
        conn.execute(f"INSERT INTO {counts} (v, c) SELECT v{shift}, c FROM {schema}.rfm_count_{metric}", named)
        conn.execute(
            f"""INSERT INTO {counts} (v, c)
                SELECT v, d FROM (SELECT v, SUM(d) AS d FROM (
                    SELECT {column} AS v, -1 AS d FROM temp._mm_stored_rfm
                    UNION ALL
                    SELECT {column}, 1 FROM _mm_base WHERE {full} AND {sql.RFM_POPULATION}) GROUP BY v)
                WHERE d <> 0
                ON CONFLICT (v) DO UPDATE SET c = c + excluded.c""",
            named,
        )
        conn.execute(f"DELETE FROM {counts} WHERE c = 0")
        if conn.execute(f"SELECT 1 FROM {counts} WHERE c < 0 LIMIT 1").fetchone():
            return False
    return True


def _note_moved_ranks(conn: sqlite3.Connection, q: sql.MetricsQuery, base: Base, schema: str, gap: int) -> bool:
    """The members whose RFM score or class, or KOC rank, the changed members moved."""
    new = conn.execute("SELECT n, r, f, m FROM temp._mm_rfm_stats").fetchone()
    if (base.n == 0) != (new[0] == 0):
        return False  # the population appears or goes: every member's ranks change
    named = {"gap": gap, "as_of": q.as_of}
    stored = f"{schema}.member_metrics"
    for metric, _column in _METRICS:
        shift = " + :gap" if metric == "r" else ""
        changed = (
            f"SELECT o.v{shift} AS v FROM {schema}.rfm_count_{metric} o"
            f" LEFT JOIN temp._mm_rfm_{metric} s ON s.v = o.v{shift} WHERE s.score IS NOT o.score"
        )
        # CROSS JOIN keeps the few changed values outside: the planner would otherwise scan every
        # stored row and look its value up among them (0.2 s at 1M members, for no row at all).
        # The unary + drops the value's INTEGER affinity, which the stored column (no affinity)
        # would take on and so lose its index.
        if metric == "r":  # by the index of last order dates
            on = f"m.last_order_date = {_last_order_on('x.v')}"
            _note_ranked(conn, f"SELECT m.member_id FROM ({changed}) x CROSS JOIN {stored} m ON {on}", named)
        elif metric == "m":  # by the index of spend
            _note_ranked(
                conn, f"SELECT m.member_id FROM ({changed}) x CROSS JOIN {stored} m ON m.spend_total = +x.v", named
            )
        elif conn.execute(f"SELECT 1 FROM ({changed}) LIMIT 1", named).fetchone():  # rare: a scan
            values = f"SELECT v FROM ({changed})"
            _note_ranked(conn, f"SELECT member_id FROM {stored} WHERE orders_total IN ({values})", named)
    if base.n:
        # rfm_class compares with the means: `recency_days < r`, `orders_total > f`, `spend_total > m`;
        # a stored value turns only between the old mean and the new one (recency and spend: with a
        # margin of one each side; read by index).
        assert base.r is not None and base.f is not None and base.m is not None
        low, high = sorted((base.r + gap, float(new[1])))
        dates = f"last_order_date BETWEEN {_last_order_on(':most')} AND {_last_order_on(':least')}"
        _note_ranked(conn, f"SELECT member_id FROM {stored} WHERE {dates}",
              {"as_of": q.as_of, "most": math.ceil(high), "least": math.ceil(low) - 1})
        low, high = sorted((base.m, float(new[3])))
        _note_ranked(conn, f"SELECT member_id FROM {stored} WHERE spend_total BETWEEN ? AND ?",
              (math.floor(low), math.floor(high) + 1))
        low, high = sorted((base.f, float(new[2])))
        if math.floor(low) + 1 <= math.floor(high):  # an order count between the means: a scan
            _note_ranked(conn, f"SELECT member_id FROM {stored} WHERE orders_total BETWEEN ? AND ?",
                  (math.floor(low) + 1, math.floor(high)))
    _note_ranked(
        conn,
        f"SELECT k.member_id FROM temp._mm_koc k JOIN {schema}.member_metrics m ON m.member_id = k.member_id"
        " WHERE m.koc_rank IS NOT k.rank",
    )
    return True


def _last_order_on(recency: str) -> str:
    """The last order date whose recency as of `:as_of` is `recency` (an SQL expression)."""
    return f"date(:as_of, printf('%+d days', -({recency})))"


def _note_lifecycle_days(conn: sqlite3.Connection, q: sql.MetricsQuery, schema: str, gap: int) -> bool:
    """Members whose recency or tenure crossed a day count a lifecycle condition compares with:
    a comparison of whole days with N can turn only for a member whose days are now within
    N .. N + gap."""
    days = ((q.recency_days_compared, "last_order_date"), (q.tenure_days_compared, "first_order_date"))
    for compared, column in days:
        if compared is None:
            return False
        for n in compared:
            _note_restamped(
                conn,
                f"SELECT member_id FROM {schema}.member_metrics WHERE {column} BETWEEN ? AND ?",
                (_day(q.as_of, -(n + gap)), _day(q.as_of, -n)),
            )
    return True
