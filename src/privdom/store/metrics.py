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


_ORDER_AGG = """
CREATE TEMP TABLE _mm_orders AS
SELECT member_id,
       COUNT(*) AS rows_any,
       SUM(ok) AS orders_total,
       SUM(CASE WHEN ok = 1 THEN amount_fen ELSE 0 END) AS spend_total,
       COUNT(DISTINCT CASE WHEN ok = 1 THEN substr(paid_at, 1, 10) END) AS purchase_days,
       MIN(CASE WHEN ok = 1 THEN substr(paid_at, 1, 10) END) AS first_order_date,
       MAX(CASE WHEN ok = 1 THEN substr(paid_at, 1, 10) END) AS last_order_date,
       SUM(CASE WHEN ok = 1 AND paid_at >= :start_365 THEN 1 ELSE 0 END) AS orders_365,
       SUM(CASE WHEN ok = 1 AND paid_at >= :start_365 THEN amount_fen ELSE 0 END) AS spend_365,
       SUM(CASE WHEN ok = 1 AND paid_at >= :window_start THEN amount_fen ELSE 0 END) AS spend_window
FROM (SELECT member_id, paid_at, amount_fen,
             (counted = 1 AND paid_at IS NOT NULL AND paid_at < :next_day) AS ok
      FROM orders)
GROUP BY member_id
"""

_ACTIVITY_AGG = """
CREATE TEMP TABLE _mm_activity AS
SELECT member_id, SUM(messages) AS messages_30, SUM(images) AS images_30
FROM activity
WHERE date >= :start_30 AND date <= :as_of
GROUP BY member_id
"""

# Members with order rows are measured from their orders; members with none fall back to the
# imported aggregates (basis 'imported'), deriving only what a total can tell.
_BASE = """
CREATE TEMP TABLE _mm_base AS
SELECT m.member_id, m.name, m.nickname, m.phone, m.phone_display, m.owner, m.store, m.region,
       COALESCE(m.tags, '[]') AS tags, m.birthday, m.birthday_md,
       substr(m.joined_at, 1, 10) AS joined_date,
       m.points,
       COALESCE(a.messages_30, 0) AS messages_30,
       COALESCE(a.images_30, 0) AS images_30,
       CASE WHEN o.rows_any > 0 THEN 'orders' WHEN imp.ok THEN 'imported' ELSE 'none' END AS basis,
       CASE WHEN o.rows_any > 0 THEN o.orders_total WHEN imp.ok THEN imp.n ELSE 0 END AS orders_total,
       CASE WHEN o.rows_any > 0 THEN o.purchase_days WHEN imp.ok AND imp.n = 1 THEN 1
            WHEN imp.ok THEN NULL ELSE 0 END AS purchase_days,
       CASE WHEN o.rows_any > 0 THEN o.spend_total WHEN imp.ok THEN imp.spend ELSE 0 END AS spend_total,
       CASE WHEN o.rows_any > 0 THEN o.first_order_date WHEN imp.ok AND imp.n = 1 THEN imp.last
            END AS first_order_date,
       CASE WHEN o.rows_any > 0 THEN o.last_order_date WHEN imp.ok THEN imp.last END AS last_order_date,
       CASE WHEN o.rows_any > 0 THEN o.orders_365
            WHEN imp.ok AND imp.last < :start_365 THEN 0
            WHEN imp.ok AND imp.n = 1 AND imp.last IS NOT NULL THEN 1
            WHEN imp.ok THEN NULL ELSE 0 END AS orders_365,
       CASE WHEN o.rows_any > 0 THEN o.spend_365
            WHEN imp.ok AND imp.last < :start_365 THEN 0
            WHEN imp.ok AND imp.n = 1 AND imp.last IS NOT NULL THEN imp.spend
            WHEN imp.ok THEN NULL ELSE 0 END AS spend_365,
       CASE WHEN o.rows_any > 0 THEN o.spend_window WHEN imp.ok THEN imp.spend ELSE 0 END AS spend_window,
       CASE WHEN o.rows_any > 0 THEN o.spend_total * :gpy / 100
            WHEN imp.ok THEN COALESCE(m.growth, imp.spend * :gpy / 100) ELSE 0 END AS growth
FROM members m
LEFT JOIN _mm_orders o ON o.member_id = m.member_id
LEFT JOIN _mm_activity a ON a.member_id = m.member_id
JOIN (SELECT member_id,
             MAX(COALESCE(order_count, 0), CASE WHEN total_spent_fen > 0 THEN 1 ELSE 0 END) AS n,
             COALESCE(total_spent_fen, 0) AS spend,
             substr(last_order_at, 1, 10) AS last,
             (COALESCE(order_count, 0) > 0 OR COALESCE(total_spent_fen, 0) > 0)
               AND (last_order_at IS NULL OR substr(last_order_at, 1, 10) <= :as_of) AS ok
      FROM members) imp ON imp.member_id = m.member_id
WHERE m.joined_at IS NULL OR m.joined_at = '' OR substr(m.joined_at, 1, 10) <= :as_of
"""

