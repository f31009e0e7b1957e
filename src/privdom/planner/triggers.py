"""Rule x day -> candidates: which members or groups a rule fires for, with the event date.

Everything about members is one SQL query per rule over member_metrics (see store.plan_queries);
Python only walks the rows that fire.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from privdom.calendar import nodes_due
from privdom.planner.models import MEMBER_ACTIONS, Candidate
from privdom.playbook.models import (
    WEEKDAYS,
    DailyTrigger,
    EnteredSegmentTrigger,
    GroupCreatedTrigger,
    GroupNearCapacityTrigger,
    GroupSilentTrigger,
    InactiveDaysTrigger,
    MemberEventTrigger,
    NodeTrigger,
    NthOrderTrigger,
    Playbook,
    Rule,
    Stage,
    parse_hhmm,
)
from privdom.store import plan_queries as q
from privdom.store.tasks import tier_episode


def due_at(day: date, at: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, parse_hhmm(at), tzinfo=zone)


def window(day: date, offset: int, catch_up: int) -> q.Window:
    """Event dates that make a rule with `offset` due today, or due earlier but still catchable."""
    hi = day - timedelta(days=offset)
    return q.Window((hi - timedelta(days=catch_up)).isoformat(), hi.isoformat())


def birthday_days(day: date, offset: int, catch_up: int) -> list[tuple[str, str]]:
    """(birthday MM-DD, event date) pairs for the window; 02-29 birthdays fall on 02-28 in common years."""
    out: list[tuple[str, str]] = []
    for back in range(catch_up + 1):
        event = day - timedelta(days=offset + back)
        out.append((event.strftime("%m-%d"), event.isoformat()))
        leap = event.year % 4 == 0 and (event.year % 100 != 0 or event.year % 400 == 0)
        if event.month == 2 and event.day == 28 and not leap:
            out.append(("02-29", event.isoformat()))
    return out


def calendar_fires(
    trigger: DailyTrigger | NodeTrigger, playbook: Playbook, day: date
) -> list[tuple[date, dict[str, Any]]]:
    """The event dates a daily or node trigger fires for on `day` (no catch-up: a missed post is stale)."""
    if isinstance(trigger, DailyTrigger):
        if trigger.weekdays and WEEKDAYS[day.weekday()] not in trigger.weekdays:
            return []
        if (trigger.from_date and day < trigger.from_date) or (trigger.to_date and day > trigger.to_date):
            return []
        return [(day, {})]
    return [(node.date, {"node": node}) for node in nodes_due(playbook, trigger.node, day, trigger.offset)]


def rule_candidates(
    conn: sqlite3.Connection,
    playbook: Playbook,
    stage: Stage,
    rule: Rule,
    day: date,
    *,
    group_only: bool = False,
    group_id: str | None = None,
    events: list[sqlite3.Row] | None = None,
) -> list[Candidate]:
    """The rule's candidates on `day`; `events` are its member_events rows when already read (see
    `candidates`)."""
    zone = ZoneInfo(playbook.timezone)
    when = rule.when
    default_owner = playbook.limits.default_owner
    due = due_at(day, when.at, zone)
    types = rule.audience.group_types
    owner = rule.audience.owner

    def group_cands(rows: list[sqlite3.Row], facts: dict[str, Any] | None = None) -> list[Candidate]:
        return [
            Candidate(
                stage,
                rule,
                None,
                str(r["group_id"]),
                str(r["owner"]),
                str(r["event_date"]),
                due,
                {**(facts or {}), **{k: r[k] for k in r.keys() if k in ("size", "capacity", "last_message")}},
            )
            for r in rows
        ]

    if isinstance(when, DailyTrigger | NodeTrigger):
        out: list[Candidate] = []
        for event, facts in calendar_fires(when, playbook, day):
            if rule.action == "group_post":
                rows = q.groups_of_types(conn, types, owner, default_owner, day.isoformat(), group_id)
                out += [
                    Candidate(
                        stage, rule, None, str(r["group_id"]), str(r["owner"]), event.isoformat(), due, facts
                    )
                    for r in rows
                ]
            elif group_only:
                continue
            elif rule.action == "moment_post":
                out += [
                    Candidate(stage, rule, None, None, o, event.isoformat(), due, facts)
                    for o in q.owners(conn, default_owner, owner)
                ]
            elif rule.action in MEMBER_ACTIONS:
                aud = member_audience(rule, default_owner)
                out += [
                    Candidate(
                        stage, rule, str(r["member_id"]), None, str(r["owner"]), event.isoformat(), due, facts
                    )
                    for r in q.audience_members(conn, aud, default_owner, event.isoformat())
                ]
        return out

    if isinstance(when, GroupCreatedTrigger | GroupSilentTrigger | GroupNearCapacityTrigger):
        if isinstance(when, GroupCreatedTrigger):
            w = window(day, when.offset, rule.catch_up_days)
            return group_cands(q.groups_created(conn, types, owner, default_owner, w, day.isoformat()))
        if isinstance(when, GroupSilentTrigger):
            # once per silent spell, on any morning of it: the spell's id is the day it reached `days`
            w = q.Window("0000-01-01", day.isoformat())
            rows = q.groups_silent(conn, types, owner, default_owner, when.days, w, day.isoformat())
            return group_cands(rows, {"days": when.days})
        rows = q.groups_near_capacity(conn, types, owner, default_owner, when.ratio, rule.id, day.isoformat())
        return group_cands(rows)

    if group_only:
        return []
    query = event_query(rule, playbook, day)
    if events is not None:
        rows = events
    elif query is not None:
        rows = q.member_events(
            conn, query.trigger, query.window, query.audience, default_owner,
            extra=query.extra, extra_params=query.extra_params,
        )
    elif isinstance(when, NthOrderTrigger):
        rows = q.nth_order_events(
            conn,
            when.n,
            window(day, when.offset, rule.catch_up_days),
            member_audience(rule, default_owner),
            default_owner,
            day.isoformat(),
        )
    elif isinstance(when, MemberEventTrigger) and when.trigger == "birthday":
        rows = q.birthday_events(
            conn,
            birthday_days(day, when.offset, rule.catch_up_days),
            member_audience(rule, default_owner),
            default_owner,
        )
    else:
        assert isinstance(when, MemberEventTrigger) and when.trigger == "joined_group"
        rows = q.joined_group_events(
            conn,
            window(day, when.offset, rule.catch_up_days),
            member_audience(rule, default_owner),
            default_owner,
            types,
        )
    tier_up = isinstance(when, MemberEventTrigger) and when.trigger == "tier_up"
    # A post in the group a member joined is made in that group: by its owner (群主), who is in it,
    # not by the member's owner, who may not be; a group without one leaves it to the member's.
    in_group = rule.action == "group_post" and isinstance(when, MemberEventTrigger) and when.trigger == "joined_group"
    return [
        Candidate(
            stage,
            rule,
            str(r["member_id"]),
            None if r["group_id"] is None else str(r["group_id"]),
            str((in_group and r["group_owner"]) or r["owner"]),
            str(r["event_date"]),
            due,
            {},
            # once per tier reached: a refund and a new order crossing the line again are not news
            episode=tier_episode(str(r["tier"])) if tier_up else None,
        )
        for r in rows
    ]


def event_query(rule: Rule, playbook: Playbook, day: date) -> q.EventQuery | None:
    """The `member_events` query of a rule whose event is a member's date (joined, first order,
    tier reached, segment entered, last order); None for the other rules."""
    when = rule.when
    default_owner = playbook.limits.default_owner
    if isinstance(when, InactiveDaysTrigger):
        w = window(day, when.days, rule.catch_up_days)
        return q.EventQuery("inactive_days", w, member_audience(rule, default_owner))
    if isinstance(when, EnteredSegmentTrigger):
        w = window(day, when.offset, rule.catch_up_days)
        return q.EventQuery(
            "entered_segment", w, member_audience(rule, default_owner), ["m.lifecycle = ?"], [when.segment]
        )
    if not isinstance(when, MemberEventTrigger) or when.trigger in ("birthday", "joined_group"):
        return None
    w = window(day, when.offset, rule.catch_up_days)
    if when.trigger == "tier_up":
        lowest = min(playbook.tiers.levels, key=lambda lv: lv.min).id
        extra, params = ["m.tier <> ?"], [lowest]  # reaching the entry level is joining, not a tier-up
        if when.tier:
            extra.append("m.tier = ?")
            params.append(when.tier)
        return q.EventQuery("tier_up", w, member_audience(rule, default_owner), extra, params)
    return q.EventQuery(when.trigger, w, member_audience(rule, default_owner))


def candidates(
    conn: sqlite3.Connection,
    playbook: Playbook,
    day: date,
    *,
    group_only: bool = False,
    group_id: str | None = None,
) -> list[Candidate]:
    """Every rule's candidates on `day`, in the playbook's order of rules.

    Rules whose event is the same member date over overlapping windows (three win-back rules on
    entering a segment, a few days apart) are read in one query: at a million members, reading a
    member's row is the cost, and each such query reads tens of thousands."""
    rules = list(playbook.stages.rules())
    events: dict[int, list[sqlite3.Row]] = {}
    if not group_only:
        queries = [(i, query) for i, (_, rule) in enumerate(rules) if (query := event_query(rule, playbook, day))]
        for together in _overlapping(queries):
            if len(together) > 1:
                found = q.member_events_together(conn, [query for _, query in together], playbook.limits.default_owner)
                events.update((i, rows) for (i, _), rows in zip(together, found, strict=True))
    out: list[Candidate] = []
    for i, (stage, rule) in enumerate(rules):
        out += rule_candidates(
            conn, playbook, stage, rule, day, group_only=group_only, group_id=group_id, events=events.get(i)
        )
    return out


def _overlapping(queries: list[tuple[int, q.EventQuery]]) -> list[list[tuple[int, q.EventQuery]]]:
    """The queries in runs of one trigger whose windows overlap or touch (a run of one stands alone)."""
    runs: list[list[tuple[int, q.EventQuery]]] = []
    reach = ""  # the day after the last day the current run's windows cover
    for i, query in sorted(queries, key=lambda iq: (iq[1].trigger, iq[1].window.lo)):
        if not runs or runs[-1][0][1].trigger != query.trigger or query.window.lo > reach:
            runs.append([])
            reach = ""
        runs[-1].append((i, query))
        reach = max(reach, (date.fromisoformat(query.window.hi) + timedelta(days=1)).isoformat())
    return runs


def member_audience(rule: Rule, default_owner: str) -> q.MemberFilter:
    """The member filter of a member rule. Its group types keep members who are in such a group,
    except where the types name the group itself: the invite's group, the group joined."""
    own_group = rule.action == "invite_to_group" or rule.when.trigger == "joined_group"
    return q.audience_filter(rule.audience, default_owner, in_group_types=not own_group)
