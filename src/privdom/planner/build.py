"""build_plan: every rule for one day -> candidates -> limits -> rendered tasks."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from privdom import metrics
from privdom.planner.holdout import held_out
from privdom.planner.invites import assign_groups
from privdom.planner.limits import apply_limits
from privdom.planner.messages import Blocked, Messages
from privdom.planner.models import PRIVATE_TOUCHES, BlockedTask, Candidate, DeferredTask, Plan, Task
from privdom.planner.reasons import History, reason
from privdom.planner.triggers import candidates
from privdom.playbook.models import Playbook, Rule
from privdom.store import plan_queries as q
from privdom.store import tasks as store

T = TypeVar("T", bound=Task)


def by_owner(tasks: list[T]) -> list[T]:
    """Each owner's tasks in time order, then by id: three stable sorts on one attribute each, least
    significant first (faster than one sort on a tuple key at tens of thousands of tasks)."""
    tasks.sort(key=attrgetter("id"))
    tasks.sort(key=attrgetter("due_at"))
    tasks.sort(key=attrgetter("owner"))
    return tasks


def build_plan(
    conn: sqlite3.Connection,
    playbook: Playbook,
    day: date,
    *,
    owner: str | None = None,
    stage: str | None = None,
    action: str | None = None,
) -> Plan:
    """The day's tasks; limits are applied over the whole day before the filters narrow the view.

    A task that cannot be built (no group to invite to, a template that fails for its member) is
    blocked with its cause; the rest of the plan goes out."""
    metrics.materialize(conn, playbook, day)
    cands = candidates(conn, playbook, day)
    saved = store.saved_ids(conn, [c.id for c in cands])
    control = [c for c in cands if held_out(c.rule, c.member_id)]
    if control:  # held out before the limits: a control task takes no one's place
        cands = [c for c in cands if not held_out(c.rule, c.member_id)]
    existing = [c for c in cands if c.id in saved and saved[c.id]["date"] == day.isoformat()]
    for c in existing:  # a saved invite keeps the group it was saved with
        if c.rule.action == "invite_to_group" and saved[c.id]["group_id"] is not None:
            c.group_id = str(saved[c.id]["group_id"])
    fresh = [c for c in cands if c.id not in saved]  # issued on an earlier day: never twice
    control = [c for c in control if c.id not in saved or saved[c.id]["date"] == day.isoformat()]
    assign_groups(conn, playbook, fresh, day)
    blocked = [c for c in fresh if c.blocked]
    fresh = [c for c in fresh if not c.blocked]
    limits = playbook.limits
    kept, deferred = apply_limits(
        fresh,
        quiet=limits.quiet_hours,
        touches_cap=limits.private_touches_per_7_days,
        owner_capacity=limits.owner_daily_capacity,
        touches_saved=store.private_touches(
            conn, PRIVATE_TOUCHES, (day - timedelta(days=6)).isoformat(), day.isoformat()
        ),
        owner_saved=store.owner_load(conn, day.isoformat()),
    )

    def wanted(c: Candidate) -> bool:
        return (
            (owner is None or c.owner == owner)
            and (stage is None or c.stage == stage)
            and (action is None or c.rule.action == action)
        )

    kept = existing + kept
    if owner is not None or stage is not None or action is not None:
        kept = [c for c in kept if wanted(c)]
        deferred = [c for c in deferred if wanted(c)]
        blocked = [c for c in blocked if wanted(c)]
        control = [c for c in control if wanted(c)]
    everyone = [c.id for c in kept + deferred + blocked + control]
    history = History(store.saved_days(conn, day.isoformat()), store.first_waits(conn, everyone, day.isoformat()))
    renderer = _Renderer(conn, playbook, day, kept + blocked + control, history)  # deferred: named only
    tasks: list[Task] = []
    stuck = [renderer.blocked(c, c.blocked or "") for c in blocked]
    for c in kept:
        built = renderer.task(c, saved.get(c.id))
        if isinstance(built, BlockedTask):  # its message could not be built for this member or group
            stuck.append(built)
        else:
            tasks.append(built)
    tasks = by_owner(tasks)
    later = by_owner([renderer.deferred(c) for c in deferred])
    stuck = by_owner(stuck)
    held = by_owner([renderer.held_out(c, saved.get(c.id)) for c in control])
    return Plan(
        date=day.isoformat(),
        timezone=playbook.timezone,
        tasks=tasks,
        deferred=later,
        blocked=stuck,
        summary=summarize(tasks, later, stuck),
        held_out=held,
    )


def summarize(
    tasks: list[Task], deferred: list[DeferredTask], blocked: list[BlockedTask] | None = None
) -> dict[str, dict[str, int]]:
    return {
        "by_stage": dict(sorted(Counter(t.stage for t in tasks).items())),
        "by_action": dict(sorted(Counter(t.action for t in tasks).items())),
        "by_owner": dict(sorted(Counter(t.owner for t in tasks).items())),
        "deferred_by_cause": dict(sorted(Counter(t.cause for t in deferred).items())),
        "blocked_by_cause": dict(sorted(Counter(t.cause for t in blocked or []).items())),
    }


def save_plan(conn: sqlite3.Connection, plan: Plan, *, saved_at: datetime) -> int:
    """Record the plan's new tasks, its held-out tasks (status `holdout`) and the first day each
    deferred task waited (what `privdom review` compares with), in one transaction. Returns how
    many tasks to do were new."""
    def row(t: Task) -> tuple[Any, ...]:
        return (
            t.id,
            t.date,
            t.rule,
            t.stage,
            t.trigger,
            t.action,
            t.content_type,
            t.member_id,
            t.group_id,
            t.owner,
            t.due_at,
            t.event_date,
            t.message,
            t.reason,
            t.priority,
            "holdout" if t.holdout else "open",
            saved_at.isoformat(timespec="seconds"),
        )

    waits = [
        (d.id, d.date, d.rule, d.stage, d.action, d.member_id, d.group_id, d.owner, d.due_at, d.event_date, d.cause)
        for d in plan.deferred
    ]
    return store.insert_tasks(
        conn,
        [row(t) for t in plan.tasks if not t.existing],
        held_out=[row(t) for t in plan.held_out if not t.existing],
        deferred=waits,
        morning=(plan.date, saved_at.isoformat(timespec="seconds")),
    )




class _RuleFields(NamedTuple):
    id: str
    title: dict[str, str]  # one dict shared by the rule's tasks: nothing writes to it
    trigger: str
    action: str
    content_type: str
    priority: int


class _Renderer:
    """Builds the tasks that go out (rendering their messages, fetching only their members and
    groups), the deferred ones (named, not rendered) and the blocked ones (named, with the cause)."""

    def __init__(
        self, conn: sqlite3.Connection, playbook: Playbook, day: date, cands: list[Candidate], history: History
    ) -> None:
        self.playbook = playbook
        self.day = day
        self.date = day.isoformat()
        self.history = history
        self.members = q.member_rows(conn, sorted({c.member_id for c in cands if c.member_id}))
        self.groups = q.group_rows(conn, sorted({c.group_id for c in cands if c.group_id}))
        self.messages = Messages(playbook, day)
        self.reasons: dict[tuple[int, str], str] = {}
        self.due_texts: dict[tuple[datetime, timedelta | None], str] = {}
        self.rules: dict[int, _RuleFields] = {}

    def task(self, c: Candidate, saved: sqlite3.Row | None) -> Task | BlockedTask:
        """A task that goes out today, its message rendered for its member or group; blocked when
        the message cannot be built."""
        member, group = self.rows(c)
        try:
            message = self.messages.message(c, member, group)
        except Blocked as exc:
            return self.blocked(c, str(exc))
        return self._build(
            Task, c, member, group, message,
            existing=saved is not None, status=str(saved["status"]) if saved is not None else None,
        )

    def held_out(self, c: Candidate, saved: sqlite3.Row | None) -> Task:
        """A held-out task, rendered like the one that would go out. It is never sent, so a message
        that cannot be built leaves it empty: the member stays in the control group all the same."""
        member, group = self.rows(c)
        try:
            message = self.messages.message(c, member, group)
        except Blocked:
            message = ""
        return self._build(
            Task, c, member, group, message,
            existing=saved is not None, status=str(saved["status"]) if saved is not None else None, holdout=True,
        )

    def deferred(self, c: Candidate) -> DeferredTask:
        """A task that waits, with its cause: named, not rendered (it does not go out today)."""
        member, group = self.rows(c)
        return self._build(DeferredTask, c, member, group, "", cause=c.cause or "")

    def blocked(self, c: Candidate, cause: str) -> BlockedTask:
        member, group = self.rows(c)
        return self._build(BlockedTask, c, member, group, "", cause=cause)

    def _build(
        self, kind: type[T], c: Candidate, member: sqlite3.Row | None, group: sqlite3.Row | None, message: str,
        **own: Any,
    ) -> T:
        """The fields every task has, plus the kind's `own` (a saved status, or a deferral's cause)."""
        rule = self.rule_fields(c.rule)
        return kind(
            id=c.id,
            date=self.date,
            due_at=self.due_at(c.due),
            stage=c.stage,
            rule=rule.id,
            rule_title=rule.title,
            trigger=rule.trigger,
            action=rule.action,
            content_type=rule.content_type,
            member_id=c.member_id,
            group_id=c.group_id,
            owner=c.owner,
            target=self.target(c, member, group),
            message=message,
            reason=self.reason(c, group),
            priority=rule.priority,
            event_date=c.event_date,
            **own,
        )

    def rule_fields(self, rule: Rule) -> _RuleFields:
        """What every task of `rule` shares, read off the playbook once per rule, not per task."""
        fields = self.rules.get(id(rule))
        if fields is None:
            fields = self.rules[id(rule)] = _RuleFields(
                rule.id,
                {"zh": rule.title.zh, "en": rule.title.en},
                rule.when.trigger,
                rule.action,
                rule.content_type,
                rule.priority,
            )
        return fields

    def due_at(self, due: datetime) -> str:
        """`due.isoformat()`, once per due time: a rule's tasks share theirs. The key holds the UTC
        offset too, as two equal instants in different zones are written differently."""
        key = (due, due.utcoffset())
        text = self.due_texts.get(key)
        if text is None:
            text = self.due_texts[key] = due.isoformat()
        return text

    def rows(self, c: Candidate) -> tuple[sqlite3.Row | None, sqlite3.Row | None]:
        """The member and group rows of `c`, when fetched (only those of the tasks that go out are)."""
        member = self.members.get(c.member_id) if c.member_id else None
        group = self.groups.get(c.group_id) if c.group_id else None
        return member, group

    @staticmethod
    def target(c: Candidate, member: sqlite3.Row | None, group: sqlite3.Row | None) -> str:
        """How to find the target: group name, else member name, nickname, phone or id, else the owner.
        An invite names the member first: the group is where they are invited to."""
        if group is not None and group["name"] and not (member is not None and c.rule.action == "invite_to_group"):
            return str(group["name"])
        if member is not None:
            who = str(
                member["name"]
                or member["nickname"]
                or member["phone_display"]
                or member["phone"]
                or c.member_id
            )
            if group is not None and c.rule.action == "invite_to_group":
                return f"{who} → {group['name'] or group['group_id']}"
            return who
        return c.group_id or c.member_id or c.owner

    def reason(self, c: Candidate, group: sqlite3.Row | None) -> str:
        """`reasons.reason`, once per rule and event date for member events (most of a big plan)."""
        if c.facts or group is not None or c.id in self.history.waited:
            return reason(c, self.day, self.playbook, group, self.history)
        key = (id(c.rule), c.event_date)
        text = self.reasons.get(key)
        if text is None:
            text = self.reasons[key] = reason(c, self.day, self.playbook, group, self.history)
        return text