_COLUMNS = """member_id, name, nickname, phone, phone_display, owner, store, region, tags, birthday,
    birthday_md, joined_date, orders_total, purchase_days, spend_total, first_order_date,
    last_order_date, recency_days, tenure_days, orders_365, spend_365, growth, points, messages_30,
    images_30, tier, tier_since, lifecycle, segment_since, rfm_r, rfm_f, rfm_m, rfm_class, koc,
    koc_rank, basis, tier_metric, tier_threshold"""

METRIC_COLUMNS = [c.strip() for c in _COLUMNS.split(",")]


def _tier_metric_sql(q: MetricsQuery) -> str:
    windowed = q.window_start is not None or q.tier_metric == "spend_365"
    spend = "spend_window" if windowed else "spend_total"
    if q.tier_metric == "growth":
        if not windowed:
            return "growth"
        return "CASE WHEN basis = 'orders' THEN spend_window * :gpy / 100 ELSE growth END"
    return f"COALESCE({spend}, 0)"


def _tier_case(levels: Sequence[TierLevel], value: str, params: list[Any], what: str) -> str:
    if not levels:
        return "NULL"
    parts = []
    for level in sorted(levels, key=lambda lv: lv.threshold, reverse=True):
        params.append(level.threshold)
        params.append(level.id if what == "id" else level.threshold)
        parts.append(f"WHEN {value} >= ? THEN ?")
    return "CASE " + " ".join(parts) + " END"


