"""`privdom plan` and `privdom tasks` output: table, json, csv, md (a checklist to paste into a chat)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import groupby
from typing import Any, TypeVar

from pydantic import TypeAdapter

from privdom.labels import ACTIONS, CAUSES, GROUP_TYPES, STATUSES, Lang, label, pick
from privdom.planner import BlockedTask, DeferredTask, Plan, SavedTask, Task
from privdom.planner.lines import lines, short_ids
from privdom.render import console, mask_text, mask_texts, print_json, write_csv, write_utf8
from privdom.render.plan_table import Taken, cell_lang, ordered, print_plan, targets, time_of
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

# Chinese labels by id, for the modules that print Chinese only (the schedule's calendar titles).
GROUP_TYPE_ZH = {key: zh for key, (zh, _) in GROUP_TYPES.items()}

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
    """The tasks with phones masked in their messages and targets; only the tasks that hold one
    are copied."""
    messages = mask_texts([t.message for t in tasks])
    targets = mask_texts([t.target for t in tasks])
    out = list(tasks)
    for i in messages.keys() | targets.keys():
        t = out[i]
        out[i] = replace(t, message=messages.get(i, t.message), target=targets.get(i, t.target))
    return out


def plan(
    p: Plan, fmt: str, show_pii: bool, *, full: bool = False, lang: Lang = "both", taken: Taken | None = None
) -> None:
    """Print the plan in `fmt`; the table takes `full` (messages uncut), `lang` and `taken` (see
    plan_lines)."""
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
        print_plan(p, full=full, lang=lang, taken=taken)


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


# The characters that open a code span, a link, a table cell or an HTML tag.
_MD_SPECIAL = re.compile(r"([\\`|\[\]<>])")


def md(text: str) -> str:
    """Data (names, messages, reasons) as one line of Markdown text: a member named
    `x\n- [ ] 伪造任务` cannot add an item to the checklist, nor a `|` a cell. A message's own line
    breaks show as ⏎."""
    return one_line(_MD_SPECIAL.sub(r"\\\1", text))


def markdown(p: Plan) -> str:
    """A checklist per owner to paste into a chat: one item per line, `[x]` only when all of a
    line's tasks are done, `[-]` when all are closed and some skipped; the id closes them all."""
    lines_ = [f"# {p.date} 运营计划 plan", ""]
    for owner, owned in groupby(lines(ordered(p.tasks)), key=lambda line: line.first.owner):
        lines_ += [f"## {md(owner)}", ""]
        for line in owned:
            t = line.first
            box = {"done": "x", "skipped": "-"}.get(line.status or "", " ")
            count = f"（{len(line.tasks)} 个群）" if len(line.tasks) > 1 else ""
            lines_.append(
                f"- [{box}] {time_of(t)} 【{label(ACTIONS, t.action, 'zh')}】{md(t.rule_title['zh'])} → "
                f"{md(targets(line))}{count}：{md(t.message)}（{md(t.reason)}）`{line.id}`"
            )
        lines_.append("")
    if p.deferred:
        lines_ += [f"## 延后 deferred ({len(p.deferred)})", ""]
        for d in ordered(p.deferred):
            lines_.append(
                f"- {md(d.owner)} · {md(d.rule_title['zh'])} → {md(d.target)}：{label(CAUSES, d.cause, 'zh')}"
            )
        lines_.append("")
    if p.blocked:
        lines_ += [f"## 受阻 blocked ({len(p.blocked)})", ""]
        for b in ordered(p.blocked):
            lines_.append(f"- {md(b.owner)} · {md(b.rule_title['zh'])} → {md(b.target)}：{md(b.cause)}")
        lines_.append("")
    return "\n".join(lines_)


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
    "target",
)


def tasks_table(lang: Lang) -> tuple[Column, ...]:
    headers = [("id", "id"), ("时间", "due"), ("状态", "status"), ("负责人", "owner"), ("动作", "action"),
               ("对象", "target"), ("内容", "message")]  # fmt: skip
    return tuple(Column(pick(zh, en, lang)) for zh, en in headers)


def _task_row(t: SavedTask, sid: str, lang: Lang) -> list[str]:
    cell = cell_lang(lang)
    return [
        sid,
        t.due_at[11:16] if t.due_at[:10] == t.date else t.due_at[:16].replace("T", " "),
        label(STATUSES, t.status, cell),
        t.owner or "",
        label(ACTIONS, t.action, cell),
        t.target,
        t.message or "",
    ]


CHECKBOX = {"done": "x", "skipped": "-"}


def tasks(
    rows: Sequence[SavedTask], fmt: str, show_pii: bool, *, lang: Lang = "both", taken: Taken | None = None
) -> None:
    if not show_pii:
        rows = [
            t.model_copy(update={"message": mask_text(t.message or ""), "target": mask_text(t.target)})
            for t in rows
        ]
    if fmt == "json":
        print_json([t.model_dump(mode="json") for t in rows])
    elif fmt == "csv":
        write_csv(TASK_COLUMNS, ([getattr(t, c) for c in TASK_COLUMNS] for t in rows))
    elif fmt == "md":
        sys.stdout.write(
            "".join(
                f"- [{CHECKBOX.get(t.status, ' ')}] {t.due_at[11:16]} {md(t.owner or '')} "
                f"【{label(ACTIONS, t.action, 'zh')}】→ {md(t.target)}：{md(t.message or '')}`{t.task_id}`\n"
                for t in rows
            )
        )
    else:
        ids = [t.task_id for t in rows]
        short = short_ids(ids, taken(ids) if taken is not None else ())
        print_table(console(), "", tasks_table(lang), [_task_row(t, short[t.task_id], lang) for t in rows])
        if not rows:
            console(stderr=True).print(pick("没有符合的任务", "no tasks match", lang), style="dim")
