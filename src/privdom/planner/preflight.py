"""`sop validate` on a workspace: every template rendered against real rows, before a morning needs it.

The sample data of the validator has every field filled in; real members have no orders, no store,
no name. Each rule is rendered for one member (or group) of every kind it can reach, exactly as the
planner would, and every failure is reported with the rule, where its template is, and who it
failed for. What validates here does not block on a morning for these kinds of rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from privdom import metrics
from privdom.calendar import MarketingNode
from privdom.planner.messages import Blocked, Messages
from privdom.planner.models import Candidate
from privdom.playbook.models import GROUP_TRIGGERS, Playbook
from privdom.playbook.templates import context_names
from privdom.store import plan_queries as q


@dataclass(frozen=True)
class Failure:
    rule: str
    target: str  # "member 000123" or "group wr123"
    cause: str


def render_on_rows(conn: sqlite3.Connection, playbook: Playbook, day: date) -> list[Failure]:
    """Every (rule, kind of row) whose message cannot be built on `day`, one failure per rule and cause."""
    metrics.materialize(conn, playbook, day)
    members = q.sample_members(conn)
    groups = q.sample_groups(conn)
    messages = Messages(playbook, day)
    sample_node = MarketingNode(id="node", zh="节日", en="Festival", date=day, source="solar")
    failures: list[Failure] = []
    due = datetime.combine(day, time(10, 0), tzinfo=ZoneInfo(playbook.timezone))
    for stage, rule in playbook.stages.rules():
        names = context_names(rule)
        types = rule.audience.group_types
        reach = [g for g in groups if not types or g["type"] in types]
        facts = {"node": sample_node} if rule.when.trigger == "node" else {}
        pairs: list[tuple[sqlite3.Row | None, sqlite3.Row | None]] = []
        if "member" in names:
            with_group = "group" in names
            pairs = [(m, reach[0] if with_group and reach else None) for m in members]
            if with_group and not reach:
                continue  # no group to build these tasks with: the plan blocks them, saying so
        elif "group" in names or rule.when.trigger in GROUP_TRIGGERS:
            pairs = [(None, g) for g in reach]
        else:
            pairs = [(None, None)]
        seen: set[str] = set()
        for member, group in pairs:
            c = Candidate(
                stage, rule,
                None if member is None else str(member["member_id"]),
                None if group is None else str(group["group_id"]),
                playbook.limits.default_owner, day.isoformat(), due, dict(facts),
            )
            try:
                messages.message(c, member, group)
            except Blocked as exc:
                if str(exc) not in seen:
                    seen.add(str(exc))
                    who = f"member {c.member_id}" if c.member_id else f"group {c.group_id}" if c.group_id else "owner"
                    failures.append(Failure(rule.id, who, str(exc)))
    return failures


