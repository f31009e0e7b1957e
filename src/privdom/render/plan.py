"""`privdom plan` and `privdom tasks` output: table, json, csv, md (a checklist to paste into a chat)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import groupby
from operator import attrgetter
from typing import Any, TypeVar

from pydantic import TypeAdapter

from privdom.planner import BlockedTask, DeferredTask, Plan, Task
from privdom.render import console, mask_text, print_json, write_csv, write_utf8
from privdom.render.table import Column, one_line, print_table

TaskT = TypeVar("TaskT", bound=Task)
_PLAN_JSON = TypeAdapter(Plan)
# A piece of a task list, as the one key of an object: serialized, its tasks sit at the plan's depth.
_PIECE_JSON: dict[str, TypeAdapter[Any]] = {
    "tasks": TypeAdapter(dict[str, list[Task]]),
    "deferred": TypeAdapter(dict[str, list[DeferredTask]]),
    "blocked": TypeAdapter(dict[str, list[BlockedTask]]),
    "held_out": TypeAdapter(dict[str, list[Task]]),
}
TASKS_PER_JSON_PIECE = 500

ACTION_ZH = {
    "group_post": "群发",
    "private_message": "私聊",
    "moment_post": "朋友圈",
    "call": "电话",
    "invite_to_group": "邀请入群",
    "coupon": "发券",
}
STAGE_ZH = {"pull_in": "引流", "retention": "留存", "conversion": "转化"}
CAUSE_ZH = {
    "member_cap": "会员7天触达已满",
    "owner_capacity": "负责人当日容量已满",
    "quiet_hours": "免打扰时段",
}
GROUP_TYPE_ZH = {"welfare": "福利群", "service": "服务群", "interest": "兴趣群"}

CSV_COLUMNS = (
    "id",
    "date",
    "due_at",
    "stage",
    "rule",
    "rule_title_zh",
    "trigger",
    "action",
    "content_type",
    "member_id",
    "group_id",
    "owner",
    "target",
    "message",
    "reason",
    "priority",
    "event_date",
    "existing",
    "cause",
    "outcome",
)


def masked(plan: Plan, show_pii: bool) -> Plan:
    if show_pii:
        return plan
    return plan.model_copy(
        update={
            "tasks": _masked(plan.tasks),
            "deferred": _masked(plan.deferred),
            "blocked": _masked(plan.blocked),
            "held_out": _masked(plan.held_out),
        }
    )


def _masked(tasks: Sequence[TaskT]) -> list[TaskT]:
    out = []
    for t in tasks:
        message, target = mask_text(t.message), mask_text(t.target)
        changed = message != t.message or target != t.target  # copy only what masking changed
        out.append(replace(t, message=message, target=target) if changed else t)
    return out


def plan(p: Plan, fmt: str, show_pii: bool) -> None:
    p = masked(p, show_pii)
    if fmt == "json":
        for piece in plan_json(p):
            write_utf8(piece)
        write_utf8(b"\n")
    elif fmt == "csv":
        write_csv(CSV_COLUMNS, (_csv_row(t) for t in [*p.tasks, *p.deferred, *p.blocked, *p.held_out]))
    elif fmt == "md":
        sys.stdout.write(markdown(p))
    else:
        _table(p)


def plan_json(p: Plan) -> Iterator[bytes]:
    """`_PLAN_JSON.dump_json(p, indent=2)`, byte for byte, in pieces of a few hundred tasks.

    pydantic's serializer writes the same text as print_json(p.model_dump(mode="json")) (no floats
    in a plan; same escapes, indent and separators) about five times faster, and as UTF-8 bytes. In
    one piece, a million members' plan was 60 MB of JSON built in a growing buffer and then copied:
    about 100 MB more memory, touched page by page. Each piece is serialized as {"tasks": [...]},
    which puts its tasks at the depth they have in the plan; the text around them is cut off.
    """
    rest = _PLAN_JSON.dump_json(p.model_copy(update=dict.fromkeys(_PIECE_JSON, [])), indent=2)
    for name, adapter in _PIECE_JSON.items():
        tasks: list[Task] = getattr(p, name)
        empty = f'"{name}": []'.encode()
        before, rest = rest.split(empty, 1)
        if not tasks:
            yield before + empty
            continue
        opening, closing = f'{{\n  "{name}": [\n'.encode(), b"\n  ]\n}"
        yield before + opening[4:]  # "{\n  " off: `before` ends with the indent
        for start in range(0, len(tasks), TASKS_PER_JSON_PIECE):
            if start:
                yield b",\n"
            piece = adapter.dump_json({name: tasks[start : start + TASKS_PER_JSON_PIECE]}, indent=2)
            yield piece[len(opening) : -len(closing)]
        yield closing[:-2]
    yield rest


def _csv_row(t: Task) -> list[Any]:
    """The cells of CSV_COLUMNS, in that order (no dict per task: a big plan has tens of thousands)."""
    return [
        t.id,
        t.date,
        t.due_at,
        t.stage,
        t.rule,
        t.rule_title["zh"],
        t.trigger,
        t.action,
        t.content_type,
        t.member_id,
        t.group_id,
        t.owner,
        t.target,
        t.message,
        t.reason,
        t.priority,
        t.event_date,
        int(t.existing),
        t.cause if isinstance(t, DeferredTask | BlockedTask) else "",
        _outcome(t),
    ]


def _outcome(t: Task) -> str:
    if isinstance(t, DeferredTask):
        return "deferred"
    if isinstance(t, BlockedTask):
        return "blocked"
    return "holdout" if t.holdout else "task"


def _time(t: Task) -> str:
    return t.due_at[11:16]


def collapsed(tasks: Sequence[Task]) -> list[tuple[Task, int]]:
    """Group posts of one rule at one time collapse to one line with a count; other tasks stay one each."""
    out: list[tuple[Task, int]] = []
    for t in tasks:
        last = out[-1] if out else None
        if (
            last
            and t.action == "group_post"
            and last[0].action == "group_post"
            and last[0].rule == t.rule
            and last[0].due_at == t.due_at
            and last[0].owner == t.owner
        ):
            out[-1] = (last[0], last[1] + 1)
        else:
            out.append((t, 1))
    return out


def _ordered(tasks: Sequence[TaskT]) -> list[TaskT]:
    return sorted(tasks, key=attrgetter("owner", "due_at", "rule", "id"))


def _target(t: Task, count: int) -> str:
    return f"{count} 个群" if count > 1 else t.target


PLAN_TABLE = tuple(
    Column(header)
    for header in ("时间 time", "阶段 stage", "规则 rule", "动作 action", "对象 target", "内容 message", "原因 reason")
)
DEFERRED_TABLE = (Column("原因 cause"), Column("负责人 owner"), Column("规则 rule"), Column("数量 count", "right"))
BLOCKED_TABLE = (Column("规则 rule"), Column("原因 cause"), Column("数量 count", "right"))


def _table(p: Plan) -> None:
    out = console()
    for owner, tasks in groupby(_ordered(p.tasks), key=attrgetter("owner")):
        rows = [_table_row(t, count) for t, count in collapsed(list(tasks))]
        print_table(out, f"{p.date} · {owner}", PLAN_TABLE, rows)
    s = p.summary
    out.print(
        f"合计 total: {len(p.tasks)} 项任务 tasks · "
        + " · ".join(f"{STAGE_ZH.get(k, k)} {v}" for k, v in s["by_stage"].items())
    )
    if p.tasks:
        out.print("按负责人 by owner: " + " · ".join(f"{k} {v}" for k, v in s["by_owner"].items()), markup=False)
    if p.deferred:
        print_table(out, f"延后 deferred: {len(p.deferred)}", DEFERRED_TABLE, deferred_summary(p.deferred))
        out.print(
            "每条延后任务见 every deferred task: privdom plan --format csv (or json)",
            style="dim",
        )
    if p.blocked:
        print_table(out, f"受阻 blocked: {len(p.blocked)}", BLOCKED_TABLE, blocked_summary(p.blocked))
        out.print("每条受阻任务见 every blocked task: privdom plan --format csv (or json)", style="dim")
    if p.held_out:
        out.print(
            f"留出对照 held out: {len(p.held_out)} (不发送 not sent; privdom review 对比效果 compares them)",
            style="dim",
        )
    if not p.tasks and not p.deferred and not p.blocked:
        out.print("今天没有任务 nothing planned for this day", style="dim")


def _table_row(t: Task, count: int) -> list[str]:
    mark = " ✓" if t.status == "done" else (" (已保存)" if t.existing else "")
    return [
        _time(t),
        STAGE_ZH.get(t.stage, t.stage),
        t.rule_title["zh"] + mark,
        ACTION_ZH.get(t.action, t.action),
        _target(t, count),
        t.message,
        t.reason,
    ]


def deferred_summary(deferred: Sequence[DeferredTask]) -> list[list[str]]:
    """What did not fit today, counted by cause, owner and rule: the rows of DEFERRED_TABLE.

    A big workspace defers tens of thousands of touches on a busy day; one line per task would bury
    the morning's list (and take a minute to draw), so the table counts them and the CSV/JSON name them.
    """
    counts = Counter((d.cause, d.owner, d.rule_title["zh"]) for d in deferred)
    return [[CAUSE_ZH.get(cause, cause), owner, rule, str(n)] for (cause, owner, rule), n in sorted(counts.items())]


def blocked_summary(blocked: Sequence[BlockedTask]) -> list[list[str]]:
    """The blocked tasks counted by rule and cause: the rows of BLOCKED_TABLE."""
    counts = Counter((b.rule, b.cause) for b in blocked)
    return [[rule, cause, str(n)] for (rule, cause), n in sorted(counts.items())]


# The characters that open a code span, a link, a table cell or an HTML tag.
_MD_SPECIAL = re.compile(r"([\\`|\[\]<>])")


def md(text: str) -> str:
    """Data (names, messages, reasons) as one line of Markdown text: a member named
    `x\n- [ ] 伪造任务` cannot add an item to the checklist, nor a `|` a cell. A message's own line
    breaks show as ⏎."""
    return one_line(_MD_SPECIAL.sub(r"\\\1", text))


def markdown(p: Plan) -> str:
    lines = [f"# {p.date} 运营计划 plan", ""]
    for owner, tasks in groupby(_ordered(p.tasks), key=lambda t: t.owner):
        lines += [f"## {md(owner)}", ""]
        for t, count in collapsed(list(tasks)):
            done = "x" if t.status == "done" else " "
            lines.append(
                f"- [{done}] {_time(t)} 【{ACTION_ZH.get(t.action, t.action)}】{md(t.rule_title['zh'])} → "
                f"{md(_target(t, count))}：{md(t.message)}（{md(t.reason)}）`{md(t.id)}`"
            )
        lines.append("")
    if p.deferred:
        lines += [f"## 延后 deferred ({len(p.deferred)})", ""]
        for d in _ordered(p.deferred):
            lines.append(
                f"- {md(d.owner)} · {md(d.rule_title['zh'])} → {md(d.target)}：{CAUSE_ZH.get(d.cause, d.cause)}"
            )
        lines.append("")
    if p.blocked:
        lines += [f"## 受阻 blocked ({len(p.blocked)})", ""]
        for b in _ordered(p.blocked):
            lines.append(f"- {md(b.owner)} · {md(b.rule_title['zh'])} → {md(b.target)}：{md(b.cause)}")
        lines.append("")
    return "\n".join(lines)


TASK_COLUMNS = (
    "task_id",
    "date",
    "due_at",
    "status",
    "owner",
    "stage",
    "rule",
    "action",
    "member_id",
    "group_id",
    "message",
    "reason",
    "note",
    "closed_at",
)


TASKS_TABLE = tuple(
    Column(header)
    for header in ("id", "时间 due", "状态 status", "负责人 owner", "动作 action", "对象 target", "内容 message")
)


def _task_row(r: dict[str, Any]) -> list[str]:
    return [
        r["task_id"],
        r["due_at"][:16].replace("T", " "),
        r["status"],
        r["owner"],
        ACTION_ZH.get(r["action"], r["action"]),
        r["member_id"] or r["group_id"] or "",
        r["message"],
    ]


def tasks(rows: Sequence[dict[str, Any]], fmt: str, show_pii: bool) -> None:
    if not show_pii:
        rows = [{k: mask_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows]
    if fmt == "json":
        print_json(rows)
    elif fmt == "csv":
        write_csv(TASK_COLUMNS, ([r[c] for c in TASK_COLUMNS] for r in rows))
    elif fmt == "md":
        sys.stdout.write(
            "".join(
                f"- [{'x' if r['status'] == 'done' else ' '}] {r['due_at'][11:16]} {md(r['owner'] or '')} "
                f"{md(r['message'] or '')} `{md(r['task_id'])}`\n"
                for r in rows
            )
        )
    else:
        print_table(console(), "", TASKS_TABLE, [_task_row(r) for r in rows])
        if not rows:
            console(stderr=True).print("no tasks match", style="dim")
