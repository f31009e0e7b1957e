"""`privdom review`, holdouts, `privdom simulate` and `privdom sop diff` over a month of the example brand.

One workspace is built per module: the example brand with its orders up to the last planned day,
30 mornings planned with `--save`, a seeded share of each morning's tasks done and skipped, then the
brand's later orders imported. The review's figures are checked against a plain Python reference
computed from the tasks, deferrals and orders tables.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import random
import re
import shutil
import sqlite3
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from privdom.cli.main import app
from privdom.planner import build_plan, save_plan
from privdom.planner.history import close
from privdom.planner.holdout import holdout_fraction
from privdom.playbook import load_playbook
from privdom.proportions import newcombe
from privdom.render.review import CSV_COLUMNS
from privdom.store import connect
from privdom.workspace import EXAMPLE_FILES, examples_dir

FIRST, LAST = date(2026, 10, 16), date(2026, 11, 14)
HOLDOUT_RULE = "inactive-30-reminder"
PAID = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


class Workspace:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "privdom.db"
        self.sops = folder / "sops"
        self.runner = CliRunner()

    def run(self, *args: str, sops: Path | None = None, code: int = 0) -> Any:
        result = self.runner.invoke(app, ["--db", str(self.db), "--sops", str(sops or self.sops), *args])
        assert result.exit_code == code, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result

    def json(self, *args: str, sops: Path | None = None) -> Any:
        return json.loads(self.run(*args, "--format", "json", sops=sops).stdout)

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.db)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def edit_playbook(sops: Path) -> None:
    """The month's playbook: the default one with a holdout on a busy member rule."""
    conversion = sops / "retention.yaml"
    text = conversion.read_text(encoding="utf-8")
    marker = f"    - id: {HOLDOUT_RULE}\n"
    assert marker in text
    conversion.write_text(text.replace(marker, marker + "      holdout: 0.2\n", 1), encoding="utf-8")


def split_orders(folder: Path, last: date) -> tuple[Path, Path]:
    """The brand's orders paid up to `last`, and the later ones (the export that arrives afterwards)."""
    with (examples_dir() / "orders.csv").open(encoding="utf-8-sig", newline="") as f:
        header, *records = list(csv.reader(f))
    early, later = [], []
    for record in records:
        match = PAID.match(record[3])
        assert match, record
        paid = date(int(match[1]), int(match[2]), int(match[3]))
        (early if paid <= last else later).append(record)
    paths = folder / "orders_early.csv", folder / "orders_later.csv"
    for path, part in zip(paths, (early, later), strict=True):
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([header, *part])
    assert early and later
    return paths


