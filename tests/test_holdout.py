"""Holdouts: a rule's control group over the month of the example brand, and on a one-member day."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from month_brand import FIRST, HOLDOUT_RULE, LAST, Workspace
from privdom.planner.holdout import holdout_fraction


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
