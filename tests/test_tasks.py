"""`privdom tasks` and `privdom done`: the history behind caps and catch-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import test_plan
from test_plan import Cli, D, db_rows, plan_json

scenario = test_plan.scenario  # the shared hand-made workspace


def saved_ids(cli: Cli) -> dict[str, str]:
    return {
        f"{t['rule']}:{t['member_id'] or t['group_id']}": t["id"]
        for t in plan_json(cli, "--date", D, "--save")["tasks"]
    }


def tasks_json(cli: Cli, *args: str) -> list[dict[str, Any]]:
    res = cli("tasks", "--date", D, "--format", "json", *args)
    assert res.exit_code == 0, res.stderr
    rows: list[dict[str, Any]] = res.json()
    return rows


def test_done_skip_and_listing(cli: Cli, scenario: Path) -> None:
    ids = saved_ids(cli)
    assert len(tasks_json(cli)) == 17 and {t["status"] for t in tasks_json(cli)} == {"open"}
    res = cli("done", ids["welcome:m-join"], ids["birthday:m-bday"], "--note", "已发")
    assert res.exit_code == 0, res.stderr
    assert res.stderr.strip() == "done: 2 tasks"
    res = cli("done", ids["miss-you:m-quiet"], "--skip")
    assert res.stderr.strip() == "skipped: 1 task"
    done = tasks_json(cli, "--status", "done")
    assert sorted(t["task_id"] for t in done) == sorted([ids["welcome:m-join"], ids["birthday:m-bday"]])
    assert {t["note"] for t in done} == {"已发"}
    assert [t["task_id"] for t in tasks_json(cli, "--status", "skipped")] == [ids["miss-you:m-quiet"]]
    assert len(tasks_json(cli, "--status", "open")) == 14
    assert {t["owner"] for t in tasks_json(cli, "--owner", "运营")} == {"运营"}
    # the plan shows what was done
    again = {t["id"]: t["status"] for t in plan_json(cli, "--date", D)["tasks"]}
    assert again[ids["welcome:m-join"]] == "done"


def test_unknown_id_changes_nothing(cli: Cli, scenario: Path) -> None:
    ids = saved_ids(cli)
    res = cli("done", ids["welcome:m-join"], "nope1", "nope2")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "error: no saved task with id nope1, nope2",
        "hint: ids come from `privdom plan --save` or `privdom tasks` (a prefix needs 6 or more characters);"
        " nothing was changed",
    ]
    assert db_rows(scenario, "SELECT COUNT(*) FROM tasks WHERE status <> 'open'") == [(0,)]


def test_tasks_formats(cli: Cli, scenario: Path) -> None:
    saved_ids(cli)
    csv_lines = cli("tasks", "--date", D, "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("task_id,date,due_at,status,owner") and len(csv_lines) == 18
    assert csv_lines[0].endswith(",closed_at,target")
    table = cli("tasks", "--date", D)
    assert table.exit_code == 0 and "新人" in table.stdout
    empty = cli("tasks", "--date", "2026-01-01", "--format", "json")
    assert empty.json() == []


def test_done_on_a_tasks_of_an_earlier_day_counts_toward_the_cap(cli: Cli, scenario: Path) -> None:
    ids = saved_ids(cli)
    cli("done", ids["birthday:m-bday"])
    # done and open touches both count toward the member's 7 days; skipped ones do not.
    rows = db_rows(scenario, "SELECT status FROM tasks WHERE member_id = 'm-bday'")
    assert rows == [("done",)]
