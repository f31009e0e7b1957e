"""SQL for member metrics: the TEMP table `member_metrics` and the queries that read it.

Everything is set-based: one GROUP BY pass over `orders` (covered by the index
orders(member_id, paid_at, amount_fen, counted)), one over the 30-day slice of `activity`, and
window functions for quintiles and for the few per-order dates (tier crossing, n-th order).
Dates are bound as `YYYY-MM-DD` text; local times compare as text, so `paid_at < :next_day`
means "local date <= as_of".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TierLevel:
    id: str
    threshold: int  # in the tier metric's units: growth points, or fen for spend metrics


@dataclass(frozen=True)
class SegmentSql:
    id: str
    sql: str | None  # None: "otherwise"
    params: tuple[Any, ...]
    # How the date the segment was entered derives: ("recency", days after the last order),
    # ("nth", n-th order date; 0 = joined date), or None when it cannot be derived.
    since: tuple[str, int] | None


@dataclass(frozen=True)
class MetricsQuery:
    as_of: str
    next_day: str  # as_of + 1
    start_365: str  # as_of - 364
    start_30: str  # as_of - 29
    window_start: str | None  # first day of the tier metric's window; None = all time
    growth_per_yuan: int
    tier_metric: str  # growth | spend_total | spend_365
    levels: Sequence[TierLevel]  # ascending thresholds
    segments: Sequence[SegmentSql]
    rfm_scores: int
    koc_min_orders: int
    koc_min_messages: int
    koc_min_images: int
    ranks: bool = True  # False skips RFM scores/classes and KOC ranks (left NULL) for a faster table


# One window pass over the counted orders up to as_of (already in (member_id, paid_at) order in the
# index), grouped per member: totals, distinct order days (a day counts when it differs from the
# previous order's), and the per-order dates the planner needs: the date the running tier metric
# first reached each level ({crossings}) and the n-th order dates ({nths}).
_ORDER_AGG = """
CREATE TEMP TABLE _mm_orders AS
SELECT member_id,
       COUNT(*) AS orders_total,
       SUM(amount_fen) AS spend_total,
       SUM(d IS NOT prev_d) AS purchase_days,
       MIN(d) AS first_order_date,
       MAX(d) AS last_order_date,
       SUM(d >= :start_365) AS orders_365,
       SUM(CASE WHEN d >= :start_365 THEN amount_fen ELSE 0 END) AS spend_365,
       SUM(CASE WHEN d >= :window_start THEN amount_fen ELSE 0 END) AS spend_window
       {crossings}{nths}
FROM (SELECT member_id, amount_fen, substr(paid_at, 1, 10) AS d,
             LAG(substr(paid_at, 1, 10)) OVER w AS prev_d,
             ROW_NUMBER() OVER w AS rn,
             SUM(CASE WHEN paid_at >= :window_start THEN amount_fen ELSE 0 END) OVER w AS run
      FROM orders
      WHERE counted = 1 AND paid_at IS NOT NULL AND paid_at < :next_day
      WINDOW w AS (PARTITION BY member_id ORDER BY paid_at ROWS UNBOUNDED PRECEDING))
