"""Member metrics as of a date: the one table every later step reads.

Contract (planner, reports and the members commands code against it):

`materialize(conn, playbook, as_of)` makes `member_metrics` (a TEMP view of the cached snapshot
kept beside the workspace, or a TEMP table; indexed on member_id either way) hold one row per
member existing as of `as_of` (joined_at local date <= as_of, or joined_at unknown), with these
columns:

* identity: member_id, name, nickname, phone, phone_display, owner, store, region,
  tags (JSON array text), birthday, birthday_md, joined_date;
* orders, counting orders with counted = 1 and local date <= as_of: orders_total, purchase_days,
  spend_total (fen), first_order_date, last_order_date, recency_days (as_of - last order date),
  tenure_days (as_of - first order date), orders_365 / spend_365 (fen, dates as_of-364..as_of),
  growth (spend fen * growth_per_yuan // 100);
* points (imported), messages_30 / images_30 (activity, dates as_of-29..as_of);
* tier (the highest level whose `min` the tier metric reaches), tier_since (date the running
  metric reached the current tier's threshold: the tier_up date; NULL for the base tier or when
  no order history explains the tier), tier_metric (the value compared, growth points or fen),
  tier_threshold (the current tier's `min` in those units);
* lifecycle (first playbook segment whose condition matches), segment_since (date the segment
  was entered, see `segments.segment_since_rule`; NULL when not derivable);
* rfm_r, rfm_f, rfm_m (1..rfm.scores), rfm_class (e.g. important_value), NULL without orders;
* koc (0/1), koc_rank (1 = most messages + images among KOCs, NULL otherwise);
* basis: 'orders' (measured from order rows), 'imported' (no order rows: the member export's
  aggregates are used), or 'none'.

Imported aggregates (members.total_spent_fen, order_count, last_order_at, growth) are used only by
members without any order row: order history, when present, is the truth. Such a member's growth
is the imported growth when given (it may include non-purchase growth), else derived from the
total; values a total cannot tell (first order date, 365-day figures when the last order is
inside the window and there was more than one order) are NULL. Aggregates whose last order is
after `as_of` are not counted as of `as_of`.

Tier windows: `tiers.downgrade_window_days` None keeps the all-time metric (a tier for life); N
measures the metric over the last N days. `spend_365` always uses a window (365 unless N given).

RFM scores are quintiles by rank with ties kept together: score = 1 + (rank - 1) * scores // n
among members with orders and a known last order date (recency: more recent scores higher).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from privdom.errors import PrivdomError
from privdom.playbook.models import Playbook
from privdom.segments import RFM_CLASSES, days_compared, segment_specs, tier_levels
from privdom.store import members_csv, metrics_cache
from privdom.store import metrics as store


def materialize(conn: sqlite3.Connection, playbook: Playbook, as_of: date, *, ranks: bool = True) -> None:
    """Make `member_metrics` (TEMP) hold the metrics as of `as_of` (see the module docstring).

    It is a view of the workspace's cached snapshot for this data, playbook and date, built first
    when there is none (`store.metrics_cache`). ranks=False computes a TEMP table for this
    connection only, leaving rfm_r/f/m, rfm_class and koc_rank NULL (koc itself is set).
    """
    query = metrics_query(playbook, as_of, ranks=ranks)
    if ranks:
        metrics_cache.materialize(conn, query)
    else:
        store.build_temp(conn, query)


def materialize_member(conn: sqlite3.Connection, playbook: Playbook, as_of: date, member_id: str) -> None:
    """Make `member_metrics` (TEMP) hold one member's row as of `as_of`, a day on or after the
    snapshot `materialize` attached last: that member computed in full, ranked among the others
    as the snapshot has them (their RFM values a day older each day). For a forecast of the days
    ahead, whose data is not known yet; it leaves the snapshots alone. Without such a snapshot,
    every member is computed into a TEMP table instead."""
    query = metrics_query(playbook, as_of)
    if not metrics_cache.materialize_member(conn, query, member_id):
        store.build_temp(conn, query)


def metrics_query(playbook: Playbook, as_of: date, *, ranks: bool = True) -> store.MetricsQuery:
    """The playbook's parts that feed the metrics, compiled for `as_of`."""
    window = playbook.tiers.downgrade_window_days
    if window is None and playbook.tiers.metric == "spend_365":
        window = 365
    return store.MetricsQuery(
        as_of=as_of.isoformat(),
        next_day=(as_of + timedelta(days=1)).isoformat(),
        start_365=(as_of - timedelta(days=364)).isoformat(),
        start_30=(as_of - timedelta(days=29)).isoformat(),
        window_start=(as_of - timedelta(days=window - 1)).isoformat() if window else None,
        growth_per_yuan=playbook.tiers.growth_per_yuan,
        tier_metric=playbook.tiers.metric,
        levels=tier_levels(playbook),
        segments=segment_specs(playbook),
        rfm_scores=playbook.rfm.scores,
        koc_min_orders=playbook.koc.min_orders,
        koc_min_messages=playbook.koc.min_messages_30,
        koc_min_images=playbook.koc.min_images_30,
        ranks=ranks,
        recency_days_compared=days_compared(playbook, "recency_days"),
        tenure_days_compared=days_compared(playbook, "tenure_days"),
    )


