"""SQL for member metrics: the `member_metrics` table and the queries that read it.

`build` computes it (into a TEMP table, or into a cached snapshot: see `metrics_cache`).
Everything is set-based: one GROUP BY pass over `orders` (covered by the index
orders(member_id, paid_at, amount_fen, counted), so no sort), one over the 30-day slice of
`activity`, RFM scores from per-value counts, and per-member index lookups for the few per-order
dates (the tier crossing, the n-th order), only for the members whose tier or segment needs them.
Dates are bound as `YYYY-MM-DD` text; local times compare as text, so `paid_at < :next_day`
means "local date <= as_of".
"""

from __future__ import annotations

import re
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
    tier_metric: str  # growth | imported_growth | max_growth | spend_total | spend_365
    levels: Sequence[TierLevel]  # ascending thresholds
    segments: Sequence[SegmentSql]
    rfm_scores: int
    koc_min_orders: int
    koc_min_messages: int
    koc_min_images: int
    ranks: bool = True  # False skips RFM scores/classes and KOC ranks (left NULL) for a faster table
    # The day counts lifecycle conditions compare recency_days / tenure_days with: a member whose
    # data did not change can change segment on a new date only by crossing one (metrics_patch).
    # None: a condition whose day counts could not be listed.
    recency_days_compared: tuple[int, ...] | None = ()
    tenure_days_compared: tuple[int, ...] | None = ()


# One GROUP BY pass over the counted orders up to the date, read in member order from the covering
# index orders(member_id, paid_at, amount_fen, counted), so nothing is sorted and no window is kept.
# Times compare as text: `paid_at >= :start_365` is "local date >= start_365", and the local date is
# cut from the aggregate (once per member), not from every order.
_ORDER_AGG = """
CREATE TEMP TABLE _mm_orders AS
SELECT member_id,
       COUNT(*) AS orders_total,
       SUM(amount_fen) AS spend_total,
       COUNT(DISTINCT substr(paid_at, 1, 10)) AS purchase_days,
       substr(MIN(paid_at), 1, 10) AS first_order_date,
       substr(MAX(paid_at), 1, 10) AS last_order_date,
       MAX(paid_at) AS last_paid_at,
       SUM(paid_at >= :start_365) AS orders_365,
       SUM(CASE WHEN paid_at >= :start_365 THEN amount_fen ELSE 0 END) AS spend_365,
       SUM(CASE WHEN paid_at >= :window_start THEN amount_fen ELSE 0 END) AS spend_window
FROM orders
WHERE counted = 1 AND paid_at IS NOT NULL AND paid_at < :next_day{only}
GROUP BY member_id
"""

_ACTIVITY_AGG = """
CREATE TEMP TABLE _mm_activity AS
SELECT member_id, SUM(messages) AS messages_30, SUM(images) AS images_30
FROM activity
WHERE date >= :start_30 AND date <= :as_of{only}
GROUP BY member_id
"""

# The history rule (docs/metrics.md): a member export's totals (orders, spend, last order time) are
# the member's history up to that last order time. Orders after it are added on top; orders up to
# it are taken as already counted in the totals. `cover` is that time: a last order given as a date
# covers the whole day. Only members with such totals and a counted order after `cover` (told by
# _mm_orders), and only those orders, are read here (an index range each); CROSS JOIN keeps that
# order, which the planner would otherwise turn round into a scan of every order.
# Totals without a last order time cover the orders paid up to the import of the file that gave
# them (`members.totals_as_of`): the export was made before it, so no order after it is in them.
_COVER = """COALESCE(CASE WHEN length({t}) > 10 AND substr({t}, 12) <> '00:00:00' THEN {t}
                          ELSE substr({t}, 1, 10) || ' 23:59:59' END, {a})"""
MEMBER_COVER = _COVER.format(t="mb.last_order_at", a="mb.totals_as_of")

