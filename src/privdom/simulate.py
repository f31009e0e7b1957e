"""`privdom simulate`: can the team carry this playbook? Mornings replayed on a copy of the workspace.

It reports each owner's load per day against capacity, how often members are touched (the 7-day
cap, and WeCom's 4 mass messages a month, read as any 30 days), what waited and why, rules that
never fired, and newcomers who never got the newcomer sequence (the `joined` rules) to its end.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import date, timedelta

from pydantic import BaseModel

from privdom.planner.models import PRIVATE_TOUCHES
from privdom.playbook.models import Playbook, Rule
from privdom.replay import Morning, replay
from privdom.store import replay as store

WECOM_MONTHLY_LIMIT = 4  # mass messages a WeCom customer may receive from a company in a month


class OwnerDay(BaseModel):
    date: str
    owner: str
    tasks: int  # everything to do, group posts included
    member_tasks: int  # what the owner's daily capacity counts
    capacity: int
    over_capacity: bool


class TouchLoad(BaseModel):
    """Members by the most private touches they got in any `window_days` days of the period."""

    window_days: int
    limit: int
    members: dict[int, int]  # most touches in a window -> members (touched members only)
    over_limit: int


class Newcomers(BaseModel):
    rules: list[str]  # the sequence, by offset
    entered: int  # members whose first step was planned, with the whole sequence due by the last day
    completed: int
    incomplete: int
    stopped_after: dict[str, int]  # the last step an incomplete member got -> members


class Simulation(BaseModel):
    first: date
    last: date
    done_rate: float
    days: int
    tasks: int
    done: int
    load: list[OwnerDay]
    touches_7_days: TouchLoad
    touches_30_days: TouchLoad
    deferred_by_cause: dict[str, int]  # task-mornings: a task that waits two mornings counts twice
    held_out_by_rule: dict[str, int]
    never_fired: list[str]
    newcomers: Newcomers
    by_owner: dict[str, int]  # tasks per owner over the period, from the plans themselves


def simulate(
    conn: sqlite3.Connection, playbook: Playbook, first: date, last: date, *, done_rate: float
) -> Simulation:
    """Replay first..last on `conn`, which must be a copy of the workspace (`replay.workspace_copy`)."""
    mornings = replay(conn, playbook, first, last, done_rate=done_rate)
    d1, d2 = first.isoformat(), last.isoformat()
    capacity = playbook.limits.owner_daily_capacity
    load = [
        OwnerDay(
            date=str(r["date"]), owner=str(r["owner"]), tasks=int(r["tasks"]), member_tasks=int(r["member_tasks"]),
            capacity=capacity, over_capacity=int(r["member_tasks"]) > capacity,
        )
        for r in store.owner_load(conn, d1, d2)
    ]
    touch_rows = store.touches(conn, PRIVATE_TOUCHES, (first - timedelta(days=29)).isoformat(), d2)
    fired = store.rule_tasks(conn, d1, d2)
    by_owner: Counter[str] = Counter()
    deferred: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for m in mornings:
        by_owner.update(m.by_owner)
        deferred.update(m.deferred_by_cause)
        held.update(m.held_out_by_rule)
    return Simulation(
        first=first,
        last=last,
        done_rate=done_rate,
        days=len(mornings),
        tasks=sum(m.tasks for m in mornings),
        done=sum(m.done for m in mornings),
        load=load,
        touches_7_days=touch_load(touch_rows, first, 7, playbook.limits.private_touches_per_7_days),
        touches_30_days=touch_load(touch_rows, first, 30, WECOM_MONTHLY_LIMIT),
        deferred_by_cause=dict(sorted(deferred.items())),
        held_out_by_rule=dict(sorted(held.items())),
        never_fired=[r.id for _, r in playbook.stages.rules() if r.id not in fired and not _deferred_only(r, mornings)],
        newcomers=newcomers(conn, playbook, first, last),
        by_owner=dict(sorted(by_owner.items())),
    )


def _deferred_only(rule: Rule, mornings: list[Morning]) -> bool:
    """A rule whose every task waited did fire: its problem is capacity, not its trigger."""
    return any(m.deferred_by_rule[rule.id] for m in mornings)


def touch_load(rows: list[sqlite3.Row], first: date, window: int, limit: int) -> TouchLoad:
    """The most touches each member got in any `window` days ending inside the period.

    The busiest window ends on a day with a touch, so only those ends are tried (a member has a
    handful), never every day of the period for every member."""
    per_member: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in rows:
        per_member[str(r["member_id"])].append((date.fromisoformat(str(r["date"])).toordinal(), int(r["touches"])))
    start = first.toordinal()
    most: Counter[int] = Counter()
    for days in per_member.values():
        ends = [d for d, _ in days if d >= start]
        if not ends:
            continue
        most[max(sum(n for d, n in days if end - window < d <= end) for end in ends)] += 1
    return TouchLoad(
        window_days=window, limit=limit, members=dict(sorted(most.items())),
        over_limit=sum(n for k, n in most.items() if k > limit),
    )


def newcomers(conn: sqlite3.Connection, playbook: Playbook, first: date, last: date) -> Newcomers:
    """Members whose newcomer sequence began in the period and was due to end by its last day."""
    steps = sorted(
        ((r.when.offset, r.id) for _, r in playbook.stages.rules() if r.when.trigger == "joined"),
    )
    if not steps:
        return Newcomers(rules=[], entered=0, completed=0, incomplete=0, stopped_after={})
    offsets = dict((rule, offset) for offset, rule in steps)
    last_offset = steps[-1][0]
    finals = {rule for offset, rule in steps if offset == last_offset}
    got: dict[str, set[str]] = defaultdict(set)
    joined: dict[str, str] = {}
    for r in store.sequence_tasks(conn, list(offsets), first.isoformat(), last.isoformat()):
        got[str(r["member_id"])].add(str(r["rule"]))
        joined[str(r["member_id"])] = str(r["event_date"])
    # Joined early enough that the first step fell in the period, late enough that the last did too.
    start, cutoff = (first - timedelta(days=steps[0][0])).isoformat(), (last - timedelta(days=last_offset)).isoformat()
    entered = [m for m, day in joined.items() if start <= day <= cutoff]
    stopped: Counter[str] = Counter()
    for m in entered:
        if not got[m] & finals:
            stopped[max(got[m], key=lambda rule: (offsets[rule], rule))] += 1
    incomplete = sum(stopped.values())
    return Newcomers(
        rules=[rule for _, rule in steps], entered=len(entered), completed=len(entered) - incomplete,
        incomplete=incomplete, stopped_after=dict(sorted(stopped.items())),
    )