GROUP BY member_id
"""

_ACTIVITY_AGG = """
CREATE TEMP TABLE _mm_activity AS
SELECT member_id, SUM(messages) AS messages_30, SUM(images) AS images_30
FROM activity
WHERE date >= :start_30 AND date <= :as_of
GROUP BY member_id
"""

# Members with order rows are measured from their orders ('orders'; rows that do not count yet
# give zeros); members with none fall back to the imported aggregates ('imported'), deriving only
# what a total can tell.
_BASE = """
CREATE TEMP TABLE _mm_base AS
SELECT m.member_id, m.name, m.nickname, m.phone, m.phone_display, m.owner, m.store, m.region,
       COALESCE(m.tags, '[]') AS tags, m.birthday, m.birthday_md, m.joined_date, m.points,
       COALESCE(a.messages_30, 0) AS messages_30,
       COALESCE(a.images_30, 0) AS images_30,
       m.basis,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.orders_total, 0) WHEN 'imported' THEN m.imp_n
            ELSE 0 END AS orders_total,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.purchase_days, 0)
            WHEN 'imported' THEN CASE WHEN m.imp_n = 1 THEN 1 END ELSE 0 END AS purchase_days,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.spend_total, 0) WHEN 'imported' THEN m.imp_spend
            ELSE 0 END AS spend_total,
       CASE m.basis WHEN 'orders' THEN o.first_order_date
            WHEN 'imported' THEN CASE WHEN m.imp_n = 1 THEN m.imp_last END END AS first_order_date,
       CASE m.basis WHEN 'orders' THEN o.last_order_date WHEN 'imported' THEN m.imp_last
            END AS last_order_date,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.orders_365, 0)
            WHEN 'imported' THEN CASE WHEN m.imp_last < :start_365 THEN 0
                                      WHEN m.imp_n = 1 AND m.imp_last IS NOT NULL THEN 1 END
            ELSE 0 END AS orders_365,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.spend_365, 0)
            WHEN 'imported' THEN CASE WHEN m.imp_last < :start_365 THEN 0
                                      WHEN m.imp_n = 1 AND m.imp_last IS NOT NULL THEN m.imp_spend END
            ELSE 0 END AS spend_365,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.spend_window, 0) WHEN 'imported' THEN m.imp_spend
            ELSE 0 END AS spend_window,
       CASE m.basis WHEN 'orders' THEN COALESCE(o.spend_total, 0) * :gpy / 100
            WHEN 'imported' THEN COALESCE(m.imp_growth, m.imp_spend * :gpy / 100) ELSE 0 END AS growth
       {carried}
FROM (SELECT mb.*, NULLIF(substr(joined_at, 1, 10), '') AS joined_date,
             CASE WHEN EXISTS (SELECT 1 FROM _mm_orders x WHERE x.member_id = mb.member_id)
                    OR EXISTS (SELECT 1 FROM orders x WHERE x.member_id = mb.member_id) THEN 'orders'
                  WHEN (COALESCE(order_count, 0) > 0 OR COALESCE(total_spent_fen, 0) > 0)
                       AND (last_order_at IS NULL OR substr(last_order_at, 1, 10) <= :as_of)
                  THEN 'imported' ELSE 'none' END AS basis,
             MAX(COALESCE(order_count, 0), CASE WHEN total_spent_fen > 0 THEN 1 ELSE 0 END) AS imp_n,
             COALESCE(total_spent_fen, 0) AS imp_spend,
             substr(last_order_at, 1, 10) AS imp_last,
             growth AS imp_growth
      FROM members mb
      WHERE joined_at IS NULL OR joined_at = '' OR substr(joined_at, 1, 10) <= :as_of) m
