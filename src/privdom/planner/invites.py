"""Which group an `invite_to_group` task invites its member to.

Among the groups of the rule's `audience.group_types` (any type when it names none) that exist on
the day and have room (size < capacity), that the member is not already in:
  1. a group of the member's owner, preferring one of the member's store, then of their region;
  2. else a group of the member's store or region, whoever owns it;
  3. else the task is blocked, with the cause.
Each invite takes a place, so one day's invites never fill a group past its capacity.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from privdom.planner.models import Candidate
from privdom.playbook.models import GROUP_TYPES, Playbook
from privdom.store import plan_queries as q


@dataclass
class _Group:
    group_id: str
    name: str
    type: str
    owner: str
    region: str | None
    room: int


def assign_groups(conn: sqlite3.Connection, playbook: Playbook, cands: Sequence[Candidate], day: date) -> None:
    """Give each invite candidate its `group_id`, or its `blocked` cause."""
    invites = sorted(
        (c for c in cands if c.rule.action == "invite_to_group" and c.group_id is None),
        key=lambda c: (-c.rule.priority, c.id),  # the same order every run: the same groups
    )
    if not invites:
        return
    default_owner = playbook.limits.default_owner
    groups = [
        _Group(str(r["group_id"]), str(r["name"] or r["group_id"]), str(r["type"]), str(r["owner"]),
               r["region"], int(r["capacity"]) - int(r["size"] or 0))
        for r in q.groups_with_room(conn, default_owner, day.isoformat())
    ]
    member_ids = sorted({c.member_id for c in invites if c.member_id is not None})
    places = q.member_places(conn, member_ids)
    inside = q.current_groups(conn, member_ids)
    # A day at a million members has thousands of invites and thousands of groups: each invite looks
    # only at its owner's groups, and at its store's and region's when the owner has none with room.
    by_owner: dict[str, list[_Group]] = {}
    by_region: dict[str, list[_Group]] = {}
    for g in groups:
        by_owner.setdefault(g.owner, []).append(g)
        if g.region:
            by_region.setdefault(g.region, []).append(g)
    by_store: dict[str, list[_Group]] = {}
    for c in invites:
        types: Sequence[str] = c.rule.audience.group_types or GROUP_TYPES
        store, region = places.get(c.member_id or "", (None, None))
        already = inside.get(c.member_id or "", set())

        def usable(g: _Group, types: Sequence[str] = types, already: set[str] = already) -> bool:
            return g.type in types and g.room > 0 and g.group_id not in already

        def nearby(g: _Group, store: str | None = store, region: str | None = region) -> tuple[bool, bool]:
            # groups carry no store column; a group named after the store (茶语·静安店福利1群) is the store's
            return (store is not None and store != "" and store in g.name, bool(region) and g.region == region)

        choice = [g for g in by_owner.get(c.owner, ()) if usable(g)]
        if not choice:
            if store and store not in by_store:
                by_store[store] = [g for g in groups if store in g.name]
            local = {g.group_id: g for g in (*by_store.get(store or "", ()), *by_region.get(region or "", ()))}
            choice = [g for g in local.values() if usable(g)]
        if not choice:
            c.blocked = _cause(types, c.owner, store, region)
            continue
        best = min(choice, key=lambda g: (*(not near for near in nearby(g)), -g.room, g.group_id))
        best.room -= 1
        c.group_id = best.group_id


def _cause(types: Sequence[str], owner: str, store: str | None, region: str | None) -> str:
    kinds = "/".join(types) if len(types) < len(GROUP_TYPES) else "any"
    where = " or ".join(x for x in (f"store {store}" if store else "", f"region {region}" if region else "") if x)
    elsewhere = f", nor in {where}" if where else ""
    return f"no {kinds} group with room for owner {owner}{elsewhere}"
