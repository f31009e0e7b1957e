"""privdom as a library: `privdom.Workspace` gives scripts what the commands print, as models."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

import privdom
from conftest import Result
from privdom.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 23)
Cli = Callable[..., Result]


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return Result(res.exit_code, res.stdout, res.stderr)


def test_public_names_are_in_all_and_typed() -> None:
    assert set(privdom.__all__) >= {"Workspace", "PrivdomError", "Plan", "Schedule", "Member", "ImportReport"}
    for name in privdom.__all__:
        assert hasattr(privdom, name), name
    assert (ROOT / "src" / "privdom" / "py.typed").is_file()


def test_plan_from_the_library_is_the_commands_json_byte_for_byte(teatalk: Path) -> None:
    plan = privdom.Workspace(teatalk).plan(DAY)
    printed = run("--db", str(teatalk / "privdom.db"), "--sops", str(teatalk / "sops"),
                  "plan", "--date", DAY.isoformat(), "--format", "json")  # fmt: skip
    assert printed.exit_code == 0, printed.stderr
    assert [t.id for t in plan.tasks] == [t["id"] for t in printed.json()["tasks"]]
    assert plan.tasks and plan.model_dump_json() + "\n" == printed.stdout


def test_workspace_takes_db_and_sops_and_reports_mistakes_as_privdom_errors(teatalk: Path, tmp_path: Path) -> None:
    ws = privdom.Workspace(db=teatalk / "privdom.db", sops=teatalk / "sops")
    assert ws.plan(DAY, stage="引流").model_dump_json() == ws.plan(DAY, stage="pull_in").model_dump_json()
    with pytest.raises(privdom.PrivdomError) as caught:
        ws.plan(DAY, stage="sales")
    assert caught.value.message == "stage 'sales' is not one of pull_in, retention, conversion"
    assert caught.value.hint.startswith("use one of: pull_in (引流, Pull in)")
    with pytest.raises(privdom.PrivdomError) as missing:
        privdom.Workspace(tmp_path / "nowhere").plan(DAY)
    assert "privdom init" in missing.value.hint


def test_members_tiers_segments_and_member(teatalk: Path) -> None:
    ws = privdom.Workspace(teatalk)
    decline = list(ws.members(DAY, segment="衰退期", limit=5))
    assert decline and all(isinstance(m, privdom.Member) and m.lifecycle == "decline" for m in decline)
    assert [m.member_id for m in ws.members(DAY, segment="Decline", limit=5)] == [m.member_id for m in decline]
    gold = list(ws.members(DAY, tier="金卡会员"))
    assert gold and {m.tier for m in gold} == {"gold"}
    assert all(m.phone is None or "****" in m.phone for m in gold)
    tiers = ws.tiers(DAY)
    assert sum(c.members for c in tiers.classes) == tiers.members
    rfm = ws.segments(DAY, model="rfm")
    important = list(ws.members(DAY, rfm_class="重要价值"))
    assert len(important) == next(c.members for c in rfm.classes if c.id == "important_value")
    profile = ws.member(decline[0].member_id, DAY)
    assert profile.metrics["member_id"] == decline[0].member_id


def test_schedule_to_ics_is_the_commands_calendar(teatalk: Path) -> None:
    ws = privdom.Workspace(teatalk)
    week = ws.schedule(DAY, 7, group_type="福利群")
    assert week.posts and {p.group_type for p in week.posts} == {"welfare"}
    products = ws.schedule(DAY, 7, content_type="产品营销")
    assert products.posts and {p.content_type for p in products.posts} == {"product"}
    printed = run("--db", str(teatalk / "privdom.db"), "--sops", str(teatalk / "sops"), "schedule",
                  "--from", DAY.isoformat(), "--type", "welfare", "--format", "ics")  # fmt: skip
    assert printed.exit_code == 0
    assert week.to_ics().decode().replace("\r\n", "\n") == printed.stdout.replace("\r\n", "\n")


def test_done_through_the_library(teatalk: Path) -> None:
    ws = privdom.Workspace(teatalk)
    plan = ws.plan(DAY, save=True)
    first = plan.tasks[0].id
    assert ws.done([first[:8]], note="ok") == [first]
    (saved,) = [t for t in ws.tasks(DAY) if t.task_id == first]
    assert saved.status == "done" and saved.note == "ok" and saved.target == plan.tasks[0].target


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_the_api_docs_examples_run(teatalk: Path, tmp_path: Path) -> None:
    """docs/api.md: every Python block runs, in order, from the folder that holds the workspace;
    the first is only the constructor, the spreadsheet example writes a week of posts."""
    blocks = code_blocks((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert len(blocks) == 3
    (tmp_path / "data").mkdir()  # the first block names db= and sops= elsewhere; nothing is opened
    posts = len(privdom.Workspace(teatalk).schedule(DAY, 7).posts)  # before the blocks save a plan
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), {"__name__": "__docs__"})  # noqa: S102
    book = load_workbook(tmp_path / "schedule.xlsx")
    rows = list(book["posts"].iter_rows(values_only=True))
    assert rows[0][0] == "date" and len(rows) - 1 == posts
    assert {r[0] for r in rows[1:]} == {(DAY.fromordinal(DAY.toordinal() + n)).isoformat() for n in range(7)}
    tasks_csv = (tmp_path / "tasks.csv").read_text(encoding="utf-8-sig").splitlines()
    assert tasks_csv[0] == "owner,time,action,target,message,id" and len(tasks_csv) > 1
    with sqlite3.connect(teatalk / "privdom.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM tasks WHERE status = 'done' AND note = 'sent'").fetchone() == (1,)
    assert os.getcwd() == str(tmp_path)
