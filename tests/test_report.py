"""`privdom report`: every figure is recomputed here from the rows the test inserts."""

from __future__ import annotations

import io
import sqlite3
from collections import Counter
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from privdom.render.report import bar, print_report
from privdom.report import Report

AS_OF = date(2026, 6, 30)
BEFORE = AS_OF - timedelta(days=30)

# member_id, name, owner, joined_at
MEMBERS = [
    ("m001", "<b>Alice</b> & co", "小王", "2026-01-05 10:00:00"),
    ("m002", "[bold]Bob[/bold]", "小王", "2026-03-01 09:00:00"),
    ("m003", "陈三", "小李", "2026-06-10 12:00:00"),
    ("m004", "李四", "小李", "2025-01-01 08:00:00"),
    ("m005", "Future", None, "2026-07-05 08:00:00"),
    ("m006", "王六", "小李", None),
    ("m007", "无主", None, "2026-01-01 08:00:00"),
]
# order_id, member_id, paid_at, amount_fen, counted
ORDERS = [
    ("o1", "m001", "2026-02-01 12:00:00", 10_000, 1),
    ("o2", "m001", "2026-06-20 12:00:00", 25_000, 1),
    ("o3", "m003", "2026-06-15 12:00:00", 80_000, 1),
    ("o4", "m004", "2025-10-01 12:00:00", 5_000, 1),
    ("o5", "m004", "2026-06-25 12:00:00", 99_000, 0),  # refunded: never counted
    ("o6", "m006", "2026-05-01 12:00:00", 10_000, 1),
    ("o7", "m006", "2026-05-10 12:00:00", 10_000, 1),
    ("o8", "m006", "2026-06-29 23:59:59", 10_000, 1),
    ("o9", "m006", "2026-07-02 12:00:00", 10_000, 1),  # after the report date
]
# group_id, name, type, owner, size, capacity, created_at
GROUPS = [
    ("g1", "<script>alert(1)</script>福利群", "welfare", "小王", 180, 200, "2026-01-01 10:00:00"),
    ("g2", "服务群 & VIP", "service", "小李", None, 30, "2026-02-01 10:00:00"),
    ("g3", "Later", "interest", "小李", 10, 200, "2026-07-10 10:00:00"),
    ("g4", "兴趣群", "interest", "小李", 12, 200, "2026-06-29 10:00:00"),
]
# group_id, member_id, joined_at, left_at
GROUP_MEMBERS = [
    ("g2", "m001", "2026-02-02 10:00:00", None),
    ("g2", "m003", "2026-06-11 10:00:00", None),
    ("g2", "m004", "2026-02-02 10:00:00", "2026-04-01 10:00:00"),
    ("g2", "m005", "2026-07-06 10:00:00", None),
]
# date, group_id, member_id, messages, images
ACTIVITY = [
    ("2026-06-30", "g1", "m001", 5, 1),
    ("2026-06-25", "g1", "m002", 10, 2),
    ("2026-06-24", "g1", "m001", 1, 0),
    ("2026-06-01", "g1", "m001", 3, 0),
    ("2026-05-31", "g1", "m001", 100, 9),
    ("2026-07-01", "g1", "m001", 50, 5),
    ("2026-06-26", "g2", "m003", 4, 1),
    ("2026-06-29", "g2", "m003", 0, 2),
]
# task_id, date, owner, status
TASKS = [
    ("t1", "2026-06-30", "小王", "open"),
    ("t2", "2026-06-28", "小王", "open"),
    ("t3", "2026-06-29", "小王", "done"),
    ("t4", "2026-07-01", "小李", "open"),
    ("t5", "2026-06-30", "小张", "open"),
    ("t6", "2026-06-20", "小张", "skipped"),
]


# --- the figures, computed in Python from the lists above --------------------------------------------