_AFTER_AGG = f"""
CREATE TEMP TABLE _mm_after AS
SELECT p.member_id,
       COUNT(*) AS a_orders,
       SUM(p.amount_fen) AS a_spend,
       COUNT(DISTINCT substr(p.paid_at, 1, 10)) AS a_days,
       substr(MAX(p.paid_at), 1, 10) AS a_last,
       SUM(p.paid_at >= :start_365) AS a_orders_365,
       SUM(CASE WHEN p.paid_at >= :start_365 THEN p.amount_fen ELSE 0 END) AS a_spend_365,
       SUM(CASE WHEN p.paid_at >= :window_start THEN p.amount_fen ELSE 0 END) AS a_window
FROM _mm_orders o CROSS JOIN members mb ON mb.member_id = o.member_id
CROSS JOIN orders p ON p.member_id = o.member_id AND p.paid_at > {MEMBER_COVER}
WHERE (COALESCE(mb.order_count, 0) > 0 OR COALESCE(mb.total_spent_fen, 0) > 0)
  AND (mb.last_order_at IS NULL OR substr(mb.last_order_at, 1, 10) <= :as_of)
  AND o.last_paid_at > {MEMBER_COVER}
  AND p.counted = 1 AND p.paid_at < :next_day
GROUP BY p.member_id
"""

# Each member's basis: 'imported' when a member export's totals apply as of the date (their last
# order is on or before it, or unknown) and the stored orders they cover do not already reach them
# (in count and in spend: then the orders tell the same history in full, and are used alone); the
# orders after the totals come on top (a total without a last order time covers every order);
# 'orders' when the member has order rows (rows that do not count yet give zeros: such a member is
# missing from _mm_orders, so only they pay an index probe); 'none' otherwise. What a total cannot
# tell (the days of 17 orders, which of them fell in the last 365 days) is NULL.
_BASE = f"""
CREATE TEMP TABLE _mm_base AS
SELECT *, CAST(julianday(:as_of) - julianday(last_order_date) AS INTEGER) AS recency_days,
       CAST(julianday(:as_of) - julianday(first_order_date) AS INTEGER) AS tenure_days
FROM (
SELECT member_id, name, nickname, phone, phone_display, owner, store, region, tags, birthday,
       birthday_md, joined_date, points, messages_30, images_30, basis,
       CASE basis WHEN 'orders' THEN o_orders_total WHEN 'imported' THEN imp_n + a_orders
            ELSE 0 END AS orders_total,
       CASE basis WHEN 'orders' THEN o_purchase_days
            WHEN 'imported' THEN CASE WHEN imp_n = 1 THEN 1 + a_days END ELSE 0 END AS purchase_days,
       CASE basis WHEN 'orders' THEN o_spend_total WHEN 'imported' THEN imp_spend + a_spend
            ELSE 0 END AS spend_total,
       CASE basis WHEN 'orders' THEN o_first_order_date
            WHEN 'imported' THEN CASE WHEN imp_n = 1 THEN imp_last
                                      WHEN o_first_order_date <= imp_last THEN o_first_order_date END
            END AS first_order_date,
       CASE basis WHEN 'orders' THEN o_last_order_date WHEN 'imported' THEN COALESCE(a_last, imp_last)
            END AS last_order_date,
       CASE basis WHEN 'orders' THEN o_orders_365
            WHEN 'imported' THEN CASE WHEN imp_last < :start_365 THEN 0
                                      WHEN imp_n = 1 AND imp_last IS NOT NULL THEN 1 END + a_orders_365
            ELSE 0 END AS orders_365,
       CASE basis WHEN 'orders' THEN o_spend_365
            WHEN 'imported' THEN CASE WHEN imp_last < :start_365 THEN 0
                                      WHEN imp_n = 1 AND imp_last IS NOT NULL THEN imp_spend END
                                 + a_spend_365
            ELSE 0 END AS spend_365,
       CASE basis WHEN 'orders' THEN o_spend_window WHEN 'imported' THEN imp_spend + a_window
            ELSE 0 END AS spend_window,
       CASE basis WHEN 'orders' THEN o_spend_total * :gpy / 100
            WHEN 'imported' THEN (imp_spend + a_spend) * :gpy / 100 ELSE 0 END AS growth,
       CASE WHEN imp_due THEN imp_growth + a_spend * :gpy / 100 END AS imported_growth,
       -- What the orders after the totals started from, for the date they crossed a tier.
       CASE WHEN basis = 'imported' THEN imp_spend END AS base_spend,
       CASE WHEN basis = 'imported' AND imp_due THEN imp_growth END AS base_growth,
       CASE WHEN basis = 'imported' THEN imp_cover END AS base_cover,
       -- What a patch's restamped members carry over from their stored row (metrics_patch): their
       -- data did not change, so neither did the dates their tier and segment were reached.
       NULL AS kept_tier_since, NULL AS kept_lifecycle, NULL AS kept_segment_since
FROM (SELECT mb.member_id, mb.name, mb.nickname, mb.phone, mb.phone_display, mb.owner, mb.store,
             mb.region, COALESCE(mb.tags, '[]') AS tags, mb.birthday, mb.birthday_md,
             NULLIF(substr(mb.joined_at, 1, 10), '') AS joined_date, mb.points,
             COALESCE(a.messages_30, 0) AS messages_30,
             COALESCE(a.images_30, 0) AS images_30,
             CASE WHEN (COALESCE(mb.order_count, 0) > 0 OR COALESCE(mb.total_spent_fen, 0) > 0)
                       AND (mb.last_order_at IS NULL OR substr(mb.last_order_at, 1, 10) <= :as_of)
                       AND NOT (COALESCE(o.orders_total, 0) - COALESCE(af.a_orders, 0)
                                  >= MAX(COALESCE(mb.order_count, 0), mb.total_spent_fen > 0)
                                AND COALESCE(o.spend_total, 0) - COALESCE(af.a_spend, 0)
                                  >= COALESCE(mb.total_spent_fen, 0))
                  THEN 'imported'
                  WHEN o.member_id IS NOT NULL
                       OR EXISTS (SELECT 1 FROM orders x WHERE x.member_id = mb.member_id) THEN 'orders'
                  ELSE 'none' END AS basis,
             MAX(COALESCE(mb.order_count, 0), CASE WHEN mb.total_spent_fen > 0 THEN 1 ELSE 0 END) AS imp_n,
             COALESCE(mb.total_spent_fen, 0) AS imp_spend,
             substr(mb.last_order_at, 1, 10) AS imp_last,
             mb.growth AS imp_growth,
             {MEMBER_COVER} AS imp_cover,
             (mb.last_order_at IS NULL OR substr(mb.last_order_at, 1, 10) <= :as_of) AS imp_due,
             COALESCE(af.a_orders, 0) AS a_orders, COALESCE(af.a_spend, 0) AS a_spend,
             COALESCE(af.a_days, 0) AS a_days, af.a_last,
             COALESCE(af.a_orders_365, 0) AS a_orders_365, COALESCE(af.a_spend_365, 0) AS a_spend_365,
             COALESCE(af.a_window, 0) AS a_window,
             COALESCE(o.orders_total, 0) AS o_orders_total,
             COALESCE(o.purchase_days, 0) AS o_purchase_days,
             COALESCE(o.spend_total, 0) AS o_spend_total, o.first_order_date AS o_first_order_date,
             o.last_order_date AS o_last_order_date, COALESCE(o.orders_365, 0) AS o_orders_365,
             COALESCE(o.spend_365, 0) AS o_spend_365, COALESCE(o.spend_window, 0) AS o_spend_window
      FROM members mb
      LEFT JOIN _mm_orders o ON o.member_id = mb.member_id
      LEFT JOIN _mm_after af ON af.member_id = mb.member_id
      LEFT JOIN _mm_activity a ON a.member_id = mb.member_id
      WHERE (mb.joined_at IS NULL OR mb.joined_at = '' OR substr(mb.joined_at, 1, 10) <= :as_of){{only_mb}}))
"""

