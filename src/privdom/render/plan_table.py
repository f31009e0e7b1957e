"""`privdom plan` as a person reads it: a header, a section per owner, short ids, wrapped text.

The table is laid out here line by line, not as a box table: each task's message and reason go on
lines of their own under it, so the layout works at 100 columns as well as at 200.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from operator import attrgetter
from typing import TypeVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from privdom.labels import ACTIONS, CAUSES, STAGES, Lang, label, pick
from privdom.planner import BlockedTask, DeferredTask, Plan, Task
from privdom.planner.lines import Line, lines, short_ids
from privdom.render import console
from privdom.render.table import one_line, writes_plain_text
from privdom.render.wrap import JOIN, shorten, wrap

TaskT = TypeVar("TaskT", bound=Task)
Taken = Callable[[Sequence[str]], Iterable[str]]
PLAN_WIDTH = 100  # a plan piped to a file or a pager, with no terminal to measure: fits most screens


def ordered(tasks: Sequence[TaskT]) -> list[TaskT]:
    """Each owner's tasks in due-time order (then rule and id): the order of the table and the md."""
    return sorted(tasks, key=attrgetter("owner", "due_at", "rule", "id"))


def time_of(t: Task) -> str:
    return t.due_at[11:16]


def targets(line: Line[TaskT], most: int | None = None) -> str:
    """A line's target: the member or group, or its groups' names (`福利3群、福利4群 +3`)."""
    names = list(dict.fromkeys(one_line(t.target) for t in line.tasks))
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
    rows = lines(ordered(p.tasks))
    ids = [line.id for line in rows]
    short = short_ids(ids, taken(ids) if taken is not None else ())
    blocked = p.blocked
    out: list[tuple[str, str]] = []

    def add(text: str, style: str = PLAIN, *, first: str = "", rest: str | None = None) -> None:
        # Data is one line of plain text: a name cannot start a line of its own or send the
        # terminal an escape sequence (render.table.one_line).
        out.extend((line, style) for line in wrap(one_line(text), width, first=first, rest=rest))

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
        per_stage = " · ".join(f"{label(STAGES, s, cell_lang(lang))} {stages[s]}" for s in STAGE_ORDER if stages[s])
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
        title = f"── {one_line(owner)} · {count} " + pick("项", "tasks", lang) + " "
        out.append((title + "─" * max(0, width - cell_len(title)), BOLD))
        for line in section:
            _plan_line(line, short[line.id], width, full=full, lang=lang, add=add, out=out)
    # What did not go out, counted: every such task is in the CSV and JSON.
    counted: list[tuple[str, str, int, list[list[str]]]] = [
        ("延后", "deferred", len(p.deferred), deferred_summary(p.deferred, lang)),
        ("受阻", "blocked", len(blocked), blocked_summary(blocked)),
    ]
    for zh, en, n, summary_rows in counted:
        if n:
            out.append(("", PLAIN))
            every = pick("每条见", "every task:", lang) + " privdom plan --format csv"
            add(pick(zh, en, lang) + f" {n} · {every}", BOLD)
            for row in summary_rows:
                add(" · ".join(row), first="  ", rest="    ")
    if p.held_out:
        out.append(("", PLAIN))
        add(
            pick("留出对照", "held out", lang) + f": {len(p.held_out)} ("
            + pick("不发送；privdom review 对比效果", "not sent; privdom review compares them", lang) + ")",
            DIM,
        )
    if not p.tasks and not p.deferred and not blocked:
        out.append(("", PLAIN))
        add(pick("今天没有任务", "nothing planned for this day", lang), DIM)
    return out


STAGE_ORDER = tuple(STAGES)


def cell_lang(lang: Lang) -> Lang:
    """Labels inside a line: Chinese unless English alone was asked for (both would crowd it)."""
    return "en" if lang == "en" else "zh"


def _plan_line(
    line: Line[Task], sid: str, width: int, *, full: bool, lang: Lang, add: Callable[..., None],
    out: list[tuple[str, str]],
) -> None:
    t = line.first
    cell = cell_lang(lang)
    mark = "★" if t.priority >= FIRST_PRIORITY else " "
    head = f"{mark} {time_of(t)} "
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
    message = wrap(one_line(t.message), width, first=indent, rest=indent)
    out.extend((text, PLAIN) for text in (message if full else shorten(message, MESSAGE_LINES, width)))
    add(t.reason, DIM, first=indent + "↳ ", rest=indent + "  ")


def print_plan(p: Plan, *, full: bool = False, lang: Lang = "both", taken: Taken | None = None) -> None:
    out = console(default_width=PLAN_WIDTH)
    laid_out = plan_lines(p, out.width, full=full, lang=lang, taken=taken)
    if writes_plain_text(out):  # no styles to draw: the lines as they are, in one write
        out.file.write("".join(f"{text}\n" for text, _ in laid_out))
        return
    if out.legacy_windows or out.is_jupyter:
        for text, style in laid_out:
            out.print(Text(text, style=style or ""), no_wrap=True, overflow="ignore", crop=False)
        return
    # A terminal: bold and dim are two escape codes each, written here rather than through
    # rich's per-line rendering, which takes seconds for a big plan's hundred thousand lines.
    styles = {style: Style.parse(style) for style in {style for _, style in laid_out if style}}
    out.file.write("".join(f"{styles[style].render(text) if style else text}\n" for text, style in laid_out))
    out.file.flush()


def deferred_summary(deferred: Sequence[DeferredTask], lang: Lang = "both") -> list[list[str]]:
    """What did not fit today, counted by cause, owner and rule.

    A big workspace defers tens of thousands of touches on a busy day; one line per task would bury
    the morning's list, so the table counts them and the CSV/JSON name them.
    """
    cell = cell_lang(lang)
    counts = Counter((d.cause, d.owner, d.rule_title.get(cell, d.rule_title["zh"])) for d in deferred)
    return [[label(CAUSES, cause, cell), owner, rule, str(n)] for (cause, owner, rule), n in sorted(counts.items())]


def blocked_summary(blocked: Sequence[BlockedTask]) -> list[list[str]]:
    """The blocked tasks counted by rule and cause."""
    counts = Counter((b.rule, b.cause) for b in blocked)
    return [[rule, cause, str(n)] for (rule, cause), n in sorted(counts.items())]