LEFT JOIN _mm_orders o ON o.member_id = m.member_id
LEFT JOIN _mm_activity a ON a.member_id = m.member_id
"""

_COLUMNS = """member_id, name, nickname, phone, phone_display, owner, store, region, tags, birthday,
    birthday_md, joined_date, orders_total, purchase_days, spend_total, first_order_date,
    last_order_date, recency_days, tenure_days, orders_365, spend_365, growth, points, messages_30,
    images_30, tier, tier_since, lifecycle, segment_since, rfm_r, rfm_f, rfm_m, rfm_class, koc,
    koc_rank, basis, tier_metric, tier_threshold"""

METRIC_COLUMNS = [c.strip() for c in _COLUMNS.split(",")]
_TEMP_TABLES = ("member_metrics", "_mm_orders", "_mm_activity", "_mm_base", "_mm_rfm", "_mm_pop")


def _tier_metric_sql(q: MetricsQuery, value: str = "") -> str:
    """The tier metric over member columns, or (value given) over a running spend in fen."""
    windowed = q.window_start is not None or q.tier_metric == "spend_365"
    gpy = int(q.growth_per_yuan)
    if value:
        return f"{value} * {gpy} / 100" if q.tier_metric == "growth" else value
    if q.tier_metric == "growth":
        if not windowed:
            return "growth"
        return f"CASE WHEN basis = 'orders' THEN spend_window * {gpy} / 100 ELSE growth END"
    return "COALESCE(spend_window, 0)" if windowed else "spend_total"


def _case(pairs: Sequence[tuple[str, str]], params: list[Any], values: Sequence[Any]) -> str:
    """CASE WHEN <cond_i> THEN ? ... END, binding values[i]; conditions carry no parameters."""
    if not pairs:
        return "NULL"
    parts = []
    for (cond, then), value in zip(pairs, values, strict=True):
        parts.append(f"WHEN {cond} THEN {then}")
        if value is not None:
            params.append(value)
    return "CASE " + " ".join(parts) + " END"


def materialize(conn: sqlite3.Connection, q: MetricsQuery) -> None:
    levels = sorted(q.levels, key=lambda lv: lv.threshold)
    nths = sorted({s.since[1] for s in q.segments if s.since and s.since[0] == "nth" and s.since[1] >= 2})
    named = {
        "as_of": q.as_of,
        "next_day": q.next_day,
        "start_365": q.start_365,
        "start_30": q.start_30,
        "window_start": q.window_start or "0000-00-00",
        "gpy": int(q.growth_per_yuan),
    }
    # Level thresholds and n are ints from the validated playbook, so they can be SQL literals.
    run = _tier_metric_sql(q, "run")
    crossings = "".join(
        f", MIN(CASE WHEN {run} >= {int(lv.threshold)} THEN d END) AS cross_{i}"
        for i, lv in enumerate(levels)
    )
    nth_cols = "".join(f", MAX(CASE WHEN rn = {int(n)} THEN d END) AS nth_{int(n)}" for n in nths)
    carried = "".join(f", o.cross_{i}" for i in range(len(levels)))
    carried += "".join(f", o.nth_{int(n)}" for n in nths)

    for table in _TEMP_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(_ORDER_AGG.format(crossings=crossings, nths=nth_cols), named)
    conn.execute("CREATE INDEX temp._mm_orders_id ON _mm_orders(member_id)")
    conn.execute(_ACTIVITY_AGG, named)
    conn.execute("CREATE INDEX temp._mm_activity_id ON _mm_activity(member_id)")
    conn.execute(_BASE.format(carried=carried), named)

    # Positional parameters from here on (compiled conditions bring their own), appended in the
    # order their placeholders appear in the statement text.
    params: list[Any] = []
    base = levels[0].threshold if levels else 0
    explained = f"tier = ? AND basis = 'orders' AND tier_threshold > {int(base)}"
    tier_since = _case(
        [(explained, f"cross_{i}") for i in range(len(levels))], params, [lv.id for lv in levels]
    )
    since_pairs: list[tuple[str, str]] = []
    since_values: list[Any] = []
    for seg in q.segments:
        if seg.since is None:
            continue
        kind, n = seg.since
        if kind == "recency":
            then = f"date(last_order_date, '+{int(n)} days')"
        else:
            then = {0: "joined_date", 1: "first_order_date"}.get(n, f"nth_{int(n)}")
        since_pairs.append(("lifecycle = ?", then))
        since_values.append(seg.id)
    segment_since = _case(since_pairs, params, since_values)
    whens: list[tuple[str, str]] = []
    for seg in q.segments:
        if seg.sql is None:
            whens.append(("1", "?"))
            params.append(seg.id)
            break
        whens.append((f"({seg.sql})", "?"))
        params.extend(seg.params)
        params.append(seg.id)
    lifecycle = _case(whens, [], [None] * len(whens))
    tier = _case([("tier_metric >= ?", "?")] * len(levels), [], [None] * len(levels))
    threshold = tier
    for lv in reversed(levels):
        params += [lv.threshold, lv.id]
    for lv in reversed(levels):
        params += [lv.threshold, lv.threshold]
    params += [q.as_of, q.as_of, q.koc_min_orders, q.koc_min_messages, q.koc_min_images]
    columns = ", ".join(c for c in METRIC_COLUMNS if c not in ("tier_since", "segment_since"))
    conn.execute(
        f"""
        CREATE TEMP TABLE member_metrics AS
        SELECT {columns.replace("koc_rank", "NULL AS koc_rank")},
               {tier_since} AS tier_since, {segment_since} AS segment_since
        FROM (SELECT c.*, {lifecycle} AS lifecycle
              FROM (SELECT t.*, {tier} AS tier, {threshold} AS tier_threshold
                    FROM (SELECT d.*, {_tier_metric_sql(q)} AS tier_metric
                          FROM (SELECT b.*, NULL AS rfm_r, NULL AS rfm_f, NULL AS rfm_m, NULL AS rfm_class,
                                  CAST(julianday(?) - julianday(last_order_date) AS INTEGER) AS recency_days,
                                  CAST(julianday(?) - julianday(first_order_date) AS INTEGER) AS tenure_days,
                                  CASE WHEN orders_total >= ? AND (messages_30 >= ? OR images_30 >= ?)
                                       THEN 1 ELSE 0 END AS koc
                                FROM _mm_base b) d) t) c) l
        """,
        params,
    )
    conn.execute("CREATE INDEX temp.member_metrics_id ON member_metrics(member_id)")
    if q.ranks:
        _rfm(conn, q.rfm_scores)
        _koc_rank(conn)
    for table in _TEMP_TABLES[1:]:
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _koc_rank(conn: sqlite3.Connection) -> None:
    conn.execute(
        """UPDATE member_metrics SET koc_rank = r.rank
           FROM (SELECT member_id,
                        ROW_NUMBER() OVER (ORDER BY messages_30 + images_30 DESC, member_id) AS rank
                 FROM member_metrics WHERE koc = 1) r
           WHERE r.member_id = member_metrics.member_id"""
    )


def _rfm(conn: sqlite3.Connection, scores: int) -> None:
    """Scores by rank with ties kept together; classes by the population means (SPEC §4)."""
    conn.execute(
        "CREATE TEMP TABLE _mm_rfm (member_id TEXT PRIMARY KEY, r INT, f INT, m INT, cls TEXT) WITHOUT ROWID"
    )
    # A narrow copy first: each ranking sorts only these four columns, not the whole member row.
    conn.execute(
        """CREATE TEMP TABLE _mm_pop AS SELECT member_id, recency_days, orders_total, spend_total
           FROM member_metrics WHERE orders_total > 0 AND recency_days IS NOT NULL"""
    )
    conn.execute(
        """
        INSERT INTO _mm_rfm
        SELECT member_id,
               1 + (RANK() OVER (ORDER BY recency_days DESC) - 1) * :n / s.n,
               1 + (RANK() OVER (ORDER BY orders_total) - 1) * :n / s.n,
               1 + (RANK() OVER (ORDER BY spend_total) - 1) * :n / s.n,
               CASE WHEN spend_total > s.m THEN 'important_' ELSE 'general_' END
                 || CASE WHEN recency_days < s.r AND orders_total > s.f THEN 'value'
                         WHEN recency_days < s.r THEN 'development'
                         WHEN orders_total > s.f THEN 'retain' ELSE 'winback' END
        FROM _mm_pop,
             (SELECT COUNT(*) AS n, AVG(recency_days) AS r, AVG(orders_total) AS f, AVG(spend_total) AS m
              FROM _mm_pop) s
        """,
        {"n": scores},
    )
    conn.execute(
        """UPDATE member_metrics SET rfm_r = x.r, rfm_f = x.f, rfm_m = x.m, rfm_class = x.cls
           FROM _mm_rfm x WHERE x.member_id = member_metrics.member_id"""
    )


def nth_order_dates(conn: sqlite3.Connection, n: int, next_day: str) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT member_id, d FROM (
            SELECT member_id, substr(paid_at, 1, 10) AS d,
                   ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY paid_at) AS n
            FROM orders WHERE counted = 1 AND paid_at < ?)
        WHERE n = ?
        """,
        (next_day, n),
    )
    return {str(r[0]): str(r[1]) for r in rows}


