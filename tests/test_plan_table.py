"""The plan table a person acts on, `done` on what it shows, and the labels in both languages.

On the example brand's first morning (2026-11-23): every line's id is accepted by `done`, a line
that stands for several group posts closes them all, and at 100 columns no word, number or date is
split and no line starts with Chinese punctuation.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

from conftest import Result
from privdom import __version__
from privdom.cli.main import app
from privdom.planner import Plan, Task
from privdom.planner.lines import line_id, lines
from privdom.render.plan_table import MESSAGE_LINES, plan_lines
from privdom.render.wrap import NO_LINE_START, _units, wrap

D = "2026-11-23"
LINE = re.compile(r"^[★ ] \d\d:\d\d ([0-9a-f]{6,12}) ")
CHINESE_PUNCTUATION = "，。、；：！？）」』】》〉…～"
WORD = re.compile(r"[A-Za-z0-9]+(?:[-:./][A-Za-z0-9]+)*")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    res = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return Result(res.exit_code, res.stdout, res.stderr)


def ws_args(folder: Path) -> list[str]:
    return ["--db", str(folder / "privdom.db"), "--sops", str(folder / "sops")]


def plan_json(folder: Path, *extra: str) -> dict[str, Any]:
    res = run(*ws_args(folder), "plan", "--date", D, "--format", "json", *extra)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def db(folder: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "privdom.db") as conn:
        return conn.execute(sql, params).fetchall()


def table(folder: Path, *extra: str, columns: str | None = "100") -> list[str]:
    res = run(*ws_args(folder), "plan", "--date", D, *extra, env={"COLUMNS": columns} if columns else None)
    assert res.exit_code == 0, res.stderr
    return res.stdout.splitlines()


def test_every_line_carries_an_id_that_done_accepts(teatalk: Path) -> None:
    saved = run(*ws_args(teatalk), "plan", "--date", D, "--save")
    assert saved.exit_code == 0
    lines = table(teatalk)
    ids = [m[1] for m in map(LINE.match, lines) if m]
    total = db(teatalk, "SELECT COUNT(*) FROM tasks")[0][0]
    assert total == len(plan_json(teatalk)["tasks"]) > len(ids) > 100  # collapsed lines stand for several
    assert all(len(i) >= 6 for i in ids) and len(set(ids)) == len(ids)
    closed = run(*ws_args(teatalk), "done", *ids)
    assert closed.exit_code == 0, closed.stderr
    assert closed.stderr.strip() == f"done: {total} tasks"
    assert db(teatalk, "SELECT status, COUNT(*) FROM tasks GROUP BY status") == [("done", total)]
    after = table(teatalk)
    assert sum(" ✓ " in line or line.endswith(" ✓") or "✓ →" in line for line in after) == len(ids)


def collapsed_line(plan: dict[str, Any]) -> list[dict[str, Any]]:
    lines: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for t in plan["tasks"]:
        if t["action"] == "group_post":
            lines[(t["owner"], t["rule"], t["due_at"], t["message"])].append(t)
    return max(lines.values(), key=len)


@given(st.lists(st.tuples(st.sampled_from(["group_post", "private_message"]), st.sampled_from("ab"),
                          st.sampled_from("ab"), st.sampled_from("ab"), st.sampled_from("ab")), max_size=30))
def test_lines_group_posts_as_the_saved_lines_do(specs: list[tuple[str, str, str, str, str]]) -> None:
    """Every group post of one rule, time, owner and message is on one line, whatever comes between
    them (what `done` reads back from the saved tasks, store.tasks.line_tasks); every other task is a
    line of its own; lines come in the order of their first task."""
    tasks = [
        Task(id=f"t{i}", date=D, due_at=due, stage="pull_in", rule=rule, rule_title={}, trigger="joined_group",
             action=action, content_type="culture", member_id=None, group_id=None, owner=owner, target="",
             message=message, reason="", priority=1, event_date=D)
        for i, (action, rule, due, owner, message) in enumerate(specs)
    ]
    made = lines(tasks)
    assert sorted(t.id for line in made for t in line.tasks) == sorted(t.id for t in tasks)
    place = {t.id: i for i, t in enumerate(tasks)}
    firsts = [place[line.first.id] for line in made]
    assert firsts == sorted(firsts)
    assert all(place[line.first.id] == min(place[t.id] for t in line.tasks) for line in made)
    saved: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for t in tasks:
        if t.action == "group_post":
            saved[(t.rule, t.due_at, t.owner, t.message)].append(t.id)
    expected = sorted(sorted(ids) for ids in saved.values()) + [[t.id] for t in tasks if t.action != "group_post"]
    assert sorted(sorted(t.id for t in line.tasks) for line in made) == sorted(expected)


def test_a_collapsed_line_names_its_groups_and_its_id_closes_them_all(teatalk: Path) -> None:
    assert run(*ws_args(teatalk), "plan", "--date", D, "--save").exit_code == 0
    tasks = collapsed_line(plan_json(teatalk))
    assert len(tasks) >= 3
    first = tasks[0]
    lid = line_id(t["id"] for t in tasks)
    md = run(*ws_args(teatalk), "plan", "--date", D, "--format", "md").stdout
    (item,) = [line for line in md.splitlines() if f"`{lid}`" in line]
    assert item.startswith("- [ ] ") and all(t["target"] in item for t in tasks)
    lines = table(teatalk)
    (at,) = [n for n, line in enumerate(lines) if LINE.match(line) and lid[:6] in line]
    shown = lines[at] + lines[at + 1].strip()  # the head of a collapsed line may take two lines
    assert f"+{len(tasks) - 2} ({len(tasks)}个群)" in shown and tasks[0]["target"] in shown
    # one of its tasks closed: the line is not done
    assert run(*ws_args(teatalk), "done", first["id"]).exit_code == 0
    md = run(*ws_args(teatalk), "plan", "--date", D, "--format", "md").stdout
    assert "- [ ] " in next(line for line in md.splitlines() if f"`{lid}`" in line)
    # the line's id (a prefix of it) closes the rest
    res = run(*ws_args(teatalk), "done", lid[:7])
    assert res.exit_code == 0, res.stderr
    ids = [t["id"] for t in tasks]
    marks = ",".join("?" * len(ids))
    assert db(teatalk, f"SELECT DISTINCT status FROM tasks WHERE task_id IN ({marks})", *ids) == [("done",)]
    md = run(*ws_args(teatalk), "plan", "--date", D, "--format", "md").stdout
    assert next(line for line in md.splitlines() if f"`{lid}`" in line).startswith("- [x] ")


def test_an_ambiguous_prefix_lists_the_matches_and_changes_nothing(teatalk: Path) -> None:
    assert run(*ws_args(teatalk), "plan", "--date", D, "--save").exit_code == 0
    with sqlite3.connect(teatalk / "privdom.db") as conn:
        for new in ("abcdef000001", "abcdef000002"):
            conn.execute(
                "INSERT INTO tasks (task_id, date, rule, stage, trigger, action, due_at, created_at) "
                "SELECT ?, date, rule, stage, trigger, action, due_at, created_at FROM tasks LIMIT 1",
                (new,),
            )
    res = run(*ws_args(teatalk), "done", "abcdef")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "error: id abcdef is ambiguous: it starts abcdef000001, abcdef000002",
        "hint: give more characters of the id; nothing was changed",
    ]
    assert db(teatalk, "SELECT COUNT(*) FROM tasks WHERE status <> 'open'") == [(0,)]
    assert run(*ws_args(teatalk), "done", "abcdef0000").exit_code == 1
    assert run(*ws_args(teatalk), "done", "ABCDEF000002", "--skip").exit_code == 0
    assert db(teatalk, "SELECT task_id FROM tasks WHERE status = 'skipped'") == [("abcdef000002",)]


def split_words(lines: list[str], words: set[str]) -> list[str]:
    """Pairs of lines where a word of the plan's texts was cut in two at the line end."""
    cut = []
    for above, below in zip(lines, lines[1:], strict=False):
        tail = re.search(r"[A-Za-z0-9:./-]+$", above)
        head = re.match(r"[A-Za-z0-9:./-]+", below.lstrip(" ↳"))
        if tail and head and any(w.startswith(tail[0] + head[0]) for w in words if len(w) > len(tail[0])):
            cut.append(f"{above!r} / {below!r}")
    return cut