def build_base(folder: Path) -> Workspace:
    ws = Workspace(folder)
    ws.run("init", str(folder))
    edit_playbook(ws.sops)
    early, _ = split_orders(folder, LAST)
    for kind, name in EXAMPLE_FILES:
        ws.run("import", kind, str(early if kind == "orders" else examples_dir() / name))
    return ws


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The month's mornings go through the services `plan --save` and `done` call (the commands
    themselves are tested elsewhere): reading the playbook once, not sixty times, saves seconds."""
    folder = tmp_path_factory.mktemp("month")
    ws = build_base(folder)
    shutil.copyfile(ws.db, folder / "base.db")  # before any plan: the second run starts here
    playbook = load_playbook(ws.sops)
    zone = ZoneInfo(playbook.timezone)
    rng = random.Random(20)
    conn = connect(ws.db)
    try:
        day = FIRST
        while day <= LAST:
            plan = build_plan(conn, playbook, day)
            save_plan(conn, plan, saved_at=datetime.combine(day, time(8), zone))
            assert plan.tasks, day
            done, skipped = [], []
            for t in plan.tasks:
                draw = rng.random()
                (done if draw < 0.6 else skipped if draw < 0.8 else []).append(t.id)
            evening = datetime.combine(day, time(21), zone)
            close(conn, done, skip=False, note=None, closed_at=evening)
            close(conn, skipped, skip=True, note=None, closed_at=evening)
            day += timedelta(days=1)
    finally:
        conn.close()
    _, later = split_orders(folder, LAST)
    ws.run("import", "orders", str(later))
    return ws


@pytest.fixture(scope="module")
def reviewed(month: Workspace) -> dict[str, Any]:
    data = month.json("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat())
    assert isinstance(data, dict)
    return data


# --- the reference -------------------------------------------------------------------------------


def reference(ws: Workspace, first: date, last: date, window: int = 7, min_count: int = 30) -> dict[str, Any]:
    """Every figure of `review --format json`, from the tables, one loop at a time."""
    d1, d2 = first.isoformat(), last.isoformat()
    tasks = [dict(r) for r in ws.rows("SELECT * FROM tasks WHERE date BETWEEN ? AND ?", d1, d2)]
    saved = {r["task_id"] for r in ws.rows("SELECT task_id FROM tasks")}
    waits = [
        dict(r)
        for r in ws.rows("SELECT * FROM deferrals WHERE date BETWEEN ? AND ?", d1, d2)
        if r["task_id"] not in saved
    ]
    orders: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for r in ws.rows("SELECT rowid, member_id, paid_at, amount_fen FROM orders WHERE counted = 1"):
        orders[r["member_id"]].append((r["paid_at"], r["rowid"], r["amount_fen"]))
    through = max(paid[:10] for member in orders.values() for paid, _, _ in member)
    out: dict[str, Any] = {}
    for rule in sorted({t["rule"] for t in tasks} | {w["rule"] for w in waits}):
        mine = [t for t in tasks if t["rule"] == rule]
        entry: dict[str, Any] = {
            "issued": sum(t["status"] in ("open", "done", "skipped") for t in mine),
            "done": sum(t["status"] == "done" for t in mine),
            "skipped": sum(t["status"] == "skipped" for t in mine),
            "open": sum(t["status"] == "open" for t in mine),
            "held_out": sum(t["status"] == "holdout" for t in mine),
        }
        owners: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for t in mine:
            owners[t["owner"]][t["status"]] += 1
        issued = {o: s["done"] + s["skipped"] + s["open"] for o, s in owners.items()}
        entry["by_owner"] = {o: (s["done"], issued[o]) for o, s in owners.items() if issued[o]}
        units: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for t in mine:
            if t["member_id"] is not None:
                units[t["status"]].append((t["member_id"], t["due_at"][:19].replace("T", " "), t["date"]))
        for w in waits:
            if w["rule"] == rule and w["member_id"] is not None and w["cause"] in ("member_cap", "owner_capacity"):
                units["deferred"].append((w["member_id"], w["due_at"][:19].replace("T", " "), w["date"]))
        arms: dict[str, tuple[set[str], dict[tuple[str, int], int]]] = {}
        for arm in ("done", "holdout", "skipped", "deferred"):
            members: set[str] = set()
            bought: dict[tuple[str, int], int] = {}
            for member, start, day in units[arm]:
                end = (date.fromisoformat(day) + timedelta(days=window)).isoformat()
                if end > through:
                    continue
                members.add(member)
                for paid, row, amount in orders[member]:
                    if paid >= start and paid[:10] <= end:
                        bought[(member, row)] = amount
            arms[arm] = (members, bought)
        entry["arms"] = {arm: _figures(*arms[arm], min_count) for arm in arms}
        if arms["holdout"][0]:
            pool = ["holdout"]
        elif arms["skipped"][0] or arms["deferred"][0]:
            pool = ["skipped", "deferred"]
        else:
            pool = []
        if pool:
            members = set().union(*(arms[a][0] for a in pool))
            bought = {k: v for a in pool for k, v in arms[a][1].items()}
            entry["arms"]["comparison"] = _figures(members, bought, min_count)
        entry["comparison"] = {"holdout": "randomized", "skipped": "observational"}.get(pool[0]) if pool else None
        out[rule] = entry
    return out


def _figures(members: set[str], bought: dict[tuple[str, int], int], min_count: int) -> dict[str, Any]:
    buyers = len({m for m, _ in bought})
    return {
        "members": len(members),
        "buyers": buyers,
        "rate": buyers / len(members) if len(members) >= min_count else None,
        "spend_fen": sum(bought.values()),
    }


# --- review --------------------------------------------------------------------------------------


def test_review_figures_match_a_reference_from_the_tables(month: Workspace, reviewed: dict[str, Any]) -> None:
    expected = reference(month, FIRST, LAST)
    rules = {r["rule"]: r for r in reviewed["rules"]}
    assert set(rules) == set(expected)  # every rule that fired, and only those
    member_rules = 0
    for rule, want in expected.items():
        got = rules[rule]
        for key in ("issued", "done", "skipped", "open", "held_out"):
            assert got[key] == want[key], (rule, key)
        assert {o["owner"]: (o["done"], o["issued"]) for o in got["by_owner"]} == want["by_owner"], rule
        for o in got["by_owner"]:
            assert o["rate"] == (o["done"] / o["issued"] if o["issued"] >= 30 else None)
        if got["action"] in ("group_post", "moment_post"):
            continue
        member_rules += 1
        assert got["comparison"] == want["comparison"], rule
        for arm, figures in want["arms"].items():
            outcome = got["outcomes"][arm]
            assert {k: outcome[k] for k in figures} == figures, (rule, arm)
            assert outcome["shown"] == ("n<30" if figures["rate"] is None else f"{figures['rate'] * 100:.1f}%")
        done, comparison = want["arms"]["done"], want["arms"].get("comparison")
        if comparison and done["rate"] is not None and comparison["rate"] is not None:
            value, low, high = newcombe(done["buyers"], done["members"], comparison["buyers"], comparison["members"])
            assert got["lift"]["value"] == pytest.approx(done["rate"] - comparison["rate"])
            assert (got["lift"]["low"], got["lift"]["high"]) == pytest.approx((low, high))
            assert low <= got["lift"]["value"] <= high
        elif comparison:
            assert got["lift"] == {"value": None, "low": None, "high": None, "shown": "n<30"}
    assert member_rules >= 8
    # the month really has each kind of figure
    assert any(r["lift"] and r["lift"]["value"] is not None for r in reviewed["rules"])
    assert any(r["outcomes"].get("done", {}).get("shown") == "n<30" for r in reviewed["rules"])
    assert any(r["outcomes"].get("deferred", {}).get("members") for r in reviewed["rules"])


def test_group_posts_are_reviewed_by_group_activity(month: Workspace, reviewed: dict[str, Any]) -> None:
    rule = next(r for r in reviewed["rules"] if r["rule"] == "welfare-morning")
    window = 7
    first_activity, last_activity = month.rows("SELECT MIN(date), MAX(date) FROM activity")[0]
    tasks = month.rows(
        "SELECT group_id, date, status FROM tasks WHERE rule = ? AND date BETWEEN ? AND ?",
        "welfare-morning", FIRST.isoformat(), LAST.isoformat(),
    )
    groups = {r["group_id"]: r["type"] for r in month.rows("SELECT group_id, type FROM groups")}
    kinds = {groups[t["group_id"]] for t in tasks}
    posted = {(t["group_id"], t["date"]) for t in tasks if t["status"] == "done"}
    messages: dict[tuple[str, str], int] = defaultdict(int)
    for a in month.rows("SELECT group_id, date, messages FROM activity"):
        messages[(a["group_id"], a["date"])] += a["messages"]
    sums = {True: [0, 0, 0], False: [0, 0, 0]}
    for day in sorted({t["date"] for t in tasks}):
        d = date.fromisoformat(day)
        if (d - timedelta(days=window)).isoformat() < first_activity or (
            d + timedelta(days=window)
        ).isoformat() > last_activity:
            continue
        for group, kind in groups.items():
            if kind not in kinds:
                continue
            before = sum(messages[(group, (d - timedelta(days=i)).isoformat())] for i in range(1, window + 1))
            after = sum(messages[(group, (d + timedelta(days=i)).isoformat())] for i in range(1, window + 1))
            row = sums[(group, day) in posted]
            row[0] += 1
            row[1] += before
            row[2] += after
    for key, flag in (("posted", True), ("not_posted", False)):
        got = rule["groups"][key]
        n, before, after = sums[flag]
        assert (got["group_days"], got["messages_before"], got["messages_after"]) == (n, before, after)
        assert got["change"] == pytest.approx(after / before - 1)
    assert rule["groups"]["posted"]["group_days"] > 0 and rule["groups"]["not_posted"]["group_days"] > 0
    assert rule["outcomes"] == {} and rule["lift"] is None


def test_review_labels_observational_and_randomized_comparisons(reviewed: dict[str, Any]) -> None:
    rules = {r["rule"]: r for r in reviewed["rules"]}
    held = rules[HOLDOUT_RULE]
    assert held["comparison"] == "randomized" and held["comparison_note"].startswith("randomized")
    observed = [r for r in reviewed["rules"] if r["comparison"] == "observational"]
    assert observed
    for r in observed:
        assert r["held_out"] == 0
        assert "not a random sample" in r["comparison_note"]
    assert any("not random samples" in note for note in reviewed["notes"])


def test_review_table_ranks_by_lift_and_flags_rules_that_never_fired(
    month: Workspace, reviewed: dict[str, Any]
) -> None:
    lifts = [r["lift"]["value"] for r in reviewed["rules"] if r["lift"] and r["lift"]["value"] is not None]
    assert lifts == sorted(lifts, reverse=True) and len(lifts) >= 2
    ranked = [r["rule"] for r in reviewed["rules"]]
    with_lift = [r["rule"] for r in reviewed["rules"] if r["lift"] and r["lift"]["value"] is not None]
    assert ranked[: len(lifts)] == with_lift
    playbook_rules = {r["id"] for r in month.json("sop", "list")}
    assert set(reviewed["never_fired"]) == playbook_rules - set(ranked)
    assert "festival-mid-autumn-warmup" in reviewed["never_fired"]
    table = month.run("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat()).stdout
    first_row = next(line for line in table.splitlines() if line.startswith("│"))
    assert reviewed["rules"][0]["title"]["zh"][:4] in first_row  # the highest lift comes first
    assert table.count("⚠") == len(reviewed["never_fired"]) and "未触发" in table
    assert "n<30" in table and "随机对照" in table and "观察对比" in table


def test_review_csv_and_html(month: Workspace, reviewed: dict[str, Any]) -> None:
    period = ("--from", FIRST.isoformat(), "--to", LAST.isoformat())
    rows = list(csv.DictReader(io.StringIO(month.run("review", *period, "--format", "csv").stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["rule"] for r in rows] == [r["rule"] for r in reviewed["rules"]] + reviewed["never_fired"]
    by_rule = {r["rule"]: r for r in rows}
    held = next(r for r in reviewed["rules"] if r["rule"] == HOLDOUT_RULE)
    assert int(by_rule[HOLDOUT_RULE]["held_out"]) == held["held_out"]
    assert by_rule[HOLDOUT_RULE]["comparison"] == "randomized"
    docs = (Path(__file__).parent.parent / "docs" / "output.md").read_text(encoding="utf-8")
    assert ",".join(CSV_COLUMNS) in docs
    page = month.run("review", *period, "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "http" not in page
    assert page.count("<svg") == 3  # a chart per stage
    assert page.count('class="never"') == len(reviewed["never_fired"])


def test_review_filters_and_errors(month: Workspace, reviewed: dict[str, Any]) -> None:
    one = month.json("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--rule", HOLDOUT_RULE)
    assert [r["rule"] for r in one["rules"]] == [HOLDOUT_RULE] and one["never_fired"] == []
    owner = month.json("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--owner", "小茶")
    assert all(o["owner"] == "小茶" for r in owner["rules"] for o in r["by_owner"])
    whole = {r["rule"]: r for r in reviewed["rules"]}
    for r in owner["rules"]:
        assert r["issued"] == next((o["issued"] for o in whole[r["rule"]]["by_owner"] if o["owner"] == "小茶"), 0)
    bad = month.run("review", "--from", "2026-11-14", "--to", "2026-10-16", code=1)
    assert bad.stderr.splitlines() == [
        "error: --to 2026-10-16 is before --from 2026-11-14",
        "hint: give the period's first day to --from",
    ]
    assert month.run("review", "--from", "2026-11-14", "--to", "2026-11-14", "--window", "0", code=2)
    unknown = month.run("review", "--from", "2026-11-14", "--to", "2026-11-14", "--rule", "nope", code=1)
    assert unknown.stderr.startswith("error: --rule 'nope' is not a rule of the playbook")


# --- holdouts ------------------------------------------------------------------------------------


def test_holdout_share_is_stable_across_runs_and_kept_out_of_the_to_dos(month: Workspace) -> None:
    rows = month.rows(
        "SELECT member_id, date, status FROM tasks WHERE rule = ? AND date BETWEEN ? AND ?",
        HOLDOUT_RULE, FIRST.isoformat(), LAST.isoformat(),
    )
    waited = month.rows(
        "SELECT d.member_id FROM deferrals d WHERE rule = ? AND NOT EXISTS "
        "(SELECT 1 FROM tasks t WHERE t.task_id = d.task_id)", HOLDOUT_RULE,
    )
    held = {r["member_id"] for r in rows if r["status"] == "holdout"}
    targets = len(rows) + len(waited)
    assert targets >= 300
    assert 0.17 <= sum(r["status"] == "holdout" for r in rows) / targets <= 0.23
    # the keyed hash alone decides: every member below the share is held out, no one else
    assert held == {r["member_id"] for r in rows if holdout_fraction(HOLDOUT_RULE, r["member_id"]) < 0.2}
    # a second run from the same data holds out the same members
    again = Workspace(month.folder / "again")
    again.folder.mkdir()
    shutil.copyfile(month.folder / "base.db", again.db)
    shutil.copytree(month.sops, again.sops)
    days = sorted({r["date"] for r in rows if r["status"] == "holdout"})[:3]
    for day in days:
        plan = again.json("plan", "--date", day, "--save")
        assert all(t["holdout"] is False for t in plan["tasks"])
        assert all(t["holdout"] is True for t in plan["held_out"])
        first_run = {r["member_id"] for r in rows if r["date"] == day and r["status"] == "holdout"}
        assert {t["member_id"] for t in plan["held_out"]} == first_run
        assert not first_run & {t["member_id"] for t in plan["tasks"] if t["rule"] == HOLDOUT_RULE}
        table = again.run("plan", "--date", day).stdout
        assert f"留出对照 held out: {len(plan['held_out'])}" in table
    listed = again.json("tasks", "--date", days[0])
    assert listed and all(t["status"] != "holdout" for t in listed)
    held_listed = again.json("tasks", "--date", days[0], "--status", "holdout")
    assert {t["member_id"] for t in held_listed} == {
        r["member_id"] for r in rows if r["date"] == days[0] and r["status"] == "holdout"
    }
    checklist = again.run("tasks", "--date", days[0], "--format", "md").stdout
    assert sum(line.startswith("- [") for line in checklist.splitlines()) == len(listed)
    task_id = held_listed[0]["task_id"]
    refused = again.run("done", task_id, code=1)
    assert refused.stderr.splitlines()[0].startswith(f"error: task {task_id} is held out")


HOLDOUT_PLAYBOOK = """
brand: 茶语
tiers:
  levels:
    - {id: regular, zh: 普通会员, en: Regular, min: 0}