def member_figures(as_of: date) -> dict[str, dict[str, Any]]:
    """Members existing as of `as_of` with orders, spend, tier and segment per the default playbook."""
    out: dict[str, dict[str, Any]] = {}
    for member_id, _, owner, joined in MEMBERS:
        if joined is not None and date.fromisoformat(joined[:10]) > as_of:
            continue
        counted = [o for o in ORDERS if o[1] == member_id and o[4] and date.fromisoformat(o[2][:10]) <= as_of]
        spend = sum(o[3] for o in counted)
        last = max((date.fromisoformat(o[2][:10]) for o in counted), default=None)
        growth = spend // 100 * 10
        tier = "gold" if growth >= 6000 else "silver" if growth >= 3000 else "regular"
        recency = (as_of - last).days if last else None
        if not counted:
            segment = "prospect"
        elif recency is not None and recency > 180:
            segment = "churned"
        elif recency is not None and recency > 60:
            segment = "decline"
        elif len(counted) == 1:
            segment = "growth"
        else:
            segment = "mature"
        out[member_id] = {"owner": owner, "orders": len(counted), "spend": spend, "tier": tier, "segment": segment}
    return out


@pytest.fixture
def brand(workspace: Path) -> Path:
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.executemany("INSERT INTO members (member_id, name, owner, joined_at) VALUES (?, ?, ?, ?)", MEMBERS)
        conn.executemany(
            "INSERT INTO orders (order_id, member_id, paid_at, amount_fen, counted) VALUES (?, ?, ?, ?, ?)", ORDERS
        )
        conn.executemany(
            "INSERT INTO groups (group_id, name, type, owner, size, capacity, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            GROUPS,
        )
        conn.executemany("INSERT INTO group_members VALUES (?, ?, ?, ?, NULL)", GROUP_MEMBERS)
        conn.executemany(
            "INSERT INTO activity (date, group_id, member_id, messages, images)"
            " VALUES (?, ?, ?, ?, ?)",
            ACTIVITY,
        )
        conn.executemany(
            """
            INSERT INTO tasks (task_id, date, owner, status, rule, stage, trigger, action, due_at, created_at)
            VALUES (?, ?, ?, ?, 'r', 'retention', 'daily', 'call', ?, ?)
            """,
            [(*t, t[1] + " 10:00:00", t[1] + " 08:00:00") for t in TASKS],
        )
    conn.close()
    return workspace


def report_json(cli: Any) -> dict[str, Any]:
    res = cli("report", "--date", AS_OF.isoformat(), "--format", "json")
    assert res.exit_code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def test_funnel_counts_members_buyers_and_repeat_buyers_as_of_the_date(cli, brand: Path) -> None:
    figures = member_figures(AS_OF)
    data = report_json(cli)
    orders = [f["orders"] for f in figures.values()]
    counts = [len(orders), sum(n >= 1 for n in orders), sum(n >= 2 for n in orders)]
    assert data["members"] == len(figures)
    assert [s["id"] for s in data["funnel"]] == ["joined", "first_order", "repeat"]
    assert [s["members"] for s in data["funnel"]] == counts
    assert data["funnel"][0]["rate_from_previous"] is None
    assert data["funnel"][1]["rate_from_previous"] == round(counts[1] / counts[0], 4)
    assert data["funnel"][2]["rate_from_previous"] == round(counts[2] / counts[1], 4)
    assert data["funnel"][2]["rate_from_top"] == round(counts[2] / counts[0], 4)


def test_tier_and_lifecycle_distributions_follow_the_playbook_order(cli, brand: Path) -> None:
    figures = member_figures(AS_OF)
    data = report_json(cli)
    total_spend = sum(f["spend"] for f in figures.values())
    for key, field, order in (
        ("tiers", "tier", ["regular", "silver", "gold"]),
        ("lifecycle", "segment", ["prospect", "churned", "decline", "growth", "mature"]),
    ):
        assert [s["id"] for s in data[key]] == order
        for share in data[key]:
            members = [f for f in figures.values() if f[field] == share["id"]]
            assert share["members"] == len(members), (key, share["id"])
            assert share["spend_fen"] == sum(f["spend"] for f in members)
            assert share["share"] == round(len(members) / len(figures), 4)
            assert share["spend_share"] == round(sum(f["spend"] for f in members) / total_spend, 4)
    assert data["tiers"][1]["zh"] == "银卡会员" and data["lifecycle"][0]["en"] == "Introduction"