@pytest.mark.parametrize("full", [False, True], ids=["default", "full"])
def test_the_demo_plan_at_100_columns_splits_no_word_and_starts_no_line_with_punctuation(
    teatalk: Path, full: bool
) -> None:
    lines = table(teatalk, *(["--full"] if full else []))
    tasks = len(plan_json(teatalk)["tasks"])
    assert len(lines) < 3.2 * tasks  # a head, a message line or two and a reason: not a dozen lines
    assert max(cell_len(line) for line in lines) <= 100
    starts = [line for line in lines if line.lstrip(" ↳")[:1] in CHINESE_PUNCTUATION and line.strip()]
    assert starts == []
    plan = plan_json(teatalk)
    texts = [t[k] for t in plan["tasks"] for k in ("message", "reason", "target")]
    words = {w for text in texts for w in WORD.findall(text)}
    # words, dates and times are all there to be split
    assert any(re.fullmatch(r"[A-Za-z]{3,}", w) for w in words) and "09:30" in words
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", w) for w in words)
    assert split_words(lines, words) == []
    printed = "\n".join(lines)
    for word in words:
        assert word in printed or not full, word  # in full, every word is printed whole somewhere


def test_piped_output_is_100_wide_without_columns(teatalk: Path) -> None:
    lines = table(teatalk, columns=None)
    rules = [line for line in lines if line.startswith("── ")]
    assert rules and {cell_len(line) for line in rules} == {100}
    assert max(cell_len(line) for line in lines) <= 100
    wide = table(teatalk, columns="160")
    assert {cell_len(line) for line in wide if line.startswith("── ")} == {160}