# RFM (SPEC §4): the population is the members with orders and a known last order. A score is
# 1 + (rank - 1) * scores // n with ties ranked together, and the rank of a value is 1 + the number
# of members with a worse one, so each metric is counted per distinct value (a few thousand rows)
# and the running count gives every member's score by a key lookup: no sort of the population.
# The counts per value are kept in a snapshot: a patch adds and takes away the changed members'
# values and scores again from them (metrics_patch), with this same SQL.
RFM_POPULATION = "orders_total > 0 AND recency_days IS NOT NULL"

_RFM_COUNT = f"""
INSERT INTO {{counts}} (v, c)
SELECT {{column}}, COUNT(*) FROM _mm_base WHERE {RFM_POPULATION} GROUP BY 1
"""

# The means from the counts: an exact integer sum over the count, as AVG takes it.
_RFM_STATS = """
CREATE TEMP TABLE _mm_rfm_stats AS
SELECT COALESCE(r.n, 0) AS n, r.s * 1.0 / r.n AS r, f.s * 1.0 / f.n AS f, m.s * 1.0 / m.n AS m
FROM (SELECT SUM(c) AS n, SUM(v * c) AS s FROM temp._mm_rfm_count_r) r,
     (SELECT SUM(c) AS n, SUM(v * c) AS s FROM temp._mm_rfm_count_f) f,
     (SELECT SUM(c) AS n, SUM(v * c) AS s FROM temp._mm_rfm_count_m) m
"""

