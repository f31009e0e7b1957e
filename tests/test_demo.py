"""`privdom demo`: the example brand imported into a fresh workspace, and its morning plan."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from conftest import Result

TASK_FIELDS = {"id", "date", "due_at", "stage", "rule", "trigger", "action", "content_type", "owner", "message",
               "reason", "priority"}


def test_demo_prints_a_plan_and_keeps_the_workspace_in_dir(cli: Callable[..., Result], tmp_path: Path) -> None:
    res = cli("demo", "--dir", "brand", "--format", "json")
    assert res.exit_code == 0, res.stderr
    plan = res.json()
    assert plan["tasks"]
    for task in plan["tasks"]:
        assert TASK_FIELDS <= task.keys()
        assert task["date"] == "2026-11-23"
        assert task["due_at"].startswith("2026-11-23T") and task["due_at"].endswith("+08:00")
        if task["action"] == "invite_to_group" or task["trigger"] == "joined_group":
            assert task["member_id"] is not None and task["group_id"] is not None  # whom, and to which group
        else:
            assert (task["member_id"] is None) != (task["group_id"] is None)
    assert {t["stage"] for t in plan["tasks"]} == {"pull_in", "retention", "conversion"}
    with sqlite3.connect(tmp_path / "brand" / "privdom.db") as conn:
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] >= 2000
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 9139
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 5
    assert (tmp_path / "brand" / "sops" / "playbook.yaml").is_file()


def test_demo_twice_in_one_dir_is_refused_and_with_force_imports_nothing_new(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    first = cli("demo", "--dir", "brand", "--format", "json")
    before = (tmp_path / "brand" / "privdom.db").read_bytes()
    refused = cli("demo", "--dir", "brand", "--format", "json")
    assert (refused.exit_code, refused.stderr.splitlines()) == (1, [
        "error: --dir brand already holds a workspace; the demo would import the example brand into it",
        "hint: give a new or empty folder for the demo (or --force to use this one anyway)",
    ])
    assert (tmp_path / "brand" / "privdom.db").read_bytes() == before
    second = cli("demo", "--dir", "brand", "--format", "json", "--force")
    assert second.exit_code == 0, second.stderr
    assert second.stderr.count("already imported") == 5
    assert first.stdout == second.stdout


def test_demo_table_for_another_date_leaves_no_workspace_behind(cli: Callable[..., Result], tmp_path: Path) -> None:
    res = cli("demo", "--date", "2026-11-24")
    assert res.exit_code == 0, res.stderr
    assert "2026-11-24" in res.stdout
    assert not (tmp_path / "privdom.db").exists()


def test_demo_rejects_a_bad_date(cli: Callable[..., Result]) -> None:
    res = cli("demo", "--date", "24/11/2026")
    assert res.exit_code == 1
    assert res.stderr.startswith("error: --date '24/11/2026' is not a date")
