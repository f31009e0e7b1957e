"""`privdom plan` and `privdom tasks` output: table, json, csv, md (a checklist to paste into a chat)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import groupby
from operator import attrgetter
from typing import Any, TypeVar

from pydantic import TypeAdapter
from rich.cells import cell_len
from rich.text import Text

from privdom.labels import ACTIONS, CAUSES, GROUP_TYPES, STAGES, STATUSES, Lang, label, pick
from privdom.planner import BlockedTask, DeferredTask, Plan, SavedTask, Task
from privdom.planner.lines import Line, lines, short_ids
from privdom.render import console, mask_text, print_json, write_csv, write_utf8
from privdom.render.table import Column, print_table
from privdom.render.wrap import JOIN, shorten, wrap

TaskT = TypeVar("TaskT", bound=Task)
Taken = Callable[[Sequence[str]], Iterable[str]]
_PLAN_JSON = TypeAdapter(Plan)
# A piece of a task list, as the one key of an object: serialized, its tasks sit at the plan's depth.
_PIECE_JSON: dict[str, TypeAdapter[Any]] = {
    "tasks": TypeAdapter(dict[str, list[Task]]),
    "deferred": TypeAdapter(dict[str, list[DeferredTask]]),
    "blocked": TypeAdapter(dict[str, list[BlockedTask]]),
}
TASKS_PER_JSON_PIECE = 500

# Chinese labels by id, for the modules that print Chinese only (the schedule's calendar titles).
GROUP_TYPE_ZH = {key: zh for key, (zh, _) in GROUP_TYPES.items()}
PLAN_WIDTH = 100  # a plan piped to a file or a pager, with no terminal to measure: fits most screens

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
        update={"tasks": _masked(plan.tasks), "deferred": _masked(plan.deferred), "blocked": _masked(plan.blocked)}
    )


def _masked(tasks: Sequence[TaskT]) -> list[TaskT]:
    out = []
    for t in tasks:
        message, target = mask_text(t.message), mask_text(t.target)
        changed = message != t.message or target != t.target  # copy only what masking changed
        out.append(replace(t, message=message, target=target) if changed else t)
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
        write_csv(CSV_COLUMNS, (_csv_row(t) for t in [*p.tasks, *p.deferred, *p.blocked]))
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
        "deferred" if isinstance(t, DeferredTask) else "blocked" if isinstance(t, BlockedTask) else "task",
    ]


def _time(t: Task) -> str:
    return t.due_at[11:16]


def _ordered(tasks: Sequence[TaskT]) -> list[TaskT]:
    return sorted(tasks, key=attrgetter("owner", "due_at", "rule", "id"))


def targets(line: Line[TaskT], most: int | None = None) -> str:
    """A line's target: the member or group, or its groups' names (`福利3群、福利4群 +3`)."""
    names = list(dict.fromkeys(t.target for t in line.tasks))
    if most is None or len(names) <= most:
        return "、".join(names)
    return "、".join(names[:most]) + f" +{len(names) - most}"


# ---------------------------------------------------------------- the table, for a person

FIRST_PRIORITY = 80  # rules at or above it are marked ★: the first things to do
MESSAGE_LINES = 2  # a message longer than this many lines is cut with … (unless --full)
GROUP_NAMES = 2  # a collapsed line names this many groups, then counts the rest
PLAIN, DIM, BOLD = "", "dim", "bold"


def plan_lines(
    p: Plan, width: int, *, full: bool = False, lang: Lang = "both", taken: Taken | None = None
) -> list[tuple[str, str]]:
    """The plan as a person reads it: (text, style) lines of at most `width` cells.

    A header first (the date; tasks per owner and stage; deferred and blocked counts), then one
    section per owner in due-time order. Each line carries a short id that `privdom done` takes (a
    collapsed line's id closes all its tasks) and ★ for the first things to do; its message and
    reason follow on lines of their own, wrapped between words. `taken(ids)` gives the other saved
    ids that share a first few characters with them: a short id is never the prefix of one.
    """
    rows = lines(_ordered(p.tasks))
    ids = [line.id for line in rows]
    short = short_ids(ids, taken(ids) if taken is not None else ())
    blocked = p.blocked
    out: list[tuple[str, str]] = []

    def add(text: str, style: str = PLAIN, *, first: str = "", rest: str | None = None) -> None:
        out.extend((line, style) for line in wrap(text, width, first=first, rest=rest))

    counts = [
        f"{len(p.tasks)} " + pick("项任务", "tasks", lang),
        pick("延后", "deferred", lang) + f" {len(p.deferred)}",
        pick("受阻", "blocked", lang) + f" {len(blocked)}",
    ]
    add(f"{p.date} " + pick("运营计划", "plan", lang) + " · " + " · ".join(counts), BOLD)
    by_owner: dict[str, Counter[str]] = {}
    for t in p.tasks:
        by_owner.setdefault(t.owner, Counter())[t.stage] += 1
    for owner, stages in sorted(by_owner.items()):
        per_stage = " · ".join(f"{label(STAGES, s, _cell(lang))} {stages[s]}" for s in STAGE_ORDER if stages[s])
        add(f"{owner} {sum(stages.values())}: {per_stage}", first="  ")
    if p.tasks:
        add(
            "★ " + pick("先做", "do first", lang) + f" (≥ {FIRST_PRIORITY}) · "
            + pick("完成后", "when done:", lang) + " privdom done ID",
            DIM,
        )
    for owner, owned in groupby(rows, key=lambda line: line.first.owner):
        section = list(owned)
        count = sum(len(line.tasks) for line in section)
        out.append(("", PLAIN))
        title = f"── {owner} · {count} " + pick("项", "tasks", lang) + " "
        out.append((title + "─" * max(0, width - cell_len(title)), BOLD))
        for line in section:
            _plan_line(line, short[line.id], width, full=full, lang=lang, add=add, out=out)
    if p.deferred:
        out.append(("", PLAIN))
        add(
            pick("延后", "deferred", lang) + f" {len(p.deferred)} · "
            + pick("每条见", "every task:", lang) + " privdom plan --format csv",
            BOLD,
        )
        for cause, owner, rule, n in deferred_summary(p.deferred, lang):
            add(f"{cause} · {owner} · {rule} · {n}", first="  ")
    if blocked:
        out.append(("", PLAIN))
        add(
            pick("受阻", "blocked", lang) + f" {len(blocked)} · "
            + pick("每条见", "every task:", lang) + " privdom plan --format csv",
            BOLD,
        )
        for rule, cause, n in blocked_summary(blocked):
            add(f"{rule} · {cause} · {n}", first="  ", rest="    ")
    if not p.tasks and not p.deferred and not blocked:
        out.append(("", PLAIN))
        add(pick("今天没有任务", "nothing planned for this day", lang), DIM)
    return out


STAGE_ORDER = tuple(STAGES)


def _cell(lang: Lang) -> Lang:
    """Labels inside a line: Chinese unless English alone was asked for (both would crowd it)."""
    return "en" if lang == "en" else "zh"


def _plan_line(
    line: Line[Task], sid: str, width: int, *, full: bool, lang: Lang, add: Any, out: list[tuple[str, str]]
) -> None:
    t = line.first
    cell = _cell(lang)
    mark = "★" if t.priority >= FIRST_PRIORITY else " "
    head = f"{mark} {_time(t)} "
    state = {
        "done": " ✓",
        "skipped": " [-]",
        "open": " (" + pick("已保存", "saved", cell) + ")",
    }.get(line.status or "", "")
    # Joined so that the count never breaks across lines.
    n = len(line.tasks)
    count = " " + (JOIN.join(f"({n}个群)") if cell == "zh" else f"({n}{JOIN}\u00a0{JOIN}groups)")
    count = count if len(line.tasks) > 1 else ""
    what = (
        f"{sid} {label(STAGES, t.stage, cell)} {label(ACTIONS, t.action, cell)} "
        f"{t.rule_title.get(cell, t.rule_title['zh'])}{state} → {targets(line, None if full else GROUP_NAMES)}{count}"
    )
    indent = " " * cell_len(head)
    add(what, BOLD if mark != " " else PLAIN, first=head, rest=indent + "  ")
    message = wrap(t.message, width, first=indent, rest=indent)
    out.extend((text, PLAIN) for text in (message if full else shorten(message, MESSAGE_LINES, width)))
    add(t.reason, DIM, first=indent + "↳ ", rest=indent + "  ")


def print_plan(p: Plan, *, full: bool = False, lang: Lang = "both", taken: Taken | None = None) -> None:
    out = console(default_width=PLAN_WIDTH)
    for text, style in plan_lines(p, out.width, full=full, lang=lang, taken=taken):
        out.print(Text(text, style=style or ""), no_wrap=True, overflow="ignore", crop=False)


def deferred_summary(deferred: Sequence[DeferredTask], lang: Lang = "both") -> list[list[str]]:
    """What did not fit today, counted by cause, owner and rule.

    A big workspace defers tens of thousands of touches on a busy day; one line per task would bury
    the morning's list, so the table counts them and the CSV/JSON name them.
    """
    cell = _cell(lang)
    counts = Counter((d.cause, d.owner, d.rule_title.get(cell, d.rule_title["zh"])) for d in deferred)
    return [[label(CAUSES, cause, cell), owner, rule, str(n)] for (cause, owner, rule), n in sorted(counts.items())]


def blocked_summary(blocked: Sequence[BlockedTask]) -> list[list[str]]:
    """The blocked tasks counted by rule and cause."""
    counts = Counter((b.rule, b.cause) for b in blocked)
    return [[rule, cause, str(n)] for (rule, cause), n in sorted(counts.items())]


def markdown(p: Plan) -> str:
    """A checklist per owner to paste into a chat: one item per line, `[x]` only when all of a
    line's tasks are done, `[-]` when all are closed and some skipped; the id closes them all."""
    lines_ = [f"# {p.date} 运营计划 plan", ""]
    for owner, owned in groupby(lines(_ordered(p.tasks)), key=lambda line: line.first.owner):
        lines_ += [f"## {owner}", ""]
        for line in owned:
            t = line.first
            box = {"done": "x", "skipped": "-"}.get(line.status or "", " ")
            count = f"（{len(line.tasks)} 个群）" if len(line.tasks) > 1 else ""
            lines_.append(
                f"- [{box}] {_time(t)} 【{label(ACTIONS, t.action, 'zh')}】{t.rule_title['zh']} → "
                f"{targets(line)}{count}：{t.message}（{t.reason}）`{line.id}`"
            )
        lines_.append("")
    if p.deferred:
        lines_ += [f"## 延后 deferred ({len(p.deferred)})", ""]
        for d in _ordered(p.deferred):
            lines_.append(f"- {d.owner} · {d.rule_title['zh']} → {d.target}：{label(CAUSES, d.cause, 'zh')}")
        lines_.append("")
    if p.blocked:
        lines_ += [f"## 受阻 blocked ({len(p.blocked)})", ""]
        for b in _ordered(p.blocked):
            lines_.append(f"- {b.owner} · {b.rule_title['zh']} → {b.target}：{b.cause}")
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
    cell = _cell(lang)
    return [
        sid,
        t.due_at[:16].replace("T", " "),
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
                f"- [{CHECKBOX.get(t.status, ' ')}] {t.due_at[11:16]} {t.owner} "
                f"【{label(ACTIONS, t.action, 'zh')}】→ {t.target}：{t.message}`{t.task_id}`\n"
                for t in rows
            )
        )
    else:
        ids = [t.task_id for t in rows]
        short = short_ids(ids, taken(ids) if taken is not None else ())
        print_table(console(), "", tasks_table(lang), [_task_row(t, short[t.task_id], lang) for t in rows])
        if not rows:
            console(stderr=True).print(pick("没有符合的任务", "no tasks match", lang), style="dim")