_RFM_SCORE = """
INSERT INTO {table}
SELECT v, 1 + (SUM(c) OVER (ORDER BY v {order} ROWS UNBOUNDED PRECEDING) - c) * :scores / s.n
FROM temp.{counts}, _mm_rfm_stats s
"""

# (score table, metric, rank order): recency ranks the oldest first, so recent members score high.
RFM_METRICS = (("_mm_rfm_r", "recency_days", "DESC"), ("_mm_rfm_f", "orders_total", "ASC"),
               ("_mm_rfm_m", "spend_total", "ASC"))  # fmt: skip

_RFM_COLUMNS = """
       CASE WHEN b.orders_total > 0 AND b.recency_days IS NOT NULL THEN rr.score END AS rfm_r,
       CASE WHEN b.orders_total > 0 AND b.recency_days IS NOT NULL THEN rf.score END AS rfm_f,
       CASE WHEN b.orders_total > 0 AND b.recency_days IS NOT NULL THEN rm.score END AS rfm_m,
       CASE WHEN b.orders_total > 0 AND b.recency_days IS NOT NULL THEN
            CASE WHEN b.spend_total > s.m THEN 'important_' ELSE 'general_' END
            || CASE WHEN b.recency_days < s.r AND b.orders_total > s.f THEN 'value'
                    WHEN b.recency_days < s.r THEN 'development'
                    WHEN b.orders_total > s.f THEN 'retain' ELSE 'winback' END END AS rfm_class,
       k.rank AS koc_rank"""

RANK_COLUMNS = ("rfm_r", "rfm_f", "rfm_m", "rfm_class", "koc_rank")

_RFM_JOINS = """
     CROSS JOIN _mm_rfm_stats s
     LEFT JOIN _mm_rfm_r rr ON rr.v = b.recency_days
     LEFT JOIN _mm_rfm_f rf ON rf.v = b.orders_total
     LEFT JOIN _mm_rfm_m rm ON rm.v = b.spend_total
     LEFT JOIN _mm_koc k ON k.member_id = b.member_id"""

_KOC_RANK = """
INSERT INTO _mm_koc
SELECT member_id, ROW_NUMBER() OVER (ORDER BY messages_30 + images_30 DESC, member_id)
FROM {source}
WHERE orders_total >= :orders AND (messages_30 >= :messages OR images_30 >= :images)
"""

_COLUMNS = """member_id, name, nickname, phone, phone_display, owner, store, region, tags, birthday,
    birthday_md, joined_date, orders_total, purchase_days, spend_total, first_order_date,
    last_order_date, recency_days, tenure_days, orders_365, spend_365, growth, points, messages_30,
    images_30, tier, tier_since, lifecycle, segment_since, rfm_r, rfm_f, rfm_m, rfm_class, koc,
    koc_rank, basis, tier_metric, tier_threshold"""

