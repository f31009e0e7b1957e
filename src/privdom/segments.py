"""Tiers, lifecycle segments, RFM classes: what the playbook says, turned into SQL specs and labels.

Pure functions over the playbook; the SQL itself is in `privdom.store.metrics`.
"""

from __future__ import annotations

from typing import Any

from privdom.playbook.models import Condition, Playbook, Segment
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

# Playbook conditions write money in yuan; member_metrics holds fen.
MONEY_METRICS = frozenset({"spend_total", "spend_365"})
_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def compile_condition(cond: Condition, alias: str) -> tuple[str, list[Any]]:
    """Condition -> (SQL fragment, params) over member_metrics columns of `alias`."""
    try:
        from privdom.playbook import conditions  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # the playbook package's compiler is not available yet
        return _compile_local(cond, alias)
    sql, params = conditions.compile_condition(cond, alias)
    return str(sql), list(params)


def _compile_local(cond: Condition, alias: str) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for key, spec in cond.items():
        if key in ("all", "any"):
            subs = [_compile_local(c, alias) for c in spec]
            joiner = " AND " if key == "all" else " OR "
            parts.append("(" + joiner.join(s for s, _ in subs) + ")")
            for _, p in subs:
                params.extend(p)
            continue
        for op, value in spec.items():
            parts.append(f"{alias}.{key} {_OPS[op]} ?")
            params.append(round(value * 100) if key in MONEY_METRICS else value)
    return " AND ".join(parts) or "1", params


def tier_levels(playbook: Playbook) -> list[TierLevel]:
    """Level thresholds in the tier metric's units (growth points, or fen for spend metrics)."""
    scale = 1 if playbook.tiers.metric == "growth" else 100
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


def segment_specs(playbook: Playbook, alias: str = "c") -> list[SegmentSql]:
    specs: list[SegmentSql] = []
    for i, seg in enumerate(playbook.lifecycle):
        since = segment_since_rule(seg, list(playbook.lifecycle[:i]))
        if seg.when is None:
            specs.append(SegmentSql(seg.id, None, (), since))
            break
        sql, params = compile_condition(seg.when, alias)
        specs.append(SegmentSql(seg.id, sql, tuple(params), since))
    return specs