def test_the_header_comes_first_with_counts_per_owner_and_stage(teatalk: Path) -> None:
    plan = plan_json(teatalk)
    lines = table(teatalk)
    assert lines[0] == f"{D} 运营计划 plan · {len(plan['tasks'])} 项任务 tasks · 延后 deferred 0 · 受阻 blocked 0"
    owners = plan["summary"]["by_owner"]
    for owner, count in owners.items():
        assert any(line.startswith(f"  {owner} {count}: ") for line in lines[1 : len(owners) + 1])
    sections = [line.split(" · ")[0][3:] for line in lines if line.startswith("── ")]
    assert sections == sorted(owners)
    marked = [line for line in lines if line.startswith("★ ") and LINE.match(line)]
    high = [t for t in plan["tasks"] if t["priority"] >= 80]
    assert marked and len(marked) <= len(high)


def long_plan(message: str) -> Plan:
    task = Task(
        id="0123456789ab", date=D, due_at=f"{D}T10:00:00+08:00", stage="retention", rule="r",
        rule_title={"zh": "长消息", "en": "Long message"}, trigger="daily", action="private_message",
        content_type="value", member_id="m1", group_id=None, owner="小茶", target="王小雨", message=message,
        reason="每天 10:00", priority=50, event_date=D,
    )  # fmt: skip
    return Plan(date=D, timezone="Asia/Shanghai", tasks=[task], deferred=[], summary={})


def test_long_messages_are_cut_with_an_ellipsis_unless_full() -> None:
    message = "新品上市 New arrivals 2026-12-01 起：" + "限量特价茶饮，到店或小程序下单即享！" * 12
    short = [text for text, _ in plan_lines(long_plan(message), 60)]
    body = [line for line in short if line.startswith("        ") and not line.lstrip().startswith("↳")]
    assert len(body) == MESSAGE_LINES and body[-1].endswith("…")
    full = [text for text, _ in plan_lines(long_plan(message), 60, full=True)]
    body = [line.strip() for line in full if line.startswith("        ") and not line.lstrip().startswith("↳")]
    assert "".join(body).replace(" ", "") == message.replace(" ", "")


