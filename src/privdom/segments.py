"""Tiers, lifecycle segments, RFM classes: what the playbook says, turned into SQL specs and labels.

Pure functions over the playbook; the SQL itself is in `privdom.store.metrics`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from privdom.bounds import MAX_COUNT
from privdom.errors import PrivdomError
from privdom.playbook.conditions import compile_condition
from privdom.playbook.models import Condition, Playbook, Segment
from privdom.store import metrics as store
from privdom.store.metrics import SegmentSql, TierLevel

RFM_CLASSES: dict[str, tuple[str, str]] = {
    "important_value": ("重要价值", "Important value"),
    "important_development": ("重要发展", "Important development"),
    "important_retain": ("重要保持", "Important retain"),
    "important_winback": ("重要挽留", "Important win-back"),
    "general_value": ("一般价值", "General value"),
    "general_development": ("一般发展", "General development"),
    "general_retain": ("一般保持", "General retain"),
    "general_winback": ("一般挽留", "General win-back"),
}

def tier_levels(playbook: Playbook) -> list[TierLevel]:
    """Level thresholds in the tier metric's units (growth points, or fen for spend metrics)."""
    scale = 1 if playbook.tiers.in_growth else 100
    levels = [TierLevel(level.id, level.min * scale) for level in playbook.tiers.levels]
    return sorted(levels, key=lambda lv: lv.threshold)


def segment_since_rule(segment: Segment, earlier: list[Segment]) -> tuple[str, int] | None:
    """How the date a member entered `segment` derives from their orders, when it does.

    * `recency_days > N` (or `>= N`): the day recency passed N, i.e. last order + N + 1 (or + N);
    * `orders_total == k` / `>= k`: the date of the k-th order (k = 0: the joined date);
    * otherwise: one order more than the largest `orders_total == k` before it (mature = 2nd order).
    Any other condition has no derivable entry date (NULL).
    """
    cond = segment.when
    if cond is None:
        ks = [_orders_k(s.when) for s in earlier if s.when is not None]
        return ("nth", max((k for k in ks if k is not None), default=0) + 1)
    if len(cond) != 1:
        return None
    (metric, spec), = cond.items()
    if not isinstance(spec, dict) or len(spec) != 1:
        return None
    (op, value), = spec.items()
    if metric == "recency_days" and isinstance(value, int) and op in ("gt", "gte"):
        return ("recency", value + 1 if op == "gt" else value)
    k = _orders_k(cond)
    return ("nth", k) if k is not None else None


def _orders_k(cond: Condition | None) -> int | None:
    if not cond or len(cond) != 1 or "orders_total" not in cond:
        return None
    spec = cond["orders_total"]
    if isinstance(spec, dict) and len(spec) == 1:
        (op, value), = spec.items()
        if op in ("eq", "gte", "lte") and isinstance(value, int) and value >= 0:
            return value
    return None


# Computed after the lifecycle (population rankings), so a lifecycle condition cannot use them.
NOT_IN_LIFECYCLE = ("lifecycle", "rfm_r", "rfm_f", "rfm_m", "rfm_class")


def days_compared(playbook: Playbook, metric: str) -> tuple[int, ...] | None:
    """The day counts the lifecycle conditions compare `metric` (recency_days, tenure_days) with.

    A member whose data does not change can change segment on a later date only when its day count
    crosses one of them (a metrics snapshot is patched on that; store/metrics_patch.py). None when
    a value is not a whole number of days, so that no crossing can be missed.
    """
    found: set[int] = set()

    def walk(cond: Any) -> bool:
        if isinstance(cond, list):
            return all(walk(c) for c in cond)
        if not isinstance(cond, dict):
            return True
        for key, spec in cond.items():
            if key in ("all", "any", "not"):
                if not walk(spec):
                    return False
            elif key == metric:
                values = list(spec.values()) if isinstance(spec, dict) else [spec]
                flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
                for v in flat:
                    if isinstance(v, bool) and next(iter(spec), None) == "is_null":
                        continue  # {is_null: true}: no day count
                    if not isinstance(v, int) or isinstance(v, bool):
                        return False
                    found.add(v)
        return True

    for seg in playbook.lifecycle:
        if seg.when is not None and not walk(seg.when):
            return None
    return tuple(sorted(found))


def _metrics_used(cond: Any) -> set[str]:
    if isinstance(cond, dict):
        used = set()
        for key, value in cond.items():
            used |= _metrics_used(value) if key in ("all", "any", "not") else {str(key)}
        return used
    if isinstance(cond, list):
        return set().union(*(_metrics_used(c) for c in cond)) if cond else set()
    return set()


