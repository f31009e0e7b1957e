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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from privdom.planner.models import Candidate
from privdom.playbook.models import GROUP_TYPES, Playbook
from privdom.store import plan_queries as q


@dataclass
class Group:
    """A group an invite may go to, with the places left in it today."""

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
        Group(str(r["group_id"]), str(r["name"] or r["group_id"]), str(r["type"]), str(r["owner"]),
               r["region"], int(r["capacity"]) - int(r["size"] or 0))
        for r in q.groups_with_room(conn, default_owner, day.isoformat())
    ]
    member_ids = sorted({c.member_id for c in invites if c.member_id is not None})
    place_invites(invites, groups, q.member_places(conn, member_ids), q.current_groups(conn, member_ids))


def place_invites(
    invites: Sequence[Candidate],
    groups: Sequence[Group],
    places: dict[str, tuple[str | None, str | None]],
    inside: dict[str, set[str]],
) -> None:
    """Give each invite, in turn, its group among `groups` (see the module's docstring), or its
    `blocked` cause. `places` is each member's (store, region), `inside` the groups they are in."""
    # A day at a million members has thousands of invites and thousands of groups. The groups are
    # indexed once by owner, by owner and region, and (for each store met) by store, so that each
    # invite looks at the few groups of its store first and at all of its owner's only when none of
    # its store's or region's has room.
    by_owner: dict[str, list[Group]] = {}
    by_region: dict[str | None, list[Group]] = {}
    by_owner_region: dict[tuple[str, str | None], list[Group]] = {}
    for g in groups:
        by_owner.setdefault(g.owner, []).append(g)
        if g.region:
            by_region.setdefault(g.region, []).append(g)
            by_owner_region.setdefault((g.owner, g.region), []).append(g)
    by_store: dict[str, list[Group]] = {}
    for c in invites:
        types: Sequence[str] = c.rule.audience.group_types or GROUP_TYPES
        store, region = places.get(c.member_id or "", (None, None))
        already = inside.get(c.member_id or "", set())

        def usable(g: Group, types: Sequence[str] = types, already: set[str] = already) -> bool:
            return g.type in types and g.room > 0 and g.group_id not in already

        # groups carry no store column; a group named after the store (茶语·静安店福利1群) is the store's
        if store and store not in by_store:
            by_store[store] = [g for g in groups if store in g.name]
        of_store = by_store.get(store, []) if store else []
        of_region = region or None
        mine = [g for g in of_store if g.owner == c.owner]
        best = (
            _nearest(mine, by_owner_region.get((c.owner, of_region), []), of_region, usable)
            or _best(g for g in by_owner.get(c.owner, ()) if usable(g))
            or _nearest(of_store, by_region.get(of_region, []), of_region, usable)
        )
        if best is None:
            c.blocked = _cause(types, c.owner, store, region)
            continue
        best.room -= 1
        c.group_id = best.group_id


def _nearest(
    of_store: list[Group], of_region: list[Group], region: str | None, usable: Callable[[Group], bool]
) -> Group | None:
    """The best usable group near the member: of their store and region, else of their store, else
    of their region (None when none has room)."""
    store_groups = [g for g in of_store if usable(g)]
    return (
        _best(g for g in store_groups if region is not None and g.region == region)
        or _best(store_groups)
        or _best(g for g in of_region if usable(g))
    )


def _best(groups: Iterable[Group]) -> Group | None:
    """The group with the most room, then the first by id."""
    return min(groups, key=lambda g: (-g.room, g.group_id), default=None)


def _cause(types: Sequence[str], owner: str, store: str | None, region: str | None) -> str:
    kinds = "/".join(types) if len(types) < len(GROUP_TYPES) else "any"
    where = " or ".join(x for x in (f"store {store}" if store else "", f"region {region}" if region else "") if x)
    elsewhere = f", nor in {where}" if where else ""
    return f"no {kinds} group with room for owner {owner}{elsewhere}"