def nth_order_dates(conn: sqlite3.Connection, n: int, as_of: date) -> dict[str, str]:
    """member_id -> local date (YYYY-MM-DD) of the member's n-th counted order on or before as_of."""
    return store.nth_order_dates(conn, n, (as_of + timedelta(days=1)).isoformat())


# ---------------------------------------------------------------- one member, with why


@dataclass
class MemberProfile:
    as_of: date
    metrics: dict[str, Any]  # the member's member_metrics row (money in fen)
    tier: dict[str, Any]
    lifecycle: dict[str, Any]
    rfm: dict[str, Any] | None
    groups: list[dict[str, Any]]
    # Filled by the planner (privdom.planner.forecast), which reads these metrics: not by this module.
    upcoming_tasks: list[Any] = field(default_factory=list)


def member_profile(
    conn: sqlite3.Connection, playbook: Playbook, member_id: str, as_of: date
) -> MemberProfile:
    """Materializes metrics as of `as_of` and explains the member's tier, segment and RFM class."""
    if not store.member_exists(conn, member_id):
        raise PrivdomError(
            f"no member with id {member_id!r}",
            hint="IDs are matched exactly (leading zeros count); list them with `privdom members`",
        )
    materialize(conn, playbook, as_of)
    row = store.member_row(conn, member_id)
    if row is None:
        raise PrivdomError(
            f"member {member_id!r} had not joined by {as_of.isoformat()}",
            hint="pick a later --date, or leave it out for today",
        )
    m = dict(row)
    # A member without an owner is the default owner's: the planner gives their tasks to them.
    m["owner"] = m["owner"] or playbook.limits.default_owner
    return MemberProfile(
        as_of=as_of,
        metrics=m,
        tier=_tier_why(playbook, m) | {"export": _export_why(playbook, m, store.member_export(conn, member_id))},
        lifecycle=_segment_why(playbook, m),
        rfm=_rfm_why(conn, m),
        groups=[dict(g) for g in store.member_groups(conn, member_id)],
    )