lifecycle:
  - {id: everyone, zh: 全部, en: Everyone}
limits:
  private_touches_per_7_days: 1
  owner_daily_capacity: 1
stages:
  retention:
    - id: held
      title: {zh: "留出 <b>x</b>", en: Held}
      when: {trigger: joined, at: "10:00"}
      action: private_message
      content_type: value
      priority: 90
      holdout: 0.5
      template: "你好"
    - id: sent
      title: {zh: 发出, en: Sent}
      when: {trigger: joined, at: "11:00"}
      action: private_message
      content_type: value
      priority: 10
      template: "你好"
"""


def test_holdout_tasks_take_no_cap_or_capacity(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.run("init", str(tmp_path))
    for old in ws.sops.glob("*.yaml"):
        old.unlink()
    (ws.sops / "playbook.yaml").write_text(HOLDOUT_PLAYBOOK, encoding="utf-8")
    member = next(f"m{i}" for i in range(100) if holdout_fraction("held", f"m{i}") < 0.5)
    conn = sqlite3.connect(ws.db)
    with conn:
        conn.execute(
            "INSERT INTO members (member_id, name, owner, joined_at) VALUES (?, '新人', '小茶', '2026-11-25 09:00:00')",
            (member,),
        )
    conn.close()
    plan = ws.json("plan", "--date", "2026-11-25", "--save")
    assert [(t["rule"], t["member_id"]) for t in plan["held_out"]] == [("held", member)]
    assert [(t["rule"], t["member_id"]) for t in plan["tasks"]] == [("sent", member)]  # cap 1, capacity 1
    assert plan["deferred"] == []
    statuses = {r["rule"]: r["status"] for r in ws.rows("SELECT rule, status FROM tasks")}
    assert statuses == {"held": "holdout", "sent": "open"}
    # a review of that day: the held-out arm is there, too small for a rate; titles are escaped in HTML
    review = ws.json("review", "--from", "2026-11-25", "--to", "2026-11-25")
    held = next(r for r in review["rules"] if r["rule"] == "held")
    assert (held["held_out"], held["issued"], held["comparison"]) == (1, 0, None)
    # no orders imported at all: the window cannot be read, so the member is not counted as "did not buy"
    assert held["windows_open"] == 1 and held["outcomes"]["holdout"]["members"] == 0
    page = ws.run("review", "--from", "2026-11-25", "--to", "2026-11-25", "--format", "html").stdout
    assert "留出 &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    empty = ws.json("review", "--from", "2026-01-01", "--to", "2026-01-31")
    assert empty["rules"] == [] and empty["never_fired"] == ["held", "sent"]


@pytest.mark.parametrize(
    ("rule", "value", "message"),
    [
        (HOLDOUT_RULE, "0.6", "expected a number <= 0.5, got 0.6"),
        (HOLDOUT_RULE, "-0.1", "expected a number >= 0.0, got -0.1"),
        ("welfare-morning", "0.1", "the rule targets groups, not members: holdout does not apply"),
    ],
)
def test_sop_validate_checks_the_holdout_range(tmp_path: Path, rule: str, value: str, message: str) -> None:
    ws = Workspace(tmp_path)
    ws.run("init", str(tmp_path))
    path = ws.sops / "retention.yaml"
    text = path.read_text(encoding="utf-8")
    marker = f"    - id: {rule}\n"
    path.write_text(text.replace(marker, marker + f"      holdout: {value}\n"), encoding="utf-8")
    line = text[: text.index(marker)].count("\n") + 2
    index = [m.start() for m in re.finditer(r"^    - id: ", text, re.M)].index(text.index(marker))
    result = ws.run("sop", "validate", code=1)
    assert result.stderr.splitlines()[0] == f"error: {path}:{line} stages.retention[{index}].holdout: {message}"


# --- simulate -----------------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, str]:
    """Every file of the folder by its hash, once the connections the commands left are closed."""
    gc.collect()
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_simulate_leaves_the_workspace_as_it_was_and_adds_up(month: Workspace) -> None:
    start, end = LAST + timedelta(days=1), LAST + timedelta(days=30)
    first_plan = month.json("plan", "--date", start.isoformat())  # what the first simulated morning must plan
    before = _files(month.folder)
    sim = month.json("simulate", "--from", start.isoformat(), "--to", end.isoformat(), "--done-rate", "0.8")
    assert _files(month.folder) == before
    assert sim["days"] == 30
    per_owner: dict[str, int] = defaultdict(int)
    for d in sim["load"]:
        per_owner[d["owner"]] += d["tasks"]
        assert d["member_tasks"] <= d["capacity"] and d["over_capacity"] is False
    assert dict(per_owner) == sim["by_owner"] and sum(per_owner.values()) == sim["tasks"]
    first_day = {d["owner"]: d["tasks"] for d in sim["load"] if d["date"] == start.isoformat()}
    assert first_day == first_plan["summary"]["by_owner"]
    assert 0.75 <= sim["done"] / sim["tasks"] <= 0.85
    assert sim["touches_7_days"]["limit"] == 2 and sim["touches_7_days"]["over_limit"] == 0
    assert max(int(k) for k in sim["touches_7_days"]["members"]) <= 2
    assert sim["touches_30_days"]["limit"] == 4
    assert sum(sim["touches_30_days"]["members"].values()) == sum(sim["touches_7_days"]["members"].values())
    assert "festival-mid-autumn-warmup" in sim["never_fired"] and "welfare-morning" not in sim["never_fired"]
    # --sops simulates another playbook: here one whose owners carry 8 member tasks a day
    tight = month.folder / "sops-capacity-8"
    shutil.copytree(month.sops, tight)
    settings = tight / "playbook.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("owner_daily_capacity: 150", "owner_daily_capacity: 8"),
        encoding="utf-8",
    )
    small = month.json("simulate", "--from", start.isoformat(), "--to", (start + timedelta(days=2)).isoformat(),
                       "--sops", str(tight))
    assert {d["capacity"] for d in small["load"]} == {8}
    assert max(d["member_tasks"] for d in small["load"]) == 8 and small["deferred_by_cause"]["owner_capacity"] > 0
    assert _files(month.folder) == {**before, **_files(month.folder)}  # only the copied playbook is new
    newcomers = sim["newcomers"]
    assert newcomers["rules"] == ["newcomer-welcome", "newcomer-value-content", "newcomer-first-order-coupon"]
    assert newcomers["entered"] == newcomers["completed"] + newcomers["incomplete"] > 0


# --- sop diff -----------------------------------------------------------------------------------


def test_sop_diff_of_a_removed_rule_shows_its_tasks_and_the_deferrals_it_frees(month: Workspace) -> None:
    day = "2026-11-20"  # a Friday: koc-nurture fires, and the 7-day cap defers touches
    tight, removed = month.folder / "sops-tight", month.folder / "sops-removed"
    shutil.copytree(month.sops, tight)
    settings = tight / "playbook.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("owner_daily_capacity: 150", "owner_daily_capacity: 20"), encoding="utf-8")
    shutil.copytree(tight, removed)
    retention = removed / "retention.yaml"
    text = retention.read_text(encoding="utf-8")
    start, end = text.index("    - id: koc-nurture\n"), text.index("    - id: inactive-30-reminder\n")
    retention.write_text(text[:start] + text[end:], encoding="utf-8")
    before_plan = month.json("plan", "--date", day, sops=tight)
    assert before_plan["deferred"], "the day needs deferrals for the test to mean something"
    before = _files(month.folder)
    diff = month.json("sop", "diff", str(tight), "--date", day, sops=removed)
    assert _files(month.folder) == before
    assert (diff["rules_removed"], diff["rules_added"], diff["rules_changed"]) == (["koc-nurture"], [], [])
    assert diff["settings_changed"] == []
    rules = {c["key"]: c for c in diff["tasks_by_rule"]}
    koc = [t for t in before_plan["tasks"] if t["rule"] == "koc-nurture"]
    assert rules["koc-nurture"]["before"] == len(koc) > 0 and rules["koc-nurture"]["after"] == 0
    waits = {c["key"]: c for c in diff["deferred_by_rule"]}
    for rule, c in rules.items():
        if rule == "koc-nurture":
            continue
        w = waits.get(rule, {"before": 0, "after": 0})
        assert c["after"] - c["before"] == w["before"] - w["after"] >= 0, rule  # only what was freed
    freed = sum(w["before"] - w["after"] for k, w in waits.items() if k != "koc-nurture")
    assert diff["tasks"]["after"] == diff["tasks"]["before"] - len(koc) + freed
    assert freed > 0
    assert {m["member_id"] for m in diff["touches_down"]} <= {t["member_id"] for t in koc}
    assert sum(c["before"] - c["after"] for c in diff["tasks_by_owner"]) == len(koc) - freed
    # two mornings: the second sees the first's saved tasks on each side's own copy
    two = month.json("sop", "diff", str(tight), "--from", day, "--days", "2", sops=removed)
    assert (two["first"], two["last"]) == (day, "2026-11-21")
    koc_two = next(c for c in two["tasks_by_rule"] if c["key"] == "koc-nurture")
    assert koc_two == {"key": "koc-nurture", "before": len(koc), "after": 0}  # a Friday rule: none on Saturday
    assert two["tasks"]["before"] > diff["tasks"]["before"]
    assert _files(month.folder) == before
    # against itself: nothing changes
    same = month.json("sop", "diff", str(tight), "--date", day, sops=tight)
    assert all(c["before"] == c["after"] for key in ("tasks_by_rule", "tasks_by_owner", "deferred_by_cause")
               for c in same[key])
    assert same["touches_up"] == same["touches_down"] == []


def test_sop_diff_reads_a_git_revision(tmp_path: Path, month: Workspace) -> None:
    import subprocess

    folder = tmp_path / "repo"
    shutil.copytree(month.sops, folder / "sops")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "-C", str(folder), "add", "sops"], check=True)
    subprocess.run([*git, "-C", str(folder), "commit", "-qm", "playbook"], check=True)
    retention = folder / "sops" / "retention.yaml"
    text = retention.read_text(encoding="utf-8")
    retention.write_text(text.replace("      holdout: 0.2\n", "      holdout: 0.1\n"), encoding="utf-8")
    diff = month.json("sop", "diff", "--rev", "HEAD", "--date", "2026-11-16", sops=folder / "sops")
    assert diff["rules_changed"] == [{"rule": HOLDOUT_RULE, "keys": ["holdout"]}]
    assert (folder / "sops" / "retention.yaml").read_text(encoding="utf-8") != text  # working tree untouched
    changed = retention.read_text(encoding="utf-8")
    retention.write_text(text.replace("      holdout: 0.2\n", "      holdout: 0.9\n"), encoding="utf-8")
    subprocess.run([*git, "-C", str(folder), "commit", "-qam", "too much"], check=True)
    retention.write_text(changed, encoding="utf-8")
    broken = month.run("sop", "diff", "--rev", "HEAD", "--date", "2026-11-16", sops=folder / "sops", code=1)
    assert broken.stderr.startswith(f"error: HEAD:{folder / 'sops'}/retention.yaml:")
    assert "holdout: expected a number <= 0.5, got 0.9" in broken.stderr.splitlines()[0]
    bad = month.run("sop", "diff", "--rev", "nope", "--date", "2026-11-16", sops=folder / "sops", code=1)
    assert bad.stderr.startswith("error: git ls-tree")
    both = month.run("sop", "diff", str(month.sops), "--rev", "HEAD", sops=folder / "sops", code=1)
    assert both.stderr.splitlines()[0] == "error: give either a playbook folder or --rev REV"


# --- the interval --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Table II, method 10
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_newcombe_interval_matches_the_published_values(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    _, low, high = newcombe(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_every_field_of_the_json_is_documented() -> None:
    from privdom.review import Outcome, Review, RuleReview
    from privdom.simulate import Simulation
    from privdom.sop_diff import SopDiff

    docs = (Path(__file__).parent.parent / "docs" / "output.md").read_text(encoding="utf-8")
    review = docs[docs.index("## `privdom review --format json`"):docs.index("## `privdom simulate --format json`")]
    simulate = docs[docs.index("## `privdom simulate --format json`"):docs.index("## `privdom sop diff --format json`")]
    diff = docs[docs.index("## `privdom sop diff --format json`"):]
    for model, text in ((Review, review), (RuleReview, review), (Simulation, simulate), (SopDiff, diff)):
        for name in model.model_fields:
            assert f'"{name}"' in text or f"`{name}`" in text, (model.__name__, name)
    assert "{members, buyers, rate, spend_fen, shown}" in review and set(Outcome.model_fields) == {
        "members", "buyers", "rate", "spend_fen", "shown"
    }
