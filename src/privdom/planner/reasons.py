"""Why a task is on the plan, in one Chinese sentence an operator can repeat to a colleague."""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, timedelta

from privdom.labels import CAUSES
from privdom.planner.models import Candidate
from privdom.playbook.models import WEEKDAYS, Playbook

_WEEKDAY_ZH = dict(zip(WEEKDAYS, "一二三四五六日", strict=True))
REPURCHASE_WINDOW_DAYS = 14  # the golden 2-week window after a first purchase


def _after(days: int, what: str) -> str:
    if days < 0:
        return f"{what}前{-days}天"
    return f"{what}当天" if days == 0 else f"{what}后第{days}天"


class History:
    """The days a plan was saved for: what tells a missed morning from data that came late; and
    the tasks a saved plan deferred (task id -> first morning it waited, cause), which go out late
    because they waited, not because of the data."""

    def __init__(self, saved_days: Sequence[str], waited: dict[str, tuple[str, str]] | None = None) -> None:
        self.days = list(saved_days)  # sorted
        self.waited = waited or {}

    def saved_on(self, day: str) -> bool:
        i = bisect_left(self.days, day)
        return i < len(self.days) and self.days[i] == day

    def saved_before(self, day: str) -> bool:
        return bool(self.days) and self.days[0] < day


# Known on their own day: a birthday is in the member data ahead of time, and a spell without
# orders is reached by the calendar, not by an export.
KNOWN_ON_THE_DAY = frozenset({"birthday", "inactive_days"})


def lateness(trigger: str, due_day: date, event: str, day: date, history: History) -> str:
    """'' for a task on time; else why it is late.

    A day's export is imported the next morning, so the first morning an event can be known is the
    day after it: the expected morning is the later of the due day and that one.
    * 数据晚到（事件 D）: the task goes out on its expected morning, after its due day (the data came
      the day after the event), or that morning's plan was saved without it (the data came later).
    * 补发（原定 D）: the expected morning was missed: plans were saved before it, none on it. Before
      the first saved plan there is no routine to miss: the workspace learns of the event now.
    """
    if day <= due_day:
        return ""
    first_known = date.fromisoformat(event) + timedelta(days=1)
    expected = due_day if trigger in KNOWN_ON_THE_DAY else max(due_day, first_known)
    missed = history.saved_before(expected.isoformat()) and not history.saved_on(expected.isoformat())
    if day <= expected or not missed:
        return f"数据晚到（事件 {event}）"
    return f"补发（原定 {expected.isoformat()}）"


def reason(
    c: Candidate, day: date, playbook: Playbook, group: sqlite3.Row | None, history: History | None = None
) -> str:
    when = c.rule.when
    t = when.trigger
    offset = int(getattr(when, "offset", 0))
    ev = c.event_date
    if t == "daily":
        days = getattr(when, "weekdays", [])
        rhythm = "每周" + "、".join(_WEEKDAY_ZH[d] for d in days) if days else "每天"
        text = f"{rhythm} {when.at} 固定节奏：{c.rule.title.zh}"
    elif t == "node":
        node = c.facts["node"]
        left = (node.date - day).days
        text = (
            f"{node.zh}当天（{ev}）"
            if left == 0
            else (
                f"{node.zh}前{left}天（{node.zh} {ev}）"
                if left > 0
                else f"{node.zh}后第{-left}天（{node.zh} {ev}）"
            )
        )
    elif t == "joined":
        text = f"{_after(offset, '加好友/入会')}（入会 {ev}）"
    elif t == "joined_group":
        text = f"{_after(offset, '入群')}（入群 {ev}）"
    elif t == "first_order":
        text = f"{_after(offset, '首单')}（首单 {ev}）"
        if offset <= REPURCHASE_WINDOW_DAYS:
            text += "，复购窗口内"
    elif t == "nth_order":
        nth = "第" + str(getattr(when, "n", 2)) + "单"
        text = f"{_after(offset, nth)}（{ev}）"
    elif t == "birthday":
        text = f"{_after(offset, '生日')}（生日 {ev[5:]}）"
    elif t == "tier_up":
        text = f"{_after(offset, '会员升级')}（升级 {ev}）"
    elif t == "entered_segment":
        seg = next((s.zh for s in playbook.lifecycle if s.id == getattr(when, "segment", "")), "")
        text = f"{_after(offset, '进入' + seg)}（{ev}）"
    elif t == "inactive_days":
        text = f"已{getattr(when, 'days', 0)}天未下单（最后下单 {ev}）"
    elif t == "group_created":
        text = f"{_after(offset, '新群创建')}（建群 {ev}）"
    elif t == "group_silent":
        last = c.facts.get("last_message")
        since = f"最后发言 {last}" if last else "建群后无人发言"
        quiet = (day - date.fromisoformat(ev)).days + int(c.facts.get("days") or 0)
        text = f"群已连续{quiet}天无人发言（{since}）"
    else:  # group_near_capacity
        size = group["size"] if group is not None else c.facts.get("size")
        cap = group["capacity"] if group is not None else c.facts.get("capacity")
        text = f"群人数 {size}/{cap}，接近上限，准备新群"
    waited = history.waited.get(c.id) if history is not None else None
    if waited is not None:
        first, cause = waited
        return f"{text}；顺延（原定 {first}，{CAUSES.get(cause, (cause,))[0]}）"
    # Calendar posts are never late (a missed one is stale), and a state is as of today.
    if t in ("daily", "node", "group_near_capacity", "group_silent"):
        return text
    due_day = date.fromisoformat(ev) + timedelta(days=offset if t != "inactive_days" else int(getattr(when, "days", 0)))
    late = lateness(t, due_day, ev, day, history or History([]))
    return f"{text}；{late}" if late else text