def _tier_why(playbook: Playbook, m: dict[str, Any]) -> dict[str, Any]:
    tiers = playbook.tiers
    scale = 1 if tiers.in_growth else 100  # spend thresholds are yuan, the metric is fen
    levels = sorted(tiers.levels, key=lambda lv: lv.min)
    current = next((lv for lv in levels if lv.id == m["tier"]), None)
    upper = [lv for lv in levels if lv.min * scale > (m["tier_metric"] or 0)]
    nxt = upper[0] if upper else None
    distance = nxt.min * scale - (m["tier_metric"] or 0) if nxt else None
    return {
        "id": m["tier"],
        "zh": current.zh if current else None,
        "en": current.en if current else None,
        "metric": tiers.metric,
        "window_days": tiers.downgrade_window_days,
        "value": m["tier_metric"],
        "threshold": current.min if current else None,
        "since": m["tier_since"],
        "next": None
        if nxt is None
        else {
            "id": nxt.id,
            "zh": nxt.zh,
            "en": nxt.en,
            "min": nxt.min,
            "distance": distance,
            # growth comes from spend, so say how much more spend reaches the next tier
            "spend_fen_needed": -(-distance * 100 // tiers.growth_per_yuan)
            if tiers.in_growth and distance is not None
            else distance,
        },
    }


def _export_why(playbook: Playbook, m: dict[str, Any], export: Any) -> dict[str, Any] | None:
    """The member export's own level and growth value beside privdom's tier, and why they differ;
    None when the export gave neither."""
    if export is None or (export["level"] is None and export["growth"] is None):
        return None
    level, growth = export["level"], export["growth"]
    reasons: list[str] = []
    computed = m["growth"]
    if growth is not None and growth != computed:
        last = (export["last_order_at"] or "")[:10]
        reasons.append(
            f"the export's growth value {growth} is the platform's own"
            + (f", as of its last order on {last}" if last else "")
            + f"; privdom computes {computed} from spend ({playbook.tiers.growth_per_yuan} per yuan)"
            + (" including the orders after it" if m["basis"] == "imported" and last else "")
        )
    current = next((lv for lv in playbook.tiers.levels if lv.id == m["tier"]), None)
    names = {m["tier"], current.zh if current else None, current.en if current else None}
    if level is not None and level not in names:
        reasons.append(
            f"the export's level {level!r} follows the platform's rules; privdom's tier {m['tier']!r} follows "
            f"the playbook's thresholds on {playbook.tiers.metric}"
        )
    return {"level": level, "growth": growth, "differs": bool(reasons), "why": reasons}


def _segment_why(playbook: Playbook, m: dict[str, Any]) -> dict[str, Any]:
    seg = next((s for s in playbook.lifecycle if s.id == m["lifecycle"]), None)
    return {
        "id": m["lifecycle"],
        "zh": seg.zh if seg else None,
        "en": seg.en if seg else None,
        "condition": seg.when if seg else None,  # None: the "otherwise" segment
        "earlier_segments_not_matched": [
            {"id": s.id, "condition": s.when} for s in playbook.lifecycle[: playbook.lifecycle.index(seg)]
        ]
        if seg
        else [],
        "since": m["segment_since"],
        "advice": seg.advice if seg else "",
    }


def _rfm_why(conn: sqlite3.Connection, m: dict[str, Any]) -> dict[str, Any] | None:
    if m["rfm_class"] is None:
        return None
    means = store.rfm_means(conn)
    zh, en = RFM_CLASSES[m["rfm_class"]]
    return {
        "class": m["rfm_class"],
        "zh": zh,
        "en": en,
        "r": m["rfm_r"],
        "f": m["rfm_f"],
        "m": m["rfm_m"],
        "recency_days": m["recency_days"],
        "orders_total": m["orders_total"],
        "spend_fen": m["spend_total"],
        "mean_recency_days": round(means["recency_days"], 1),
        "mean_orders_total": round(means["orders_total"], 2),
        "mean_spend_fen": round(means["spend_total"]),
        "members_with_orders": means["n"],
    }


def member_rows(
    conn: sqlite3.Connection,
    playbook: Playbook,
    as_of: date,
    filters: dict[str, str],
    columns: list[str],
    limit: int | None = None,
) -> sqlite3.Cursor:
    """Materialize, then a cursor over the members matching `filters` (keys: store.MEMBER_FILTERS)."""
    materialize(conn, playbook, as_of)
    return store.select_members(conn, filters, limit, columns)


def member_csv_rows(
    conn: sqlite3.Connection,
    playbook: Playbook,
    as_of: date,
    filters: dict[str, str],
    columns: list[str],
    raw_columns: list[str],
    show_pii: bool,
    limit: int | None = None,
) -> Iterator[tuple[bool, Sequence[Any]]]:
    """Materialize, then (ready, row) per member: CSV cells of `columns` prepared by SQLite
    (ready), or, for the rare row it cannot prepare exactly, the raw `raw_columns` values."""
    materialize(conn, playbook, as_of)
    cursor = members_csv.select(conn, filters, limit, columns, show_pii)
    member_id = columns.index("member_id")
    for row in cursor:
        if row[-1]:
            raw = store.member_values(conn, str(row[member_id]), raw_columns)
            assert raw is not None, "the row was just read from the same member_metrics"
            yield False, raw
        else:
            yield True, row[:-1]