METRIC_COLUMNS = [c.strip() for c in _COLUMNS.split(",")]
_SINCE = ("tier_since", "segment_since")
# The order of member_metrics' columns, as `SELECT *` gives them: the dates the tier and segment
# were reached come last.
TABLE_COLUMNS = [c for c in METRIC_COLUMNS if c not in _SINCE] + list(_SINCE)
# What a snapshot stores: the days since the last and first order change every day for every
# member, so they are computed as a snapshot is read (`snapshot_view`), from its date.
DAY_COUNTS = {"recency_days": "last_order_date", "tenure_days": "first_order_date"}
# A snapshot also keeps the inputs of a member's tier that the table does not show (the spend in
# the tier's window, the export's growth and what the orders after its totals started from), so
# that a patch can bring a member whose data did not change to a new date from the stored row alone
# (metrics_patch: restamped members). The view `snapshot_view` leaves them out.
KEPT_INPUTS = ("spend_window", "imported_growth", "base_spend", "base_growth", "base_cover")
SNAPSHOT_COLUMNS = [c for c in TABLE_COLUMNS if c not in DAY_COUNTS and c not in _SINCE] + [*KEPT_INPUTS, *_SINCE]
# A snapshot is written once and read by every later command, so it carries the indexes they need:
# lookups by member, `members` in spend order (no sort of a million rows), and the planner's event
# dates (each member trigger reads only the members whose event falls in its window).
# A patch (store/metrics_patch.py) finds the members whose ranks moved by the spend and last order
# indexes, and the KOCs by theirs.
SNAPSHOT_INDEXES = (
    ("id", "member_id", ""),
    ("spend", "spend_total DESC, member_id", ""),
    ("joined", "joined_date", ""),
    ("first_order", "first_order_date", ""),
    ("last_order", "last_order_date", ""),
    ("tier_since", "tier_since", ""),
    ("segment_since", "segment_since", ""),
    ("birthday", "COALESCE(birthday_md, substr(birthday, 6, 5))", ""),
    ("koc", "member_id", "koc = 1"),
)
# The snapshot's columns some index holds: a patch rewrites them only in rows where they changed.
INDEXED_COLUMNS = frozenset(
    c
    for c in SNAPSHOT_COLUMNS
    for _name, columns, where in SNAPSHOT_INDEXES
    if re.search(rf"\b{c}\b", f"{columns} {where}")
)
# The members a patch computes again (metrics_patch); the per-member statements read only these
# when given `only=True`.
ONLY = "temp._mm_only"


def day_count_sql(column: str, as_of: str) -> str:
    """recency_days / tenure_days as of `as_of` (a date from code), from the stored date."""
    return f"CAST(julianday('{as_of}') - julianday({DAY_COUNTS[column]}) AS INTEGER)"


def snapshot_view(schema: str, as_of: str) -> str:
    """The TEMP VIEW member_metrics over a snapshot of `as_of` in `schema`."""
    select = ", ".join(f"{day_count_sql(c, as_of)} AS {c}" if c in DAY_COUNTS else c for c in TABLE_COLUMNS)
    return f"CREATE TEMP VIEW member_metrics AS SELECT {select} FROM {schema}.member_metrics"


def _tier_metric_sql(q: MetricsQuery, value: str = "") -> str:
    """The tier metric over member columns, or (value given) over a running spend in fen.

    `imported_growth` is the member export's own growth value (成长值) plus the growth of the orders
    after it, for members that have one (others: the computed growth); `max_growth` the larger of
    that and the computed growth."""
    windowed = q.window_start is not None or q.tier_metric == "spend_365"
    gpy = int(q.growth_per_yuan)
    growth_like = q.tier_metric in ("growth", "imported_growth", "max_growth")
    if value:  # only for members measured from their orders, who have no imported growth
        return f"{value} * {gpy} / 100" if growth_like else value
    if growth_like:
        computed = "growth"
        if windowed:
            computed = f"CASE WHEN basis = 'orders' THEN spend_window * {gpy} / 100 ELSE growth END"
        if q.tier_metric == "imported_growth":
            return f"COALESCE(imported_growth, {computed})"
        if q.tier_metric == "max_growth":
            return f"MAX({computed}, COALESCE(imported_growth, {computed}))"
        return computed
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


# The counted orders of the outer row's member up to the date, in time order (the index's order).
_MEMBER_ORDERS = (
    "FROM orders p WHERE p.member_id = l.member_id AND p.counted = 1 AND p.paid_at IS NOT NULL"
    " AND p.paid_at < ?"
)


def _tier_since_sql(q: MetricsQuery, base: int) -> str:
    """The date the running tier metric first reached the member's current threshold.

    Only members above the base tier with order history need it, so it is one small window over
    that member's orders (an index range), not a window over every order of every member. The
    window gives its rows in its own order, time order, so the first row at the threshold is the
    date, and the member's later orders are never read (at 1M members, 118k of them tiered: 2.2 s
    instead of 3.0 s for MIN over every row). Parameters, in text order: window_start, next_day,
    and next_day again when `_imported_tier_since` applies.
    """
    run = _tier_metric_sql(q, "x.run")
    return (
        f"CASE WHEN basis = 'orders' AND tier_threshold > {int(base)} THEN "
        "(SELECT x.d FROM (SELECT substr(p.paid_at, 1, 10) AS d, "
        "SUM(CASE WHEN p.paid_at >= ? THEN p.amount_fen ELSE 0 END) "
        f"OVER (ORDER BY p.paid_at ROWS UNBOUNDED PRECEDING) AS run {_MEMBER_ORDERS}) x "
        f"WHERE {run} >= l.tier_threshold LIMIT 1) {_imported_tier_since(q, base)}END"
    )


