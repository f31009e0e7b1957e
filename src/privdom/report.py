"""The operations report: funnel, tiers, lifecycle and its 30-day flow, group health, owner workload.

One function, `build_report`, turns the workspace into a `Report` model; the CLI renders it as
tables, JSON or a self-contained HTML page. Member figures come from `metrics.materialize`, so the
report and `privdom members` can never disagree.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from pydantic import BaseModel

from privdom.metrics import materialize
from privdom.playbook import Playbook
from privdom.playbook.models import GroupSilentTrigger
from privdom.segments import Distribution, segment_distribution, tier_distribution
from privdom.store import report as store

FLOW_DAYS = 30
# The id of members no lifecycle condition matched (`privdom segments` shows them as 未分类 Unmatched).
UNMATCHED = "unmatched"
# When the playbook has no group_silent rule, a group is called silent after this many quiet days.
SILENT_AFTER_DAYS = 3
# The key of members who joined inside the flow window: they had no segment 30 days ago.
NEW_MEMBERS = "new"


class Label(BaseModel):
    id: str
    zh: str
    en: str


class FunnelStep(Label):
    members: int
    # Share of the previous step that reached this one; None for the first step.
    rate_from_previous: float | None
    rate_from_top: float | None


class Share(Label):
    members: int
    share: float | None
    spend_fen: int
    spend_share: float | None


class FlowRow(Label):
    """Members who were in segment `id` at the start of the window, by the segment they are in now."""

    counts: dict[str, int]
    total: int


class Flow(BaseModel):
    from_date: date
    to_date: date
    columns: list[Label]
    rows: list[FlowRow]
    moved: int
    stayed: int
    joined: int


class GroupHealth(BaseModel):
    group_id: str
    name: str | None
    type: str | None
    owner: str | None
    size: int
    capacity: int | None
    fill: float | None
    messages_7: int
    images_7: int
    messages_30: int
    images_30: int
    last_message_date: date | None
    # Days since the last message (or since creation when there was none); None when unknown.
    silent_days: int | None
    silent: bool


class OwnerLoad(BaseModel):
    owner: str | None
    members: int
    open_tasks: int
    overdue_tasks: int
    # Of `members`, those without an owner of their own: the playbook's `limits.default_owner`
    # takes them and their tasks.
    unassigned_members: int = 0


class Report(BaseModel):
    brand: str
    as_of: date
    members: int
    funnel: list[FunnelStep]
    tiers: list[Share]
    lifecycle: list[Share]
    flow: Flow
    groups: list[GroupHealth]
    silent_groups: list[str]
    owners: list[OwnerLoad]


def health(g: GroupHealth) -> tuple[bool, int, int, str]:
    """Worst first: silent groups, the longest silent first, then the quietest over 30 days."""
    return (not g.silent, -(g.silent_days or 0), g.messages_30, g.group_id)


FUNNEL = (
    ("joined", "入会", "Joined"),
    ("first_order", "首单", "First order"),
    ("repeat", "复购（≥2单）", "Repeat (2+ orders)"),
)


def build_report(conn: sqlite3.Connection, playbook: Playbook, as_of: date) -> Report:
    """Everything the report shows, as of the end of `as_of` in the playbook's timezone."""
    start = as_of - timedelta(days=FLOW_DAYS)
    materialize(conn, playbook, start)
    store.keep_segments_as_before(conn)
    try:
        materialize(conn, playbook, as_of)
        moves = store.segment_flow(conn)
    finally:
        store.drop_segments_before(conn)
    counts = store.funnel_counts(conn)
    tiers = _shares(tier_distribution(conn, playbook, as_of))
    segments = [(s.id, s.zh, s.en) for s in playbook.lifecycle]
    lifecycle = _shares(segment_distribution(conn, playbook, as_of, "lifecycle"))
    silent_after = silent_after_days(playbook)
    groups = sorted((_group_health(row, as_of, silent_after) for row in store.group_rows(conn, as_of)), key=health)
    return Report(
        brand=playbook.brand,
        as_of=as_of,
        members=counts.members,
        funnel=_funnel(counts),
        tiers=tiers,
        lifecycle=lifecycle,
        flow=_flow(moves, segments, start, as_of),
        groups=groups,
        silent_groups=[g.group_id for g in groups if g.silent],
        owners=_owners(store.members_per_owner(conn), store.open_tasks_per_owner(conn, as_of),
                       playbook.limits.default_owner),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _funnel(counts: store.FunnelCounts) -> list[FunnelStep]:
    values = (counts.members, counts.buyers, counts.repeat_buyers)
    steps: list[FunnelStep] = []
    for i, ((key, zh, en), value) in enumerate(zip(FUNNEL, values, strict=True)):
        steps.append(
            FunnelStep(
                id=key,
                zh=zh,
                en=en,
                members=value,
                rate_from_previous=None if i == 0 else _rate(value, values[i - 1]),
                rate_from_top=_rate(value, values[0]),
            )
        )
    return steps


def _shares(distribution: Distribution) -> list[Share]:
    """The same classes, counts and labels as `privdom tiers` / `privdom segments`; a share is None
    (not 0) when there is nothing to share, so an empty workspace does not read as 0%."""
    return [
        Share(
            id=c.id or UNMATCHED,
            zh=c.zh,
            en=c.en,
            members=c.members,
            share=c.share if distribution.members else None,
            spend_fen=c.spend_fen,
            spend_share=c.spend_share if distribution.spend_fen else None,
        )
        for c in distribution.classes
    ]


def _flow(moves: list[store.Move], segments: list[tuple[str, str, str]], start: date, end: date) -> Flow:
    columns = [Label(id=key, zh=zh, en=en) for key, zh, en in segments]
    known = {c.id for c in columns}
    for move in moves:
        for key in (move.before, move.now):
            if key is not None and key not in known:
                columns.append(Label(id=key, zh=key, en=key))
                known.add(key)
    sources = [Label(id=NEW_MEMBERS, zh="新加入", en="Joined since"), *columns]
    counts: dict[str, dict[str, int]] = {s.id: {c.id: 0 for c in columns} for s in sources}
    moved = stayed = joined = 0
    for move in moves:
        before = move.before if move.existed_before else NEW_MEMBERS
        if before is None or move.now is None:
            continue
        counts[before][move.now] += move.members
        if not move.existed_before:
            joined += move.members
        elif before == move.now:
            stayed += move.members
        else:
            moved += move.members
    rows = [
        FlowRow(id=s.id, zh=s.zh, en=s.en, counts=counts[s.id], total=sum(counts[s.id].values())) for s in sources
    ]
    return Flow(from_date=start, to_date=end, columns=columns, rows=rows, moved=moved, stayed=stayed, joined=joined)


def silent_after_days(playbook: Playbook) -> int:
    """The report calls a group silent when the playbook's earliest group_silent rule would fire for it,
    so the report and the plan never disagree about which groups need waking."""
    days = [rule.when.days for _, rule in playbook.stages.rules() if isinstance(rule.when, GroupSilentTrigger)]
    return min(days, default=SILENT_AFTER_DAYS)


def _group_health(row: store.GroupRow, as_of: date, silent_after: int) -> GroupHealth:
    last = date.fromisoformat(row.last_message_on) if row.last_message_on else None
    since = last or _date_or_none(row.created_on)
    silent_days = (as_of - since).days if since else None
    return GroupHealth(
        group_id=row.group_id,
        name=row.name,
        type=row.type,
        owner=row.owner,
        size=row.size,
        capacity=row.capacity,
        fill=_rate(row.size, row.capacity) if row.capacity else None,
        messages_7=row.messages_7,
        images_7=row.images_7,
        messages_30=row.messages_30,
        images_30=row.images_30,
        last_message_date=last,
        silent_days=silent_days,
        # A group with no message on record and no creation date has been silent as far as we know.
        silent=silent_days is None or silent_days >= silent_after,
    )


def _date_or_none(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _owners(
    members: list[tuple[str | None, int]], tasks: list[store.OwnerTasks], default_owner: str
) -> list[OwnerLoad]:
    """Each owner's members and open tasks. Members without an owner are the default owner's, as
    their tasks are (the planner gives them to `limits.default_owner`): one row says both."""
    loads: dict[str, OwnerLoad] = {}
    for owner, n in members:
        key = owner or default_owner
        load = loads.get(key) or OwnerLoad(owner=key, members=0, open_tasks=0, overdue_tasks=0)
        loads[key] = load.model_copy(update={
            "members": load.members + n,
            "unassigned_members": load.unassigned_members + (0 if owner else n),
        })
    for t in tasks:
        key = t.owner or default_owner
        load = loads.get(key) or OwnerLoad(owner=key, members=0, open_tasks=0, overdue_tasks=0)
        loads[key] = load.model_copy(update={"open_tasks": load.open_tasks + t.open_tasks,
                                             "overdue_tasks": load.overdue_tasks + t.overdue_tasks})
    # Busiest first.
    return sorted(loads.values(), key=lambda o: (-o.members, -o.open_tasks, o.owner or ""))
