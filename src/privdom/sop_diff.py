"""`privdom sop diff`: what a playbook change does to the plan, read before it goes live.

Both playbooks plan the same mornings, each on its own temporary copy of the workspace (so a
second morning sees the first's saved tasks, as it would for real); nothing is saved. "Before" is
the other playbook (a folder or a git revision), "after" is the workspace's: like `git diff REV`.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date

from pydantic import BaseModel

from privdom.playbook.models import Playbook
from privdom.replay import Morning, replay


class Change(BaseModel):
    key: str
    before: int
    after: int


class RuleChange(BaseModel):
    rule: str
    keys: list[str]  # the rule's top-level keys whose values differ


class MemberChange(BaseModel):
    member_id: str
    before: int
    after: int


class SopDiff(BaseModel):
    first: date
    last: date
    rules_added: list[str]
    rules_removed: list[str]
    rules_changed: list[RuleChange]
    settings_changed: list[str]  # other settings: `limits.owner_daily_capacity`, `tiers.levels`, `lifecycle`
    tasks: Change  # key "total"
    tasks_by_rule: list[Change]
    tasks_by_owner: list[Change]
    tasks_by_stage: list[Change]
    deferred_by_cause: list[Change]  # task-mornings, like the plans' own summaries
    deferred_by_rule: list[Change]
    touches_up: list[MemberChange]  # members with more private touches in the period
    touches_down: list[MemberChange]


def rule_changes(before: Playbook, after: Playbook) -> tuple[list[str], list[str], list[RuleChange], list[str]]:
    """(added, removed, changed, settings changed), rules matched by id."""
    old = {r.id: r.model_dump(mode="json", by_alias=True) for _, r in before.stages.rules()}
    new = {r.id: r.model_dump(mode="json", by_alias=True) for _, r in after.stages.rules()}
    old_stage = {r.id: s for s, r in before.stages.rules()}
    new_stage = {r.id: s for s, r in after.stages.rules()}
    changed = []
    for rule in sorted(old.keys() & new.keys()):
        keys = sorted(k for k in old[rule].keys() | new[rule].keys() if old[rule].get(k) != new[rule].get(k))
        if old_stage[rule] != new_stage[rule]:
            keys = ["stage", *keys]
        if keys:
            changed.append(RuleChange(rule=rule, keys=keys))
    a, b = before.model_dump(mode="json", exclude={"stages"}), after.model_dump(mode="json", exclude={"stages"})
    settings: list[str] = []
    for key in sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)):
        was, now = a.get(key), b.get(key)
        if isinstance(was, dict) and isinstance(now, dict):  # name the setting: limits.owner_daily_capacity
            settings += [f"{key}.{k}" for k in sorted(was.keys() | now.keys()) if was.get(k) != now.get(k)]
        else:
            settings.append(key)
    return sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys()), changed, settings


def sop_diff(
    copy: Callable[[], AbstractContextManager[sqlite3.Connection]],
    before: Playbook,
    after: Playbook,
    first: date,
    last: date,
) -> SopDiff:
    """`copy()` gives a fresh temporary copy of the workspace; each playbook plans on its own."""
    with copy() as conn:
        old = replay(conn, before, first, last)
    with copy() as conn:
        new = replay(conn, after, first, last)
    added, removed, changed, settings = rule_changes(before, after)
    touches_old, touches_new = _total(old, "touches"), _total(new, "touches")
    members = sorted(touches_old.keys() | touches_new.keys())
    moves = [MemberChange(member_id=m, before=touches_old[m], after=touches_new[m]) for m in members]
    return SopDiff(
        first=first,
        last=last,
        rules_added=added,
        rules_removed=removed,
        rules_changed=changed,
        settings_changed=settings,
        tasks=Change(key="total", before=sum(m.tasks for m in old), after=sum(m.tasks for m in new)),
        tasks_by_rule=_changes(old, new, "by_rule"),
        tasks_by_owner=_changes(old, new, "by_owner"),
        tasks_by_stage=_changes(old, new, "by_stage"),
        deferred_by_cause=_changes(old, new, "deferred_by_cause"),
        deferred_by_rule=_changes(old, new, "deferred_by_rule"),
        touches_up=[m for m in moves if m.after > m.before],
        touches_down=[m for m in moves if m.after < m.before],
    )


def _total(mornings: list[Morning], name: str) -> Counter[str]:
    total: Counter[str] = Counter()
    for m in mornings:
        total.update(getattr(m, name))
    return total


def _changes(old: list[Morning], new: list[Morning], name: str) -> list[Change]:
    """Every key with its count before and after (unchanged ones too: the table shows the changes)."""
    a, b = _total(old, name), _total(new, name)
    return [Change(key=k, before=a[k], after=b[k]) for k in sorted(a.keys() | b.keys())]


def changed_only(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.before != c.after]
