"""The report as terminal tables with bar charts, and as one self-contained HTML page.

Member and group names are untrusted text: in the terminal they go into `rich.text.Text` (never
parsed as markup), and in HTML the template autoescapes every value. The SVG charts are laid out
here in Python as numbers; only the template turns them into markup, so no label is ever pasted
into HTML unescaped. The page loads nothing: no script, no font, no external URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FunctionLoader, select_autoescape
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Table
from rich.text import Text

from privdom.render import mask_text, yuan
from privdom.render.table import one_line
from privdom.report import Label, Report, Share

_EIGHTHS = " ▏▎▍▌▋▊▉"
UNASSIGNED = "（未分配 unassigned）"


def masked(report: Report) -> Report:
    """The report with every phone number inside a group name masked (the report has no
    --show-pii: it is the page most often shared)."""
    groups = [g.model_copy(update={"name": mask_text(g.name)}) if g.name else g for g in report.groups]
    return report.model_copy(update={"groups": groups})


def bar(value: float, maximum: float, width: int = 24) -> str:
    """A horizontal bar of block characters, `width` cells for `maximum`, in eighths of a cell."""
    if maximum <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / maximum * width * 8))
    full, rest = divmod(min(eighths, width * 8), 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def label(item: Label) -> str:
    return item.zh if item.zh == item.en else f"{item.zh} {item.en}"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _text(value: object) -> Text:
    return Text("" if value is None else one_line(str(value)))


# --- terminal -------------------------------------------------------------------------------------


def print_report(report: Report, out: Console) -> None:
    out.print(Text(f"{report.brand} · 运营报告 Report · {report.as_of.isoformat()}", style="bold"))
    out.print(_funnel_table(report))
    out.print(_share_table("会员等级 Tiers", report.tiers))
    out.print(_share_table("生命周期 Lifecycle", report.lifecycle))
    out.print(_flow_table(report))
    out.print(_group_table(report))
    out.print(_owner_table(report))


def _bar_table(title: str, first: str, numbers: tuple[str, ...]) -> Table:
    """A label column, right-aligned figures, and a bar chart column at the end."""
    table = Table(title=title)
    table.add_column(first)
    for name in numbers:
        table.add_column(name, justify="right")
    table.add_column("")
    return table


def _funnel_table(report: Report) -> Table:
    table = _bar_table("转化漏斗 Funnel", "步骤 Step", ("会员 Members", "上一步 From previous", "总体 From top"))
    top = report.funnel[0].members if report.funnel else 0
    for step in report.funnel:
        table.add_row(
            _text(label(step)),
            str(step.members),
            percent(step.rate_from_previous),
            percent(step.rate_from_top),
            Text(bar(step.members, top), style="cyan"),
        )
    return table


def _share_table(title: str, shares: list[Share]) -> Table:
    table = _bar_table(title, "分层 Level", ("会员 Members", "占比 Share", "消费 Spend (yuan)", "消费占比 Spend share"))
    top = max((s.members for s in shares), default=0)
    for s in shares:
        table.add_row(
            _text(label(s)),
            str(s.members),
            percent(s.share),
            yuan(s.spend_fen),
            percent(s.spend_share),
            Text(bar(s.members, top), style="green"),
        )
    return table


def _flow_table(report: Report) -> Table:
    flow = report.flow
    table = Table(
        title=f"生命周期流转 Lifecycle flow {flow.from_date.isoformat()} → {flow.to_date.isoformat()}",
        caption=f"changed {flow.moved} · unchanged {flow.stayed} · joined since {flow.joined}",
    )
    table.add_column("从 From \\ 到 To")
    for column in flow.columns:
        table.add_column(_text(label(column)), justify="right")
    table.add_column("合计 Total", justify="right")
    for row in flow.rows:
        cells = [
            Text(str(n), style="bold" if row.id == c.id else "") if n else Text("·", style="dim")
            for c, n in ((c, row.counts.get(c.id, 0)) for c in flow.columns)
        ]
        table.add_row(_text(label(row)), *cells, str(row.total))
    return table


def _group_table(report: Report) -> Table:
    table = Table(title=f"社群健康 Group health (silent groups: {len(report.silent_groups)})")
    table.add_column("群 Group", min_width=16, overflow="fold")
    table.add_column("类型 Type")
    table.add_column("群主 Owner", overflow="fold")
    for name in ("人数 Size", "容量 Cap", "满员 Fill", "消息 7d", "图片 7d", "消息 30d", "图片 30d", "沉默 Silent"):
        table.add_column(name, justify="right")
    table.add_column("")
    for g in report.groups:
        silent = "—" if g.silent_days is None else f"{g.silent_days}d"
        table.add_row(
            _text(g.name or g.group_id),
            _text(g.type),
            _text(g.owner),
            str(g.size),
            _text(g.capacity),
            percent(g.fill),
            str(g.messages_7),
            str(g.images_7),
            str(g.messages_30),
            str(g.images_30),
            Text(silent, style="bold red" if g.silent else ""),
            Text(bar(g.fill or 0, 1, 12), style="magenta"),
        )
    return table


def _owner_table(report: Report) -> Table:
    numbers = ("会员 Members", "待办 Open tasks", "逾期 Overdue")
    table = _bar_table("负责人工作量 Owner workload", "负责人 Owner", numbers)
    top = max((o.members for o in report.owners), default=0)
    for o in report.owners:
        table.add_row(
            _text(o.owner if o.owner is not None else UNASSIGNED),
            str(o.members),
            str(o.open_tasks),
            str(o.overdue_tasks),
            Text(bar(o.members, top), style="yellow"),
        )
    return table


# --- HTML -----------------------------------------------------------------------------------------

BAR_HEIGHT = 22
BAR_SPAN = 360  # the longest bar, in pixels
# A terminal cell's width at the charts' 13px font, generous: a Chinese character (two cells) is
# 13px, Latin letters and digits 7-8px. Labels and values are measured with it, so that
# the chart is wide enough for both and neither is cut off at the edge.
CELL_PX = 8
# Longer labels are cut with …; the tables below show names whole.
LABEL_CELLS = 28
# A brand runs 100-150 groups: the chart shows the busiest, the table lists every group.
CHART_GROUPS = 30


@dataclass(frozen=True)
class SvgBar:
    label: str
    value: str
    y: int
    width: int


@dataclass(frozen=True)
class SvgChart:
    title: str
    width: int
    height: int
    label_width: int
    bars: list[SvgBar]


def chart(title: str, items: list[tuple[str, float, str]]) -> SvgChart:
    """Lay out a horizontal bar chart: (label, value, value text) per bar, longest bar = full span;
    the label column and the room after the longest bar fit the longest label and value text."""
    top = max((v for _, v, _ in items), default=0)
    bars = [
        SvgBar(
            label=name if cell_len(name) <= LABEL_CELLS else set_cell_size(name, LABEL_CELLS - 1).rstrip() + "…",
            value=text,
            y=i * (BAR_HEIGHT + 6),
            width=round(value / top * BAR_SPAN) if top > 0 and value > 0 else 0,
        )
        for i, (name, value, text) in enumerate(items)
    ]
    label_width = round(max((cell_len(b.label) for b in bars), default=0) * CELL_PX) + 16
    value_width = round(max((cell_len(b.value) for b in bars), default=0) * CELL_PX) + 16
    width = label_width + BAR_SPAN + value_width
    return SvgChart(title, width, max(1, len(bars)) * (BAR_HEIGHT + 6), label_width, bars)


def _charts(report: Report) -> dict[str, SvgChart]:
    busiest = sorted(report.groups, key=lambda g: -g.messages_30)[:CHART_GROUPS]
    groups_title = "近30天消息 Messages, last 30 days"
    if len(report.groups) > CHART_GROUPS:
        groups_title += f" (top {CHART_GROUPS} of {len(report.groups)})"
    return {
        "funnel": chart(
            "转化漏斗 Funnel",
            [(label(s), s.members, f"{s.members} · {percent(s.rate_from_top)}") for s in report.funnel],
        ),
        "tiers": chart(
            "会员等级 Tiers", [(label(s), s.members, f"{s.members} · {percent(s.share)}") for s in report.tiers]
        ),
        "lifecycle": chart(
            "生命周期 Lifecycle",
            [(label(s), s.members, f"{s.members} · {percent(s.share)}") for s in report.lifecycle],
        ),
        "groups": chart(groups_title, [(g.name or g.group_id, g.messages_30, str(g.messages_30)) for g in busiest]),
        "owners": chart(
            "负责人会员数 Members per owner",
            [(o.owner or UNASSIGNED, o.members, f"{o.members} · {o.open_tasks} open") for o in report.owners],
        ),
    }


def _flow_shades(report: Report) -> dict[str, dict[str, float]]:
    """Cell shading of the flow matrix, 0..1 by the largest cell (a number, never text, in the style)."""
    top = max((n for row in report.flow.rows for n in row.counts.values()), default=0)
    return {
        row.id: {key: round(n / top, 3) if top else 0.0 for key, n in row.counts.items()} for row in report.flow.rows
    }


def _template_source(name: str) -> str:
    return resources.files("privdom.render").joinpath(f"templates/{name}").read_text(encoding="utf-8")


def html_environment() -> Environment:
    """Autoescaped templates from the package (`templates/`), for the offline report pages."""
    env = Environment(
        loader=FunctionLoader(_template_source),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    env.filters["yuan"] = yuan
    return env


def render_html(report: Report) -> str:
    env = html_environment()
    env.filters["label"] = label
    return env.get_template("report.html.j2").render(
        report=report, charts=_charts(report), shades=_flow_shades(report), unassigned=UNASSIGNED
    )


def write_html(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