def _imported_tier_since(q: MetricsQuery, base: int) -> str:
    """For a member measured from a member export's totals: the date an order after them took the
    tier metric from the totals' value to the threshold (unknown when the totals alone reach it,
    and for windowed metrics, whose window the totals cannot be placed in)."""
    if imported_tier_since_params(q) == 0:
        return ""
    gpy = int(q.growth_per_yuan)

    def metric(run: str) -> str:
        computed = f"(l.base_spend + {run}) * {gpy} / 100"
        if q.tier_metric == "spend_total":
            return f"(l.base_spend + {run})"
        if q.tier_metric == "imported_growth":
            return f"COALESCE(l.base_growth + {run} * {gpy} / 100, {computed})"
        if q.tier_metric == "max_growth":
            return f"MAX({computed}, COALESCE(l.base_growth + {run} * {gpy} / 100, {computed}))"
        return computed

    return (
        f"WHEN basis = 'imported' AND tier_threshold > {int(base)} AND l.base_cover IS NOT NULL "
        f"AND {metric('0')} < tier_threshold THEN "
        "(SELECT x.d FROM (SELECT substr(p.paid_at, 1, 10) AS d, "
        "SUM(p.amount_fen) OVER (ORDER BY p.paid_at ROWS UNBOUNDED PRECEDING) AS run "
        f"{_MEMBER_ORDERS} AND p.paid_at > l.base_cover) x "
        f"WHERE {metric('x.run')} >= l.tier_threshold LIMIT 1) "
    )


def imported_tier_since_params(q: MetricsQuery) -> int:
    """How many parameters (next_day) `_imported_tier_since` adds: 0 for a windowed metric."""
    windowed = q.window_start is not None or q.tier_metric == "spend_365"
    return 0 if windowed else 1


def _nth_order_sql(n: int) -> str:
    """The local date of the member's n-th counted order (n >= 2); parameter: next_day."""
    return f"(SELECT substr(p.paid_at, 1, 10) {_MEMBER_ORDERS} ORDER BY p.paid_at LIMIT 1 OFFSET {int(n) - 1})"


def build(conn: sqlite3.Connection, q: MetricsQuery, target: str = "temp.member_metrics") -> None:
    """Compute the metrics of every member into table `target` (`temp.member_metrics`, or a
    snapshot's table: that one without the day counts, see SNAPSHOT_COLUMNS)."""
    member_bases(conn, q)
    if q.ranks:
        count_rfm_values(conn)
        rank(conn, q, "_mm_base")
    select, params = member_rows(q, TABLE_COLUMNS if target.startswith("temp.") else SNAPSHOT_COLUMNS)
    temp = "TEMP " if target.startswith("temp.") else ""
    conn.execute(f"CREATE {temp}TABLE {target} AS {select}", params)
    # The helper tables stay until the connection closes, or the next build drops them: dropping
    # them here walks their pages to free them, 0.5 s at 1M members that no later query needs.


def _named(q: MetricsQuery) -> dict[str, Any]:
    return {
        "as_of": q.as_of,
        "next_day": q.next_day,
        "start_365": q.start_365,
        "start_30": q.start_30,
        "window_start": q.window_start or "0000-00-00",
        "gpy": int(q.growth_per_yuan),
    }


