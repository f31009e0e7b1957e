"""What a plan is made of: tasks (the stable JSON interface, see docs/output.md) and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from hashlib import sha1
from typing import Any

from pydantic import BaseModel

from privdom.playbook.models import Rule, Stage

PRIVATE_TOUCHES = ("private_message", "call", "coupon")  # what the per-member 7-day cap counts
MEMBER_ACTIONS = frozenset({"private_message", "call", "coupon", "invite_to_group"})


def task_id(rule: str, target: str, event_date: str) -> str:
    """Stable across runs, so saving a plan twice issues nothing twice."""
    return sha1(f"{rule}|{target}|{event_date}".encode()).hexdigest()[:12]


class Task(BaseModel):
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


class DeferredTask(Task):
    cause: str


class Plan(BaseModel):
    date: str
    timezone: str
    tasks: list[Task]
    deferred: list[DeferredTask]
    summary: dict[str, dict[str, int]]


@dataclass
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

    @cached_property  # sorted and looked up many times per candidate; sha1 is not free at 100k
    def id(self) -> str:
        target = self.member_id if self.member_id is not None else self.group_id or f"owner:{self.owner}"
        return task_id(self.rule.id, target, self.event_date)

    @property
    def day(self) -> date:
        return self.due.date()