# ---------------------------------------------------------------- reading member_metrics

MEMBER_FILTERS = {"tier": "tier = ?", "lifecycle": "lifecycle = ?", "rfm_class": "rfm_class = ?",
                  "owner": "owner = ?", "tag": "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)"}


def select_members(
    conn: sqlite3.Connection, filters: dict[str, str], limit: int | None, columns: Sequence[str]
) -> sqlite3.Cursor:
    """A cursor over member_metrics rows (read it row by row: it may be a million members)."""
    unknown = [c for c in columns if c not in METRIC_COLUMNS]
    assert not unknown, unknown  # column names come from code, never from the user
    where = [MEMBER_FILTERS[key] for key in filters]
    sql = f"SELECT {', '.join(columns)} FROM member_metrics"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY spend_total DESC, member_id"
    params: list[Any] = list(filters.values())
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params)


def member_row(conn: sqlite3.Connection, member_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM member_metrics WHERE member_id = ?", (member_id,)
    ).fetchone()
    return row


def member_exists(conn: sqlite3.Connection, member_id: str) -> bool:
    return conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone() is not None


def member_groups(conn: sqlite3.Connection, member_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT g.group_id, g.name, g.type, g.owner, gm.joined_at, gm.left_at
           FROM group_members gm LEFT JOIN groups g ON g.group_id = gm.group_id
           WHERE gm.member_id = ? ORDER BY gm.left_at IS NOT NULL, gm.joined_at, gm.group_id""",
        (member_id,),
    ).fetchall()


def rfm_means(conn: sqlite3.Connection) -> sqlite3.Row:
    row: sqlite3.Row = conn.execute(
        """SELECT COUNT(*) AS n, AVG(recency_days) AS recency_days, AVG(orders_total) AS orders_total,
                  AVG(spend_total) AS spend_total
           FROM member_metrics WHERE orders_total > 0 AND recency_days IS NOT NULL"""
    ).fetchone()
    return row


def distribution(conn: sqlite3.Connection, column: str) -> dict[str | None, tuple[int, int]]:
    """value -> (members, spend fen) over one class column of member_metrics."""
    assert column in ("tier", "lifecycle", "rfm_class"), column
    rows = conn.execute(
        f"SELECT {column}, COUNT(*), COALESCE(SUM(spend_total), 0) FROM member_metrics GROUP BY 1"
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def tier_distribution(
    conn: sqlite3.Connection, levels: Sequence[TierLevel]
) -> dict[str | None, tuple[int, int]]:
    """Like distribution('tier') but with other thresholds applied to the same tier metric (what-if)."""
    params: list[Any] = []
    whens = []
    for level in sorted(levels, key=lambda lv: lv.threshold, reverse=True):
        whens.append("WHEN tier_metric >= ? THEN ?")
        params += [level.threshold, level.id]
    case = "CASE " + " ".join(whens) + " END" if whens else "NULL"
    rows = conn.execute(
        f"SELECT {case}, COUNT(*), COALESCE(SUM(spend_total), 0) FROM member_metrics GROUP BY 1", params
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def top_share(conn: sqlite3.Connection, fraction: float) -> tuple[int, int, int]:
    """(members in the top `fraction` by spend, their spend, all spend), for the 80/20 line."""
    total_members, total_spend = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(spend_total), 0) FROM member_metrics"
    ).fetchone()
    top = int(total_members * fraction + 0.5)
    spend = conn.execute(
        "SELECT COALESCE(SUM(spend_total), 0) FROM (SELECT spend_total FROM member_metrics"
        " ORDER BY spend_total DESC LIMIT ?)",
        (top,),
    ).fetchone()[0]
    return top, int(spend), int(total_spend)