TEXT = st.text(
    alphabet=st.sampled_from(list("茶语福利群新品上市") + list("abcXYZ019-:.") + [" ", " "] + list("，。！（）…")),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(text=TEXT, width=st.integers(min_value=12, max_value=60))
def test_wrap_keeps_words_whole_and_punctuation_off_line_starts(text: str, width: int) -> None:
    lines = wrap(text, width, first="> ", rest="  ")
    # A run glued to marks into one piece wider than a line is cut like any over-long piece.
    fits = [u for u in _units(text) if cell_len(u) <= width - 2]
    runs = [r for u in fits for r in re.findall(r"[!-~]+", u)]
    for line in lines:
        assert cell_len(line) <= width or len(line.split()) <= 2  # only a unit wider than a line overflows
    for line in lines[1:]:
        body = line[2:]
        assert not body or body[0] not in NO_LINE_START or body[0] not in "，。！）…"
    for r in runs:  # every ASCII run (word, number, date) on one line
        assert any(r in line for line in lines), (r, lines)
    assert "".join(line[2:] for line in lines).replace(" ", "") == text.replace(" ", "")


def test_stage_labels_give_the_same_plan_and_version_prints(teatalk: Path) -> None:
    by_id = plan_json(teatalk, "--stage", "pull_in")
    assert by_id["tasks"] and by_id == plan_json(teatalk, "--stage", "引流") == plan_json(teatalk, "--stage", "Pull in")
    assert plan_json(teatalk, "--action", "私聊") == plan_json(teatalk, "--action", "private_message")
    version = run("--version")
    assert version.exit_code == 0 and version.stdout.strip() == f"privdom {__version__}"


def test_member_options_take_chinese_and_english_labels(teatalk: Path) -> None:
    def ids(*option: str) -> list[str]:
        res = run(*ws_args(teatalk), "members", "--date", D, "--format", "json", *option)
        assert res.exit_code == 0, res.stderr
        return [m["member_id"] for m in json.loads(res.stdout)]

    assert ids("--segment", "衰退期") == ids("--segment", "decline") == ids("--segment", "Decline")
    assert ids("--tier", "金卡会员") == ids("--tier", "gold")
    assert ids("--rfm-class", "重要价值") == ids("--rfm-class", "important_value") != []

    def tiers(what_if: str) -> Any:
        res = run(*ws_args(teatalk), "tiers", "--date", D, "--what-if", what_if, "--format", "json")
        assert res.exit_code == 0, res.stderr
        return json.loads(res.stdout)

    assert tiers("银卡会员=2500") == tiers("silver=2500") == tiers("Silver=2500")


def test_member_lists_the_saved_task_of_the_day_and_the_planned_ones(teatalk: Path) -> None:
    plan = plan_json(teatalk, "--save")
    welcome = next(t for t in plan["tasks"] if t["rule"] == "newcomer-welcome")
    res = run(*ws_args(teatalk), "member", welcome["member_id"], "--date", D, "--format", "json")
    assert res.exit_code == 0, res.stderr
    upcoming = json.loads(res.stdout)["upcoming_tasks"]
    saved = [t for t in upcoming if t["state"] == "saved"]
    assert welcome["id"] in {t["task_id"] for t in saved} and all(t["date"] >= D for t in saved)
    planned = [t for t in upcoming if t["state"] == "planned"]
    assert planned and all(D < t["date"] <= "2026-11-29" for t in planned)  # today's are all saved
    assert not {t["task_id"] for t in planned} & {t["task_id"] for t in saved}
    table_out = run(*ws_args(teatalk), "member", welcome["member_id"], "--date", D).stdout
    assert "[已保存]" in table_out and "[将触发]" in table_out


def test_tasks_show_target_names_and_skipped_tasks(teatalk: Path) -> None:
    plan = plan_json(teatalk, "--save")
    member_task = next(t for t in plan["tasks"] if t["member_id"])
    assert run(*ws_args(teatalk), "done", member_task["id"], "--skip").exit_code == 0
    md = run(*ws_args(teatalk), "tasks", "--date", D, "--format", "md").stdout.splitlines()
    (line,) = [line for line in md if member_task["id"] in line]
    assert line.startswith("- [-] ") and member_task["target"] in line
    assert sum(line.startswith("- [ ] ") for line in md) == len(plan["tasks"]) - 1
    listed = json.loads(run(*ws_args(teatalk), "tasks", "--date", D, "--format", "json").stdout)
    assert {t["target"] for t in listed} == {t["target"] for t in plan["tasks"]}
    shown = run(*ws_args(teatalk), "tasks", "--date", D).stdout
    assert member_task["target"] in shown and "已跳过" in shown


def test_lang_picks_the_labels_of_tables_and_help(teatalk: Path) -> None:
    english = table(teatalk, "--owner", "小茶")
    assert "运营计划 plan" in english[0]
    en = run("--lang", "en", *ws_args(teatalk), "plan", "--date", D, env={"COLUMNS": "100"}).stdout
    assert en.startswith(f"{D} plan · ") and "运营计划" not in en and "Retention" in en.splitlines()[1]
    zh = run(*ws_args(teatalk), "plan", "--date", D, env={"PRIVDOM_LANG": "zh", "COLUMNS": "100"}).stdout
    assert zh.startswith(f"{D} 运营计划 · ") and " tasks" not in zh.splitlines()[0]
    tiers = run("--lang", "en", *ws_args(teatalk), "tiers", "--date", D).stdout
    assert "members" in tiers and "会员数" not in tiers
    both = run(*ws_args(teatalk), "tiers", "--date", D).stdout
    assert "会员数" in both and "members" in both
    gold = ["members", "--date", D, "--tier", "gold", "--limit", "2"]
    assert "金卡会员" in run(*ws_args(teatalk), *gold).stdout
    assert "Gold" in run("--lang", "en", *ws_args(teatalk), *gold).stdout
    help_zh = run("--lang", "zh", "plan", "--help").stdout
    assert "当天的任务" in help_zh and "只看此阶段" in help_zh
    help_en = run("--lang", "en", "plan", "--help").stdout
    assert "当天的任务" not in help_en and "The day's tasks" in help_en
    root = run("--help", env={"PRIVDOM_LANG": "zh"}).stdout
    assert "私域运营" in root and "当天的任务" in root
    assert "工作区数据库" in run("--lang", "zh", "--help").stdout
    assert "工作区数据库" not in run("--lang", "en", "--help").stdout
    imports = run("import", "--help").stdout
    assert "会员" in imports and "成员" not in imports.replace("群成员", "")


def test_an_unknown_owner_is_warned_about(teatalk: Path) -> None:
    res = run(*ws_args(teatalk), "plan", "--date", D, "--owner", "小王", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["tasks"] == []
    (warning,) = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: no owner '小王'; known owners: ") and "小茶" in warning
    known = run(*ws_args(teatalk), "plan", "--date", D, "--owner", "小茶", "--format", "json")
    assert "warning" not in known.stderr


def test_a_members_forecast_equals_the_one_from_every_members_metrics(
    teatalk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The days ahead compute the member's own row only, ranked against the day's snapshot; the
    rules must fire for them exactly as with every member's metrics built for each day."""
    from datetime import date, timedelta

    import privdom
    from privdom.store import metrics_cache

    ws = privdom.Workspace(teatalk)
    day = date.fromisoformat(D)
    # Rules whose day turns on the metrics of that day: segments entered, days without an order,
    # KOC standing, the n-th day after an order.
    rules = {"winback-high-frequency", "winback-decline", "winback-gold-call", "inactive-30-reminder",
             "koc-nurture", "repurchase-day7"}
    chosen: dict[str, str] = {}  # rule -> a member it plans for in the days ahead
    for n in (4, 5):
        for task in ws.plan(day + timedelta(days=n)).tasks:
            if task.rule in rules and task.rule not in chosen and task.member_id not in chosen.values():
                chosen[task.rule] = str(task.member_id)
    assert set(chosen) == rules, chosen
    fast = {m: ws.member(m, day).upcoming_tasks for m in chosen.values()}
    monkeypatch.setattr(metrics_cache, "materialize_member", lambda *args: False)  # every member, each day
    for member, upcoming in fast.items():
        assert upcoming == ws.member(member, day).upcoming_tasks, member
    assert any(t.state == "planned" for tasks in fast.values() for t in tasks)
