"""`privdom review` output: a table ranked by lift, CSV (one row per rule), and one offline HTML page.

Rule titles and owner names are playbook and data text: `print_table` prints them as text, never
markup, and the HTML template autoescapes every value. The page loads nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console

from privdom.render import write_csv, yuan
from privdom.render.report import SvgChart, chart, html_environment, percent
from privdom.render.table import Column, print_table
from privdom.review import Outcome, Review, RuleReview

STAGE_ZH = {"pull_in": "引流", "retention": "留存", "conversion": "转化"}
COMPARISON_ZH = {"randomized": "随机对照 randomized", "observational": "观察对比 observational"}

CSV_COLUMNS = (
    "rule", "stage", "action", "window", "in_playbook", "issued", "done", "skipped", "open", "held_out",
    "deferred", "comparison",
    "done_members", "done_buyers", "done_rate", "done_spend_yuan",
    "comparison_members", "comparison_buyers", "comparison_rate", "comparison_spend_yuan",
    "lift", "lift_low", "lift_high", "windows_open",
    "posted_group_days", "posted_change", "not_posted_group_days", "not_posted_change", "never_fired",
)

TABLE = (
    Column("规则 rule"), Column("阶段 stage"), Column("任务 tasks", "right"),
    Column("留出 held out", "right"), Column("执行率 done%", "right"), Column("完成组 done→order", "right"),
    Column("对照组 comparison→order", "right"), Column("提升 lift [95%]", "right"), Column("对照 comparison"),
)


def _signed(change: float | None) -> str:
    return "—" if change is None else f"{change * 100:+.1f}%"


def _arm(o: Outcome | None) -> str:
    return "" if o is None else f"{o.shown} ({o.buyers}/{o.members})"


def execution(r: RuleReview, min_count: int) -> str:
    return f"n<{min_count}" if r.issued < min_count else percent(r.done / r.issued)


def print_review(review: Review, out: Console) -> None:
    rows: list[list[str]] = []
    for r in review.rules:
        if r.groups is not None:
            posted, other = r.groups["posted"], r.groups["not_posted"]
            done_cell = f"消息 msgs {_signed(posted.change)} ({posted.group_days} 群日 group-days)"
            other_cell = f"消息 msgs {_signed(other.change)} ({other.group_days} 群日 group-days)"
            lift_cell = "" if r.activity_lift is None else f"{r.activity_lift * 100:+.1f} pp msgs"
        else:
            done_cell = _arm(r.outcomes.get("done"))
            other_cell = _arm(r.outcomes.get("comparison"))
            lift_cell = r.lift.shown if r.lift else ""
        rows.append([
            f"{r.title['zh']}\n{r.rule}", STAGE_ZH.get(r.stage, r.stage), f"{r.issued}/{r.done}/{r.skipped}/{r.open}",
            str(r.held_out), execution(r, review.min_count), done_cell, other_cell, lift_cell,
            COMPARISON_ZH.get(r.comparison or "", "群活跃 group activity" if r.groups is not None else "—"),
        ])
    for rule in review.never_fired:
        rows.append([f"{rule}\n⚠ 未触发 never fired", "", "0/0/0/0", "0", "", "", "", "", ""])
    title = f"复盘 review · {review.first} → {review.last} · 窗口 window {review.window} 天 days"
    print_table(out, title, TABLE, rows)
    out.print("任务 tasks: 发出/完成/跳过/未结 issued/done/skipped/open", markup=False, style="dim")
    _print_owners(review, out)
    out.print(
        f"订单数据截至 orders through {review.orders_through or '—'} · "
        f"群活跃截至 activity through {review.activity_through or '—'}",
        markup=False,
    )
    for note in review.notes:
        out.print(f"* {note}", markup=False, style="dim")


def _print_owners(review: Review, out: Console) -> None:
    """Execution rate per rule and owner: done / issued, with the counts (most are below n<30)."""
    owners = sorted({o.owner for r in review.rules for o in r.by_owner})
    if not owners:
        return
    rows = []
    for r in review.rules:
        cells = {o.owner: f"{o.shown} ({o.done}/{o.issued})" for o in r.by_owner}
        rows.append([r.rule, *(cells.get(owner, "") for owner in owners)])
    columns = [Column("规则 rule"), *(Column(owner or "（无 none）", "right") for owner in owners)]
    print_table(out, "执行率 按负责人 execution rate by owner: done/issued", columns, rows)


def write_review_csv(review: Review) -> None:
    write_csv(CSV_COLUMNS, _csv_rows(review))


def _csv_rows(review: Review) -> Iterator[list[Any]]:
    for r in review.rules:
        done, comp = r.outcomes.get("done"), r.outcomes.get("comparison")
        posted = r.groups["posted"] if r.groups else None
        other = r.groups["not_posted"] if r.groups else None
        lift = r.lift
        yield [
            r.rule, r.stage, r.action, r.window, int(r.in_playbook), r.issued, r.done, r.skipped, r.open, r.held_out,
            sum(r.deferred.values()), r.comparison or "",
            *_csv_arm(done), *_csv_arm(comp),
            _num(lift.value) if lift else "", _num(lift.low) if lift else "", _num(lift.high) if lift else "",
            r.windows_open,
            posted.group_days if posted else "", _num(posted.change) if posted else "",
            other.group_days if other else "", _num(other.change) if other else "", 0,
        ]
    for rule in review.never_fired:
        yield [rule, "", "", "", 1, 0, 0, 0, 0, 0, 0, "", *[""] * 8, "", "", "", 0, "", "", "", "", 1]


def _csv_arm(o: Outcome | None) -> list[Any]:
    if o is None:
        return ["", "", "", ""]
    return [o.members, o.buyers, _num(o.rate) if o.rate is not None else o.shown, yuan(o.spend_fen)]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


# --- HTML -----------------------------------------------------------------------------------------


def _charts(review: Review) -> dict[str, SvgChart]:
    """Per stage: each member rule's done and comparison purchase rates, side by side."""
    out = {}
    for stage, zh in STAGE_ZH.items():
        items: list[tuple[str, float, str]] = []
        for r in review.rules:
            if r.stage != stage or r.groups is not None:
                continue
            for arm, name in (("done", "完成 done"), ("comparison", "对照 comparison")):
                o = r.outcomes.get(arm)
                if o is not None:
                    items.append((f"{r.title['zh']} · {name}", o.rate or 0.0, f"{o.shown} (n={o.members})"))
        out[stage] = chart(f"{zh} {stage}: 窗口内下单率 order rate in the window", items)
    return out


def render_html(review: Review) -> str:
    return html_environment().get_template("review.html.j2").render(
        review=review, charts=_charts(review), stages=STAGE_ZH, comparison_zh=COMPARISON_ZH,
        execution=lambda r: execution(r, review.min_count),
    )