def member_bases(conn: sqlite3.Connection, q: MetricsQuery, *, only: bool = False) -> None:
    """`_mm_base`: every member's identity and order and activity aggregates as of the date, or,
    with `only`, those of the members in ONLY: the same statements, each reading only those
    members' rows through the indexes on member_id."""
    named = _named(q)
    for table in ("_mm_orders", "_mm_after", "_mm_activity", "_mm_base"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    restrict = f" AND member_id IN (SELECT member_id FROM {ONLY})" if only else ""
    conn.execute(_ORDER_AGG.format(only=restrict), named)
    conn.execute("CREATE UNIQUE INDEX temp._mm_orders_id ON _mm_orders(member_id)")
    # The orders after a member export's last order time, of the members in _mm_orders (so of the
    # members in ONLY too, when given).
    conn.execute(_AFTER_AGG, named)
    conn.execute("CREATE UNIQUE INDEX temp._mm_after_id ON _mm_after(member_id)")
    conn.execute(_ACTIVITY_AGG.format(only=restrict), named)
    conn.execute("CREATE UNIQUE INDEX temp._mm_activity_id ON _mm_activity(member_id)")
    conn.execute(_BASE.format(only_mb=restrict.replace("member_id", "mb.member_id", 1)), named)


def create_rfm_counts(conn: sqlite3.Connection) -> None:
    for metric in "rfm":
        conn.execute(f"DROP TABLE IF EXISTS temp._mm_rfm_count_{metric}")
        conn.execute(f"CREATE TEMP TABLE _mm_rfm_count_{metric} (v INTEGER PRIMARY KEY, c INT) WITHOUT ROWID")


def count_rfm_values(conn: sqlite3.Connection) -> None:
    """The RFM population's members per value of each metric, from every member's `_mm_base`."""
    create_rfm_counts(conn)
    for (_table, column, _order), metric in zip(RFM_METRICS, "rfm", strict=True):
        conn.execute(_RFM_COUNT.format(counts=f"temp._mm_rfm_count_{metric}", column=column))


def rank(conn: sqlite3.Connection, q: MetricsQuery, koc_source: str) -> None:
    """The RFM means and scores from the counts per value (`_mm_rfm_count_*`), and the KOC ranks
    of the members in `koc_source` (`_mm_base`, or a patch's union with its snapshot)."""
    for table in ("_mm_rfm_stats", "_mm_rfm_r", "_mm_rfm_f", "_mm_rfm_m", "_mm_koc"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(_RFM_STATS)
    for (table, _column, order), metric in zip(RFM_METRICS, "rfm", strict=True):
        conn.execute(f"CREATE TEMP TABLE {table} (v INTEGER PRIMARY KEY, score INT) WITHOUT ROWID")
        sql = _RFM_SCORE.format(table=table, counts=f"_mm_rfm_count_{metric}", order=order)
        conn.execute(sql, {"scores": q.rfm_scores})
    conn.execute("CREATE TEMP TABLE _mm_koc (member_id TEXT PRIMARY KEY, rank INT) WITHOUT ROWID")
    conn.execute(
        _KOC_RANK.format(source=koc_source),
        {"orders": q.koc_min_orders, "messages": q.koc_min_messages, "images": q.koc_min_images},
    )


def member_ranks(base: str) -> str:
    """The SELECT of member_id and RANK_COLUMNS of the members in `base` (member_id, orders_total,
    spend_total, recency_days), with the expressions `member_rows` uses, after `rank`."""
    return f"SELECT b.member_id, {_RFM_COLUMNS} FROM {base} b{_RFM_JOINS}"


def member_rows(q: MetricsQuery, columns: Sequence[str]) -> tuple[str, list[Any]]:
    """The SELECT of the metrics rows of the members in `_mm_base` (`columns` of TABLE_COLUMNS, in
    that order), with its parameters: ranks from `rank` when `q.ranks`, the tier and segment, and the
    dates they were reached (per-member index reads of their orders)."""
    levels = sorted(q.levels, key=lambda lv: lv.threshold)
    ranked = ""
    ranks = "NULL AS rfm_r, NULL AS rfm_f, NULL AS rfm_m, NULL AS rfm_class, NULL AS koc_rank"
    if q.ranks:
        ranked, ranks = _RFM_JOINS, _RFM_COLUMNS
    # Positional parameters from here on (compiled conditions bring their own), appended in the
    # order their placeholders appear in the statement text.
    params: list[Any] = []
    window_start = q.window_start or "0000-00-00"
    base = levels[0].threshold if levels else 0
    tier_since = f"COALESCE(kept_tier_since, {_tier_since_sql(q, base)})" if levels else "NULL"
    if levels:
        params += [window_start, q.next_day] + [q.next_day] * imported_tier_since_params(q)
    # (condition, date expression, their parameters) per segment that says when it started.
    since: list[tuple[str, str, list[Any]]] = []
    for seg in q.segments:
        if seg.since is None:
            continue
        kind, n = seg.since
        values: list[Any] = [seg.id]
        if kind == "recency":
            then = f"date(last_order_date, '+{int(n)} days')"
        elif n in (0, 1):
            then = "joined_date" if n == 0 else "first_order_date"
        else:
            then = _nth_order_sql(n)
            values.append(q.next_day)
        since.append(("lifecycle = ?", then, values))
    segment_since = "NULL"
    if since:
        segment_since = "CASE WHEN lifecycle = kept_lifecycle THEN kept_segment_since " + " ".join(
            f"WHEN {cond} THEN {then}" for cond, then, _ in since) + " END"
        for _, _, values in since:
            params += values
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
    params += [q.koc_min_orders, q.koc_min_messages, q.koc_min_images]
    # Only the columns asked for, in their order (a snapshot's kept inputs before the since dates);
    # the since dates are the last two when asked for.
    shown = [c for c in columns if c not in KEPT_INPUTS]
    assert [c for c in TABLE_COLUMNS if c in columns] == shown, columns
    dates = {"tier_since": tier_since, "segment_since": segment_since}
    if [c for c in columns if c in dates] != list(_SINCE):
        raise AssertionError("member rows carry both since dates")
    listed = ", ".join(f"{dates[c]} AS {c}" if c in dates else c for c in columns)
    select = f"""
        SELECT {listed}
        FROM (SELECT c.*, {lifecycle} AS lifecycle
              FROM (SELECT t.*, {tier} AS tier, {threshold} AS tier_threshold
                    FROM (SELECT d.*, {_tier_metric_sql(q)} AS tier_metric
                          FROM (SELECT b.*, {ranks},
                                  CASE WHEN b.orders_total >= ? AND (b.messages_30 >= ? OR b.images_30 >= ?)
                                       THEN 1 ELSE 0 END AS koc
                                FROM _mm_base b{ranked}) d) t) c) l
        """
    return select, params


def drop_member_metrics(conn: sqlite3.Connection) -> None:
    """Drop this connection's member_metrics, whether it is a snapshot view or a TEMP table."""
    row = conn.execute("SELECT type FROM temp.sqlite_master WHERE name = 'member_metrics'").fetchone()
    if row is not None:
        conn.execute(f"DROP {'VIEW' if row[0] == 'view' else 'TABLE'} temp.member_metrics")


def build_temp(conn: sqlite3.Connection, q: MetricsQuery) -> None:
    """member_metrics as a TEMP table of this connection (replacing a view or table of that name)."""
    drop_member_metrics(conn)
    build(conn, q)
    conn.execute("CREATE INDEX temp.member_metrics_id ON member_metrics(member_id)")


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
    return conn.execute(*member_query(", ".join(columns), filters, limit))


def member_query(select: str, filters: dict[str, str], limit: int | None) -> tuple[str, list[Any]]:
    """`SELECT select FROM member_metrics` with the `members` filters, in the `members` order (the
    biggest spenders first), as SQL text and its parameters. `select` comes from code only."""
    where = [MEMBER_FILTERS[key] for key in filters]
    sql = f"SELECT {select} FROM member_metrics"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY spend_total DESC, member_id"
    params: list[Any] = list(filters.values())
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def member_values(conn: sqlite3.Connection, member_id: str, columns: Sequence[str]) -> sqlite3.Row | None:
    """One member_metrics row, `columns` only (names from code)."""
    assert all(c in METRIC_COLUMNS for c in columns), columns
    row: sqlite3.Row | None = conn.execute(
        f"SELECT {', '.join(columns)} FROM member_metrics WHERE member_id = ?", (member_id,)
    ).fetchone()
    return row


def member_row(conn: sqlite3.Connection, member_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM member_metrics WHERE member_id = ?", (member_id,)
    ).fetchone()
    return row


def member_export(conn: sqlite3.Connection, member_id: str) -> sqlite3.Row | None:
    """What a member export said of the member: its own level and growth value, and its totals."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT level, growth, total_spent_fen, order_count, last_order_at FROM members WHERE member_id = ?",
        (member_id,),
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
    # Rounded, but at least one member: with one or two members "the top 20%" is the first one.
    top = max(int(total_members * fraction + 0.5), 1) if total_members else 0
    spend = conn.execute(
        "SELECT COALESCE(SUM(spend_total), 0) FROM (SELECT spend_total FROM member_metrics"
        " ORDER BY spend_total DESC LIMIT ?)",
        (top,),
    ).fetchone()[0]
    return top, int(spend), int(total_spend)
