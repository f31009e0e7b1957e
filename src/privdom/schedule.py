"""The group posting schedule: every group_post of the next N days, for calendars and scripts."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from hashlib import sha1

from pydantic import BaseModel

from privdom.planner import candidates
from privdom.planner.reasons import reason
from privdom.playbook.models import Playbook
from privdom.playbook.templates import coupon_context, node_context, render
from privdom.store import plan_queries as q


class Post(BaseModel):
    uid: str
    date: str
    due_at: str
    rule: str
    rule_title: dict[str, str]
    trigger: str
    content_type: str
    group_id: str
    group_name: str
    group_type: str | None
    owner: str
    message: str
    reason: str


class Schedule(BaseModel):
    start: str
    days: int
    timezone: str
    posts: list[Post]

    def to_ics(self) -> bytes:
        """The schedule as an iCalendar file (RFC 5545): `privdom schedule --format ics`."""
        from privdom.render.schedule import ics  # render sits above this module: imported on use

        return ics(self)


def post_uid(rule: str, group_id: str, day: str) -> str:
    return sha1(f"{rule}|{group_id}|{day}".encode()).hexdigest()[:16] + "@privdom"


def build_schedule(
    conn: sqlite3.Connection,
    playbook: Playbook,
    start: date,
    days: int,
    *,
    group_id: str | None = None,
    group_type: str | None = None,
) -> Schedule:
    """Group posts day by day; the group data is today's, so posts triggered by activity are a forecast."""
    posts: list[Post] = []
    groups: dict[str, sqlite3.Row] = {}
    for n in range(days):
        day = start + timedelta(days=n)
        cands = [
            c
            for c in candidates(conn, playbook, day, group_only=True, group_id=group_id)
            if c.rule.action == "group_post"
            and c.group_id is not None
            and (group_id is None or c.group_id == group_id)
        ]
        missing = sorted({c.group_id for c in cands if c.group_id and c.group_id not in groups})
        groups.update(q.group_rows(conn, missing))
        for c in cands:
            assert c.group_id is not None
            g = groups.get(c.group_id)
            if g is None or (group_type is not None and g["type"] != group_type):
                continue
            ctx: dict[str, object] = {
                "brand": playbook.brand,
                "date": day.isoformat(),
                "group": {
                    "group_id": g["group_id"],
                    "name": g["name"],
                    "type": g["type"],
                    "size": g["size"],
                    "capacity": g["capacity"],
                },
            }
            if "node" in c.facts:
                ctx["node"] = node_context(c.facts["node"], day)
            if c.rule.coupon in playbook.coupons:
                ctx["coupon"] = coupon_context(playbook.coupons[c.rule.coupon or ""], day)
            posts.append(
                Post(
                    uid=post_uid(c.rule.id, c.group_id, day.isoformat()),
                    date=day.isoformat(),
                    due_at=c.due.isoformat(),
                    rule=c.rule.id,
                    rule_title={"zh": c.rule.title.zh, "en": c.rule.title.en},
                    trigger=c.rule.when.trigger,
                    content_type=c.rule.content_type,
                    group_id=c.group_id,
                    group_name=str(g["name"] or c.group_id),
                    group_type=g["type"],
                    owner=c.owner,
                    message=render(c.rule.template, ctx),
                    reason=reason(c, day, playbook, g),
                )
            )
    posts.sort(key=lambda p: (p.due_at, p.group_id, p.rule))
    return Schedule(start=start.isoformat(), days=days, timezone=playbook.timezone, posts=posts)