def test_lifecycle_flow_is_a_matrix_from_thirty_days_ago_to_the_date(cli, brand: Path) -> None:
    before, now = member_figures(BEFORE), member_figures(AS_OF)
    expected = Counter((before[m]["segment"] if m in before else "new", f["segment"]) for m, f in now.items())
    data = report_json(cli)
    flow = data["flow"]
    assert flow["from_date"] == BEFORE.isoformat() and flow["to_date"] == AS_OF.isoformat()
    assert [r["id"] for r in flow["rows"]] == ["new", "prospect", "churned", "decline", "growth", "mature"]
    got = Counter({(r["id"], to): n for r in flow["rows"] for to, n in r["counts"].items() if n})
    assert got == expected
    assert expected[("decline", "mature")] == 1  # m001 came back inside the window
    assert flow["joined"] == sum(n for (src, _), n in expected.items() if src == "new")
    assert flow["moved"] == sum(n for (src, to), n in expected.items() if src not in ("new", to))
    assert flow["stayed"] == sum(n for (src, to), n in expected.items() if src == to)


def test_group_health_counts_activity_windows_fill_and_silence(cli, brand: Path) -> None:
    data = report_json(cli)
    groups = {g["group_id"]: g for g in data["groups"]}
    assert set(groups) == {"g1", "g2", "g4"}  # g3 was created after the date

    def window(group: str, days: int, column: int) -> int:
        first = AS_OF - timedelta(days=days - 1)
        return sum(a[column] for a in ACTIVITY if a[1] == group and first <= date.fromisoformat(a[0]) <= AS_OF)

    for gid, g in groups.items():
        assert (g["messages_7"], g["images_7"]) == (window(gid, 7, 3), window(gid, 7, 4)), gid
        assert (g["messages_30"], g["images_30"]) == (window(gid, 30, 3), window(gid, 30, 4)), gid
    g1, g2, g4 = groups["g1"], groups["g2"], groups["g4"]
    assert (g1["size"], g1["capacity"], g1["fill"]) == (180, 200, 0.9)
    assert (g1["last_message_date"], g1["silent_days"], g1["silent"]) == ("2026-06-30", 0, False)
    # g2 has no size column: its roster on the day is m001 and m003 (m004 left, m005 not yet in).
    assert (g2["size"], g2["fill"]) == (2, round(2 / 30, 4))
    # Images on 06-29 are not messages: silent since 06-26.
    assert (g2["last_message_date"], g2["silent_days"], g2["silent"]) == ("2026-06-26", 4, True)
    assert (g4["last_message_date"], g4["silent_days"], g4["silent"]) == (None, 1, False)
    assert data["silent_groups"] == ["g2"]


