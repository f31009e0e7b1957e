"""Tables for `privdom simulate` and `privdom sop diff` (their JSON is the models' own dump)."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console

from privdom.labels import CAUSES
from privdom.render.table import Column, print_table
from privdom.simulate import Simulation
from privdom.sop_diff import Change, SopDiff, changed_only

CAUSE_ZH = {cause: zh for cause, (zh, _en) in CAUSES.items()}
MEMBERS_SHOWN = 20  # the table names the first members whose touches change; JSON lists them all


def print_simulation(s: Simulation, out: Console) -> None:
    days = sorted({d.date for d in s.load})
    owners = sorted({d.owner for d in s.load})
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for d in s.load:
        cells[d.date][d.owner] = f"{d.member_tasks}{' ⚠' if d.over_capacity else ''}"
    columns = [Column("日期 date"), *(Column(owner, "right") for owner in owners)]
    rows = [[day, *(cells[day].get(owner, "0") for owner in owners)] for day in days]
    capacity = s.load[0].capacity if s.load else 0
    title = f"会员任务/天 member tasks per day (容量 capacity {capacity}) · {s.first} → {s.last}"
    print_table(out, title, columns, rows)
    out.print(
        f"{s.days} 天 days · {s.tasks} 项任务 tasks · {s.done} 完成 done (done-rate {s.done_rate:g}) · "
        f"超容量 over capacity: {sum(d.over_capacity for d in s.load)} owner-days",
        markup=False,
    )
    for load, name in ((s.touches_7_days, "7天 7 days, cap"), (s.touches_30_days, "30天 30 days, WeCom limit")):
        spread = " · ".join(f"{k}次: {n}" for k, n in load.members.items()) or "—"
        out.print(f"私聊触达 private touches per member, most in {name} {load.limit}: {spread} · "
                  f"over: {load.over_limit}", markup=False)
    waits = " · ".join(f"{CAUSE_ZH.get(k, k)} {v}" for k, v in s.deferred_by_cause.items()) or "—"
    out.print(f"延后 deferred (task-mornings): {waits}", markup=False)
    out.print(f"未触发规则 rules that never fired: {', '.join(s.never_fired) or '—'}", markup=False)
    n = s.newcomers
    stopped = " · ".join(f"{k} {v}" for k, v in n.stopped_after.items()) or "—"
    out.print(
        f"新人序列 newcomer sequence ({' → '.join(n.rules) or '—'}): {n.entered} entered, {n.completed} completed, "
        f"{n.incomplete} stopped early (after: {stopped})",
        markup=False,
    )


def print_diff(d: SopDiff, out: Console) -> None:
    out.print(f"sop diff · {d.first} → {d.last} · before: other playbook, after: this workspace's", markup=False)
    out.print(f"+ 新增规则 rules added: {', '.join(d.rules_added) or '—'}", markup=False)
    out.print(f"- 删除规则 rules removed: {', '.join(d.rules_removed) or '—'}", markup=False)
    for c in d.rules_changed:
        out.print(f"~ {c.rule}: {', '.join(c.keys)}", markup=False)
    if d.settings_changed:
        out.print(f"~ 设置 settings: {', '.join(d.settings_changed)}", markup=False)
    out.print(f"任务 tasks: {d.tasks.before} → {d.tasks.after}", markup=False)
    for title, changes in (
        ("按规则 tasks by rule", d.tasks_by_rule),
        ("按负责人 tasks by owner", d.tasks_by_owner),
        ("按阶段 tasks by stage", d.tasks_by_stage),
        ("延后原因 deferred by cause", d.deferred_by_cause),
        ("延后规则 deferred by rule", d.deferred_by_rule),
    ):
        _changes(out, title, changes)
    for title, moves in (("触达增加 touches up", d.touches_up), ("触达减少 touches down", d.touches_down)):
        shown = ", ".join(f"{m.member_id} {m.before}→{m.after}" for m in moves[:MEMBERS_SHOWN])
        more = f" … (+{len(moves) - MEMBERS_SHOWN}, see --format json)" if len(moves) > MEMBERS_SHOWN else ""
        out.print(f"{title}: {len(moves)} members{': ' + shown if moves else ''}{more}", markup=False)


def _changes(out: Console, title: str, changes: list[Change]) -> None:
    rows = [[c.key, str(c.before), str(c.after), f"{c.after - c.before:+d}"] for c in changed_only(changes)]
    if not rows:
        out.print(f"{title}: 无变化 unchanged", markup=False)
        return
    columns = (
        Column("项 key"), Column("之前 before", "right"), Column("之后 after", "right"), Column("差 change", "right")
    )
    print_table(out, title, columns, rows)
