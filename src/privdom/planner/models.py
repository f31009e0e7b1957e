"""What a plan is made of: tasks (the stable JSON interface, see docs/output.md) and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from privdom.playbook.models import Rule, Stage
from privdom.store.tasks import task_id

PRIVATE_TOUCHES = ("private_message", "call", "coupon")  # what the per-member 7-day cap counts
MEMBER_ACTIONS = frozenset({"private_message", "call", "coupon", "invite_to_group"})


# Plain slotted dataclasses, not validated models: a busy day at a million members has tens of
# thousands of tasks, and every field is filled in by the planner from typed values. Plan (below) is
# the pydantic model; it serializes these by their fields, in this order (the JSON key order).
@dataclass(slots=True, kw_only=True)
class Task:
    id: str
    date: str
    due_at: str
    stage: str
    rule: str
    rule_title: dict[str, str]
    trigger: str
    action: str
    content_type: str
    member_id: str | None
    group_id: str | None
    owner: str
    target: str
    message: str
    reason: str
    priority: int
    event_date: str
    existing: bool = False
    status: str | None = None
    holdout: bool = False  # kept out for `privdom review`: planned and saved, never sent


@dataclass(slots=True, kw_only=True)
class DeferredTask(Task):
    """A task that did not fit today: named (message empty), with why it waits."""

    cause: str


@dataclass(slots=True, kw_only=True)
class BlockedTask(Task):
    """A task that cannot be built today (no group to invite to, a template that fails for this
    member): named, with its cause in words. It is not saved, so a later morning may still serve it."""

    cause: str


class Plan(BaseModel):
    date: str
    timezone: str
    tasks: list[Task]
    deferred: list[DeferredTask]
    blocked: list[BlockedTask] = []
    summary: dict[str, dict[str, int]]
    # Tasks of members a rule holds out (`holdout:`): not to-dos, outside every cap and capacity.
    held_out: list[Task] = []

    def model_dump_json(self, *, indent: int | None = 2, **options: Any) -> str:
        """The plan as `privdom plan --format json` prints it (without the final newline)."""
        return super().model_dump_json(indent=indent, **options)


@dataclass(slots=True)
class Candidate:
    """A task before limits and rendering: who, when, and why, but no message yet."""

    stage: Stage
    rule: Rule
    member_id: str | None
    group_id: str | None
    owner: str
    event_date: str
    due: datetime
    facts: dict[str, Any] = field(default_factory=dict)  # node, last message, size: for the reason
    cause: str | None = None
    # What the task is issued once for, when that is not the event date: a tier congratulation is
    # once per tier reached ("tier:gold"), however often a refund and a new order cross the line.
    episode: str | None = None
    blocked: str | None = None  # why the task cannot be built (it is listed, not sent)
    # Every candidate is looked up in the history and sorted by id, so it is hashed once, up front.
    id: str = field(init=False)

    def __post_init__(self) -> None:
        target = self.member_id if self.member_id is not None else self.group_id or f"owner:{self.owner}"
        self.id = task_id(self.rule.id, target, self.episode or self.event_date)

    @property
    def day(self) -> date:
        return self.due.date()
