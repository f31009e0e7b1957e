"""Rules in a sentence, for `privdom sop list`: what fires, for whom, doing what."""

from __future__ import annotations

from typing import Any

from privdom.playbook.conditions import describe_condition
from privdom.playbook.models import Audience, Playbook, Rule, Stage


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def trigger_sentence(rule: Rule) -> str:
    when: Any = rule.when
    at = f"at {when.at}"
    kind = when.trigger
    if kind == "daily":
        days = f" on {', '.join(when.weekdays)}" if when.weekdays else ""
        span = ""
        if when.from_date or when.to_date:
            span = f" from {when.from_date or 'the start'} to {when.to_date or 'the end'}"
        return f"every day{days} {at}{span}" if not days else f"every week{days} {at}{span}"
    if kind == "node":
        offset = when.offset
        t = "T-0" if offset == 0 else (f"T{offset}" if offset < 0 else f"T+{offset}")
        return f"{t} of node {when.node} {at}"
    if kind == "inactive_days":
        return f"after {_days(when.days)} without an order {at}"
    if kind == "group_silent":
        return f"when a group has been silent for {_days(when.days)} {at}"
    if kind == "group_near_capacity":
        return f"when a group reaches {round(when.ratio * 100)}% of capacity {at}"
    event = {
        "joined": "joining (friend added / registered)",
        "joined_group": "joining a group",
        "first_order": "the first order",
        "birthday": "the birthday",
        "tier_up": f"reaching tier {when.tier}" if getattr(when, "tier", None) else "a tier upgrade",
        "entered_segment": f"entering segment {getattr(when, 'segment', '')}",
        "nth_order": f"order #{getattr(when, 'n', '')}",
        "group_created": "the group's creation",
    }[kind]
    offset = when.offset
    return f"{'on the day of' if offset == 0 else _days(offset) + ' after'} {event} {at}"


def audience_sentence(audience: Audience) -> str:
    parts: list[str] = []
    if audience.tiers:
        parts.append(f"tier {' or '.join(audience.tiers)}")
    if audience.segments:
        parts.append(f"segment {' or '.join(audience.segments)}")
    if audience.rfm_classes:
        parts.append(f"RFM class {' or '.join(audience.rfm_classes)}")
    if audience.group_types:
        parts.append(f"{' or '.join(audience.group_types)} groups")
    if audience.tags:
        parts.append(f"tagged {' or '.join(audience.tags)}")
    if audience.owner:
        parts.append(f"owner {audience.owner}")
    if audience.koc is not None:
        parts.append("KOC" if audience.koc else "not KOC")
    if audience.where:
        parts.append(describe_condition(audience.where))
    return "; ".join(parts) or "everyone"


def rule_rows(playbook: Playbook) -> list[dict[str, Any]]:
    """One dict per rule, in stage order: the stable JSON of `privdom sop list`."""
    rows: list[dict[str, Any]] = []
    stage: Stage
    for stage, rule in playbook.stages.rules():
        rows.append({
            "stage": stage,
            "id": rule.id,
            "title_zh": rule.title.zh,
            "title_en": rule.title.en,
            "trigger": rule.when.trigger,
            "when": trigger_sentence(rule),
            "audience": audience_sentence(rule.audience),
            "action": rule.action,
            "content_type": rule.content_type,
            "coupon": rule.coupon,
            "priority": rule.priority,
            "catch_up_days": rule.catch_up_days,
        })
    return rows