def test_owner_workload_counts_members_and_open_tasks(cli, brand: Path) -> None:
    figures = member_figures(AS_OF)
    data = report_json(cli)
    owners = {o["owner"]: o for o in data["owners"]}
    # Members without an owner are the default owner's, as their tasks are.
    default = "运营"
    expected_members = Counter(f["owner"] or default for f in figures.values())
    for owner in set(expected_members) | {t[2] or default for t in TASKS}:
        open_tasks = [t for t in TASKS if (t[2] or default) == owner and t[3] == "open" and t[1] <= AS_OF.isoformat()]
        if not expected_members[owner] and not open_tasks:
            assert owner not in owners
            continue
        assert owners[owner]["members"] == expected_members[owner], owner
        assert owners[owner]["open_tasks"] == len(open_tasks), owner
        assert owners[owner]["overdue_tasks"] == sum(t[1] < AS_OF.isoformat() for t in open_tasks), owner
    unassigned = sum(1 for f in figures.values() if not f["owner"])
    assert unassigned > 0 and owners[default]["unassigned_members"] == unassigned
    assert None not in owners


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_is_one_self_contained_escaped_page(cli, brand: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    res = cli("report", "--date", AS_OF.isoformat(), "--html", str(out))
    assert res.exit_code == 0, res.stderr
    assert str(out) in res.stderr
    page = out.read_text(encoding="utf-8")
    assert "http" not in page and "<script" not in page and "src=" not in page and "@import" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;福利群" in page
    assert "服务群 &amp; VIP" in page
    assert page.count("<svg") == 5
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    assert "script" not in parser.tags
    text = "".join(parser.text)
    assert "<script>alert(1)</script>福利群" in text  # the name survives, as text


def test_table_output_shows_names_as_text_not_markup(cli, brand: Path) -> None:
    assert cli("report", "--date", AS_OF.isoformat()).exit_code == 0
    # Render the same report wide enough that no cell wraps, to see every name whole.
    report = Report.model_validate(report_json(cli))
    out = io.StringIO()
    print_report(report, Console(file=out, width=400, color_system=None))
    text = out.getvalue()
    assert "<script>alert(1)</script>福利群" in text
    assert "服务群 & VIP" in text
    assert "Lifecycle flow 2026-05-31 → 2026-06-30" in text


def test_json_and_html_can_be_asked_for_together(cli, brand: Path, tmp_path: Path) -> None:
    res = cli("report", "--date", AS_OF.isoformat(), "--format", "json", "--html", "r.html")
    assert res.exit_code == 0, res.stderr
    assert res.json()["as_of"] == AS_OF.isoformat()
    assert (tmp_path / "r.html").exists()


def test_an_empty_workspace_reports_zeros(cli, workspace: Path) -> None:
    data = report_json(cli)
    assert [s["members"] for s in data["funnel"]] == [0, 0, 0]
    assert data["funnel"][1]["rate_from_previous"] is None
    assert all(s["members"] == 0 and s["share"] is None for s in data["tiers"])
    assert data["groups"] == [] and data["owners"] == []
    assert cli("report", "--date", AS_OF.isoformat(), "--html", "r.html").exit_code == 0


def test_a_bad_date_and_an_unwritable_html_path_are_user_errors(cli, brand: Path, tmp_path: Path) -> None:
    res = cli("report", "--date", "2026-13-01")
    assert res.exit_code == 1
    assert res.stderr == (
        "error: --date '2026-13-01' is not a date\nhint: dates are written YYYY-MM-DD, e.g. 2026-11-23\n"
    )
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    res = cli("report", "--date", AS_OF.isoformat(), "--html", str(tmp_path / "taken" / "r.html"))
    assert res.exit_code == 1
    assert res.stderr.startswith(f"error: cannot write the report to {tmp_path / 'taken' / 'r.html'}: ")
    assert res.stderr.endswith("hint: pass --html a file path in a folder you can write to\n")


@pytest.mark.parametrize(
    ("value", "maximum", "expected"),
    [(0, 10, ""), (10, 10, "█" * 24), (5, 10, "█" * 12), (1, 1000, "▏"), (20, 10, "█" * 24), (3, 0, "")],
)
def test_bar_is_proportional_in_eighths_of_a_cell(value: float, maximum: float, expected: str) -> None:
    assert bar(value, maximum) == expected


def test_chart_labels_are_shortened_and_bars_scale_to_the_largest_value() -> None:
    from privdom.render.report import BAR_SPAN, chart

    layout = chart("t", [("短", 10, "10"), ("一个非常非常非常非常非常非常长的群名字", 5, "5"), ("零", 0, "0")])
    assert [b.label for b in layout.bars] == ["短", "一个非常非常非常非常非常非…", "零"]
    assert layout.bars[0].width == BAR_SPAN
    assert layout.bars[1].width == round(layout.bars[0].width / 2)
    assert layout.bars[2].width == 0


def test_chart_is_wide_enough_for_its_labels_and_values() -> None:
    """The longest label fits left of the bars and the longest value right of the longest bar, at
    13px per Chinese character and 8px per Latin letter or digit (the page's font size)."""
    from privdom.render.report import chart

    layout = chart("t", [("复购（≥2单）Repeat", 1994, "1994 · 100.0%"), ("入会", 3, "3 · 0.2%")])
    longest_label = 13 * 6 + 8 * len(" Repeat")
    assert layout.label_width - 8 >= longest_label  # text-anchor end at label_width - 8
    first = layout.bars[0]
    assert layout.label_width + first.width + 6 + 8 * len("1994 · 100.0%") <= layout.width


def test_html_names_cjk_fonts_of_every_system_and_lists_groups_worst_first(tmp_path: Path) -> None:
    from privdom.render.report import render_html
    from privdom.report import Flow, GroupHealth, Report, health

    def group(gid: str, silent_days: int, messages: int) -> GroupHealth:
        return GroupHealth(
            group_id=gid, name=gid, type="welfare", owner="小茶", size=10, capacity=200, fill=0.05, messages_7=0,
            images_7=0, messages_30=messages, images_30=0, last_message_date=None, silent_days=silent_days,
            silent=silent_days >= 3,
        )  # fmt: skip

    groups = sorted([group("busy", 0, 90), group("quiet", 1, 2), group("silent", 9, 0), group("dead", 30, 0)],
                    key=health)  # fmt: skip
    assert [g.group_id for g in groups] == ["dead", "silent", "quiet", "busy"]
    page = render_html(
        Report(brand="茶语", as_of=date(2026, 11, 23), members=0, funnel=[], tiers=[], lifecycle=[],
               flow=Flow(from_date=date(2026, 10, 24), to_date=date(2026, 11, 23), columns=[], rows=[], moved=0,
                         stayed=0, joined=0),
               groups=groups, silent_groups=["dead", "silent"], owners=[])  # fmt: skip
    )
    for font in ("Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei"):
        assert f'"{font}"' in page
    section = page[page.index("<h2>社群健康") :]
    table = section[section.index("<table>") :]
    assert table.index(">dead<") < table.index(">silent<") < table.index(">quiet<") < table.index(">busy<")


def test_silence_threshold_follows_the_playbooks_group_silent_rules() -> None:
    from privdom.playbook import default_sops_dir, load_playbook
    from privdom.report import SILENT_AFTER_DAYS, silent_after_days

    playbook = load_playbook(default_sops_dir())
    assert silent_after_days(playbook) == 3  # pull_in.yaml: silent-group-red-envelope, days: 3
    stages = playbook.stages
    rule = next(r for r in stages.pull_in if r.when.trigger == "group_silent")
    later = rule.model_copy(update={"when": rule.when.model_copy(update={"days": 5})})
    five = playbook.model_copy(
        update={"stages": stages.model_copy(update={"pull_in": [later if r is rule else r for r in stages.pull_in]})}
    )
    assert silent_after_days(five) == 5
    none = playbook.model_copy(
        update={"stages": stages.model_copy(update={"pull_in": [r for r in stages.pull_in if r is not rule]})}
    )
    assert silent_after_days(none) == SILENT_AFTER_DAYS


def test_tiers_and_lifecycle_are_counted_as_privdom_tiers_and_segments_count_them(cli, brand: Path) -> None:
    # Give the last segment a condition, so the members it caught match no segment at all.
    playbook = brand / "sops" / "playbook.yaml"
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(text.replace("    en: Maturity\n", "    en: Maturity\n    when: {orders_total: {gt: 100}}\n"),
                        encoding="utf-8")
    report = report_json(cli)
    for key, command in (("tiers", ("tiers",)), ("lifecycle", ("segments", "--model", "lifecycle"))):
        res = cli(*command, "--date", AS_OF.isoformat(), "--format", "json")
        assert res.exit_code == 0, res.stderr
        classes = res.json()["classes"]
        assert [(s["id"], s["zh"], s["members"], s["share"]) for s in report[key]] == [
            (c["id"] or "unmatched", c["zh"], c["members"], c["share"]) for c in classes
        ]
    unmatched = report["lifecycle"][-1]
    mature = sum(1 for f in member_figures(AS_OF).values() if f["segment"] == "mature")
    assert (unmatched["id"], unmatched["en"], unmatched["members"]) == ("unmatched", "Unmatched", mature) and mature