def materialize(conn: sqlite3.Connection, q: MetricsQuery) -> None:
    named = {
        "as_of": q.as_of,
        "next_day": q.next_day,
        "start_365": q.start_365,
        "start_30": q.start_30,
        "window_start": q.window_start or ("0000-00-00" if q.tier_metric != "spend_365" else q.start_365),
        "gpy": q.growth_per_yuan,
    }
    for table in ("member_metrics", "_mm_orders", "_mm_activity", "_mm_base", "_mm_seq"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(_ORDER_AGG, named)
    conn.execute(_ACTIVITY_AGG, named)
    conn.execute(_BASE, named)

    # Positional parameters from here on (compiled conditions bring their own), listed in the
    # order their placeholders appear in the statement text.
    metric = _tier_metric_sql(q).replace(":gpy", str(int(q.growth_per_yuan)))
    tier_params: list[Any] = []
    tier = _tier_case(q.levels, "tier_metric", tier_params, "id")
    threshold = _tier_case(q.levels, "tier_metric", tier_params, "threshold")
    whens = []
    life_params: list[Any] = []
    for seg in q.segments:
        if seg.sql is None:
            whens.append("ELSE ?")
            life_params.append(seg.id)
            break
        whens.append(f"WHEN ({seg.sql}) THEN ?")
        life_params.extend(seg.params)
        life_params.append(seg.id)
    lifecycle = ("CASE " + " ".join(whens) + " END") if whens else "NULL"
    params: list[Any] = [q.koc_min_orders, q.koc_min_messages, q.koc_min_images]
    params += life_params + tier_params + [q.as_of, q.as_of]
    conn.execute(
        f"""
        CREATE TEMP TABLE member_metrics AS
        SELECT l.*, NULL AS tier_since, NULL AS segment_since, NULL AS rfm_r, NULL AS rfm_f,
               NULL AS rfm_m, NULL AS rfm_class,
               CASE WHEN l.orders_total >= ? AND (l.messages_30 >= ? OR l.images_30 >= ?)
                    THEN 1 ELSE 0 END AS koc,
               NULL AS koc_rank
        FROM (SELECT c.*, {lifecycle} AS lifecycle
              FROM (SELECT t.*, {tier} AS tier, {threshold} AS tier_threshold
                    FROM (SELECT d.*, {metric} AS tier_metric
                          FROM (SELECT b.*,
                                  CAST(julianday(?) - julianday(last_order_date) AS INTEGER) AS recency_days,
                                  CAST(julianday(?) - julianday(first_order_date) AS INTEGER) AS tenure_days
                                FROM _mm_base b) d) t) c) l
        """,
        params,
    )
    conn.execute("CREATE INDEX temp.member_metrics_id ON member_metrics(member_id)")
    conn.execute(
        """UPDATE member_metrics SET koc_rank = r.rank
           FROM (SELECT member_id,
                        ROW_NUMBER() OVER (ORDER BY messages_30 + images_30 DESC, member_id) AS rank
                 FROM member_metrics WHERE koc = 1) r
           WHERE r.member_id = member_metrics.member_id"""
    )
    n = q.rfm_scores
    conn.execute(
        """
        UPDATE member_metrics SET
            rfm_r = 1 + (p.r_rank - 1) * :n / p.n,
            rfm_f = 1 + (p.f_rank - 1) * :n / p.n,
            rfm_m = 1 + (p.m_rank - 1) * :n / p.n,
            rfm_class = CASE WHEN p.m_high THEN 'important_' ELSE 'general_' END
                || CASE WHEN p.r_high AND p.f_high THEN 'value' WHEN p.r_high THEN 'development'
                        WHEN p.f_high THEN 'retain' ELSE 'winback' END
        FROM (SELECT member_id,
                     RANK() OVER (ORDER BY recency_days DESC) AS r_rank,
                     RANK() OVER (ORDER BY orders_total) AS f_rank,
                     RANK() OVER (ORDER BY spend_total) AS m_rank,
                     COUNT(*) OVER () AS n,
                     recency_days < AVG(recency_days) OVER () AS r_high,
                     orders_total > AVG(orders_total) OVER () AS f_high,
                     spend_total > AVG(spend_total) OVER () AS m_high
              FROM member_metrics WHERE orders_total > 0 AND recency_days IS NOT NULL) p
        WHERE p.member_id = member_metrics.member_id
        """,
        {"n": n},
    )
    _tier_since(conn, q, named)
    _segment_since(conn, q, named)
    for table in ("_mm_orders", "_mm_activity", "_mm_base"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _tier_since(conn: sqlite3.Connection, q: MetricsQuery, named: dict[str, Any]) -> None:
    """The date the running total (inside the tier window) first reached the current tier's threshold."""
    base = min((lv.threshold for lv in q.levels), default=0)
    value = "run * :gpy / 100" if q.tier_metric == "growth" else "run"
    conn.execute(
        f"""
        UPDATE member_metrics SET tier_since = x.d
        FROM (SELECT s.member_id, MIN(s.d) AS d
              FROM (SELECT o.member_id, substr(o.paid_at, 1, 10) AS d,
                           SUM(o.amount_fen) OVER (PARTITION BY o.member_id ORDER BY o.paid_at
                                                   ROWS UNBOUNDED PRECEDING) AS run
                    FROM orders o
                    WHERE o.counted = 1 AND o.paid_at >= :window_start AND o.paid_at < :next_day
                      AND o.member_id IN (SELECT member_id FROM member_metrics
                                          WHERE basis = 'orders' AND tier_threshold > :base)) s
              JOIN member_metrics mm ON mm.member_id = s.member_id
              WHERE {value} >= mm.tier_threshold
              GROUP BY s.member_id) x
        WHERE x.member_id = member_metrics.member_id
        """,
        {**named, "base": base},
    )


def _segment_since(conn: sqlite3.Connection, q: MetricsQuery, named: dict[str, Any]) -> None:
    nths = sorted({s.since[1] for s in q.segments if s.since and s.since[0] == "nth" and s.since[1] >= 2})
    cases: list[str] = []
    params: dict[str, Any] = {}
    for i, seg in enumerate(q.segments):
        if seg.since is None:
            continue
        kind, n = seg.since
        params[f"seg{i}"] = seg.id
        if kind == "recency":
            cases.append(f"WHEN :seg{i} THEN date(last_order_date, '+{int(n)} days')")
        elif n == 0:
            cases.append(f"WHEN :seg{i} THEN joined_date")
        elif n == 1:
            cases.append(f"WHEN :seg{i} THEN first_order_date")
        else:
            cases.append(
                f"WHEN :seg{i} THEN (SELECT d FROM temp._mm_nth x"
                f" WHERE x.member_id = member_metrics.member_id AND x.n = {int(n)})"
            )
    if not cases:
        return
    conn.execute("DROP TABLE IF EXISTS temp._mm_nth")
    if nths:
        placeholders = ",".join(str(int(n)) for n in nths)
        conn.execute(
            f"""
            CREATE TEMP TABLE _mm_nth AS
            SELECT member_id, n, d FROM (
                SELECT o.member_id, substr(o.paid_at, 1, 10) AS d,
                       ROW_NUMBER() OVER (PARTITION BY o.member_id ORDER BY o.paid_at) AS n
                FROM orders o
                WHERE o.counted = 1 AND o.paid_at < :next_day
                  AND o.member_id IN (SELECT member_id FROM member_metrics WHERE orders_total >= {min(nths)}
                                      AND basis = 'orders'))
            WHERE n IN ({placeholders})
            """,
            named,
        )
        conn.execute("CREATE INDEX temp._mm_nth_id ON _mm_nth(member_id, n)")
    else:
        conn.execute("CREATE TEMP TABLE _mm_nth (member_id TEXT, n INTEGER, d TEXT)")
    conn.execute(f"UPDATE member_metrics SET segment_since = CASE lifecycle {' '.join(cases)} END", params)
    conn.execute("DROP TABLE temp._mm_nth")


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