def segment_specs(playbook: Playbook, alias: str = "c") -> list[SegmentSql]:
    specs: list[SegmentSql] = []
    for i, seg in enumerate(playbook.lifecycle):
        late = sorted(_metrics_used(seg.when) & set(NOT_IN_LIFECYCLE))
        if late:
            raise PrivdomError(
                f"lifecycle[{i}] ({seg.id}).when uses {', '.join(late)}, decided only after the lifecycle",
                hint="write lifecycle conditions over order, spend, activity, tier or koc metrics",
            )
        since = segment_since_rule(seg, list(playbook.lifecycle[:i]))
        if seg.when is None:
            specs.append(SegmentSql(seg.id, None, (), since))
            break
        sql, params = compile_condition(seg.when, alias)
        specs.append(SegmentSql(seg.id, sql, tuple(params), since))
    return specs


# ---------------------------------------------------------------- distributions

NO_ORDERS = ("无订单", "No orders")


@dataclass(frozen=True)
class ClassShare:
    id: str | None
    zh: str
    en: str
    members: int
    share: float
    spend_fen: int
    spend_share: float
    min: int | None = None  # tiers: the threshold used (what-if value when given)
    members_now: int | None = None  # tiers with --what-if: the count under the playbook's thresholds


@dataclass(frozen=True)
class Distribution:
    date: date
    model: str
    members: int
    spend_fen: int
    classes: list[ClassShare]
    top20_members: int
    top20_spend_share: float  # the 80/20 line: share of spend from the top 20% of members


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _distribution(
    conn: sqlite3.Connection,
    as_of: date,
    model: str,
    labels: list[tuple[str | None, str, str]],
    counts: dict[str | None, tuple[int, int]],
    extra: dict[str | None, dict[str, Any]] | None = None,
) -> Distribution:
    members = sum(c for c, _ in counts.values())
    spend = sum(s for _, s in counts.values())
    classes = []
    for key, zh, en in labels:
        n, fen = counts.get(key, (0, 0))
        classes.append(ClassShare(key, zh, en, n, _ratio(n, members), fen, _ratio(fen, spend),
                                  **(extra or {}).get(key, {})))
    top, top_spend, _ = store.top_share(conn, 0.2)
    return Distribution(as_of, model, members, spend, classes, top, _ratio(top_spend, spend))


def parse_what_if(playbook: Playbook, values: list[str]) -> dict[str, int]:
    """`silver=2500` -> {'silver': 2500}, checked against the playbook's levels."""
    ids = [level.id for level in playbook.tiers.levels]
    out: dict[str, int] = {}
    for value in values:
        level, _, number = value.partition("=")
        if level not in ids:
            raise PrivdomError(f"--what-if {value!r}: no tier {level!r}", hint=f"tiers are: {', '.join(ids)}")
        digits = number.strip()
        if not (digits.isascii() and digits.isdigit()):
            raise PrivdomError(f"--what-if {value!r}: {number!r} is not a whole number",
                               hint="write the new threshold as TIER=NUMBER, e.g. silver=2500")
        if len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
            raise PrivdomError(f"--what-if {value!r}: {digits} is above the largest threshold, {MAX_COUNT}",
                               hint="write the new threshold as TIER=NUMBER, e.g. silver=2500")
        out[level] = int(digits)
    return out


def tier_distribution(
    conn: sqlite3.Connection, playbook: Playbook, as_of: date, what_if: dict[str, int] | None = None
) -> Distribution:
    """Members and spend per tier as of `as_of` (member_metrics must be materialized for it)."""
    now = store.distribution(conn, "tier")
    levels = playbook.tiers.levels
    labels: list[tuple[str | None, str, str]] = [(lv.id, lv.zh, lv.en) for lv in levels]
    if not what_if:
        extra: dict[str | None, dict[str, Any]] = {lv.id: {"min": lv.min} for lv in levels}
        return _distribution(conn, as_of, "tiers", labels, now, extra)
    scale = 1 if playbook.tiers.in_growth else 100
    mins = {lv.id: what_if.get(lv.id, lv.min) for lv in levels}
    counts = store.tier_distribution(conn, [TierLevel(k, v * scale) for k, v in mins.items()])
    extra = {lv.id: {"min": mins[lv.id], "members_now": now.get(lv.id, (0, 0))[0]} for lv in levels}
    return _distribution(conn, as_of, "tiers", labels, counts, extra)


def segment_distribution(
    conn: sqlite3.Connection, playbook: Playbook, as_of: date, model: str
) -> Distribution:
    if model == "rfm":
        labels: list[tuple[str | None, str, str]] = [(k, zh, en) for k, (zh, en) in RFM_CLASSES.items()]
        labels.append((None, *NO_ORDERS))
        return _distribution(conn, as_of, "rfm", labels, store.distribution(conn, "rfm_class"))
    counts = store.distribution(conn, "lifecycle")
    labels = [(s.id, s.zh, s.en) for s in playbook.lifecycle]
    if None in counts:
        labels.append((None, "未分类", "Unmatched"))
    return _distribution(conn, as_of, "lifecycle", labels, counts)
