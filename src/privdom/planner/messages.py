"""The message of each task: its rule's template rendered with the task's context.

A template that fails for one member (a field this member has no value for, a division by zero, a
value no price can have) blocks that task only, with a cause that names the rule and where its
template is written. A rendered text a customer must not read (`None`, an empty name) is blocked
the same way.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from privdom.planner.models import Candidate
from privdom.playbook.models import Playbook, Rule
from privdom.playbook.templates import (
    context_names,
    coupon_context,
    group_context,
    member_context,
    message_problem,
    names_read,
    node_context,
    render_problem,
    tier_context,
)


class Blocked(Exception):
    """This task cannot be built; the message is its cause, in words."""


def names_a_target(template: str) -> bool:
    """Whether the template reads the member, tier or group, i.e. its text can differ per task."""
    names = names_read(template)
    return names is None or not names.isdisjoint({"member", "tier", "group"})  # None: fails per task


def target_kind(c: Candidate) -> str:
    if c.member_id is not None:
        return "a member task"
    return "a group task" if c.group_id is not None else "an owner task"


def template_cause(rule: Rule, playbook: Playbook, problem: str, kind: str) -> str:
    """`template of rule R (sops/x.yaml:12): 'group' is undefined for a member task`."""
    where = playbook.template_origin(rule.id)
    return f"template of rule {rule.id}{f' ({where})' if where else ''}: {problem} for {kind}"


class Messages:
    """Renders the messages of one day's plan; a text that is the same for every task of a rule is
    rendered once (a daily post to hundreds of groups)."""

    def __init__(self, playbook: Playbook, day: date) -> None:
        self.playbook = playbook
        self.day = day
        self.levels = {lv.id: lv for lv in playbook.tiers.levels}
        self.shared: dict[tuple[int, Any], str | Blocked] = {}

    def message(self, c: Candidate, member: sqlite3.Row | None, group: sqlite3.Row | None) -> str:
        """The message of `c`; raises Blocked with the cause when it cannot be built."""
        if names_a_target(c.rule.template):
            return self._render(c, member, group)
        key = (id(c.rule), c.facts.get("node"))  # all else in the context is the rule's or the day's
        text = self.shared.get(key)
        if text is None:
            try:
                text = self._render(c, member, group)
            except Blocked as exc:
                text = exc
            self.shared[key] = text
        if isinstance(text, Blocked):
            raise Blocked(str(text))
        return text

    def _render(self, c: Candidate, member: sqlite3.Row | None, group: sqlite3.Row | None) -> str:
        rule = c.rule
        kind = target_kind(c)
        try:
            context = self.context(c, member, group)
        except (ValueError, ArithmeticError) as exc:  # a coupon value no price can have
            raise Blocked(f"value of rule {rule.id}: {exc} for {kind}") from None
        problem, text = render_problem(rule.template, context)
        if problem is not None:
            raise Blocked(template_cause(rule, self.playbook, problem, kind))
        wrong = message_problem(text)
        if wrong is not None:
            raise Blocked(template_cause(rule, self.playbook, wrong, kind))
        return text

    def context(self, c: Candidate, member: sqlite3.Row | None, group: sqlite3.Row | None) -> dict[str, Any]:
        """Exactly the names `context_names` promises for the rule (docs/playbooks.md, Templates)."""
        names = context_names(c.rule)
        ctx: dict[str, Any] = {"brand": self.playbook.brand, "date": self.day.isoformat()}
        if member is not None and "member" in names:
            ctx["member"] = member_context(member, self.playbook)
            level = self.levels.get(member["tier"])
            if level is not None:
                ctx["tier"] = tier_context(level)
        if group is not None and "group" in names:
            ctx["group"] = group_context(group)
        if c.rule.coupon is not None and c.rule.coupon in self.playbook.coupons and "coupon" in names:
            ctx["coupon"] = coupon_context(self.playbook.coupons[c.rule.coupon], self.day)
        if "node" in c.facts and "node" in names:
            ctx["node"] = node_context(c.facts["node"], self.day)
        return ctx
