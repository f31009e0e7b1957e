"""Member metrics as of a date: the one table every later step reads.

Contract (planner, reports and the members commands code against it):

`materialize(conn, playbook, as_of)` creates or replaces the TEMP table `member_metrics` (indexed
on member_id), one row per member existing as of `as_of` (joined_at local date <= as_of, or
joined_at unknown), with these columns:

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
from datetime import date, timedelta

from privdom.playbook.models import Playbook
from privdom.segments import segment_specs, tier_levels
from privdom.store import metrics as store


def materialize(conn: sqlite3.Connection, playbook: Playbook, as_of: date) -> None:
    """Create or replace TEMP table member_metrics as of `as_of` (see the module docstring)."""
    window = playbook.tiers.downgrade_window_days
    if window is None and playbook.tiers.metric == "spend_365":
        window = 365
    store.materialize(
        conn,
        store.MetricsQuery(
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
        ),
    )


def nth_order_dates(conn: sqlite3.Connection, n: int, as_of: date) -> dict[str, str]:
    """member_id -> local date (YYYY-MM-DD) of the member's n-th counted order on or before as_of."""
    return store.nth_order_dates(conn, n, (as_of + timedelta(days=1)).isoformat())
