"""Unit tests of the pure parts of the planner: quiet hours, limits order, task ids, windows."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from privdom import store
from privdom.planner import build_plan, task_id
from privdom.planner.limits import quiet_hours_move
from privdom.planner.triggers import birthday_days, window
from privdom.playbook.models import Playbook, QuietHours
from test_plan import PLAYBOOK, Cli

SH = ZoneInfo("Asia/Shanghai")


def at(hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return datetime(2026, 11, 25, int(h), int(m), tzinfo=SH)


def test_quiet_hours_move_or_defer() -> None:
    night = QuietHours(start="22:00", end="08:00")
    assert quiet_hours_move(at("07:00"), night) == at("08:00")
    assert quiet_hours_move(at("23:00"), night) is None  # the end is tomorrow: deferred
    assert quiet_hours_move(at("12:00"), night) == at("12:00")
    assert quiet_hours_move(at("08:00"), night) == at("08:00")
    lunch = QuietHours(start="12:00", end="14:00")
    assert quiet_hours_move(at("12:30"), lunch) == at("14:00")
    assert quiet_hours_move(at("14:00"), lunch) == at("14:00")


@given(st.integers(0, 23), st.integers(0, 59))
def test_quiet_hours_never_moves_backwards(h: int, m: int) -> None:
    due = datetime(2026, 11, 25, h, m, tzinfo=SH)
    moved = quiet_hours_move(due, QuietHours(start="21:30", end="07:45"))
    assert moved is None or (moved >= due and moved.date() == due.date())


def test_task_ids_are_stable_and_distinct() -> None:
    assert task_id("r", "m1", "2026-11-25") == task_id("r", "m1", "2026-11-25")
    assert (
        len(
            {
                task_id("r", "m1", "2026-11-25"),
                task_id("r", "m2", "2026-11-25"),
                task_id("r", "m1", "2026-11-24"),
                task_id("s", "m1", "2026-11-25"),
            }
        )
        == 4
    )
    assert len(task_id("r", "m1", "2026-11-25")) == 12


def test_windows() -> None:
    assert window(date(2026, 11, 25), 7, 2) == store.plan_queries.Window("2026-11-16", "2026-11-18")
    assert birthday_days(date(2027, 2, 28), 0, 0) == [("02-28", "2027-02-28"), ("02-29", "2027-02-28")]
    assert birthday_days(date(2028, 2, 28), 0, 0) == [("02-28", "2028-02-28")]


def test_quiet_hours_clash_in_a_plan(cli: Cli, workspace: Path) -> None:
    """`sop validate` refuses such a rule, so this builds the playbook in code: the planner must
    still be safe when a catch-up or an edited rule lands inside quiet hours."""
    import yaml

    data = yaml.safe_load(
        PLAYBOOK.replace("{cap}", "5").replace("{capacity}", "100").replace("{catch_up}", "0")
    )
    rules = data["stages"]["pull_in"]
    early = dict(rules[0], id="early", when={"trigger": "joined", "offset": 3, "at": "07:00"})
    late = dict(rules[0], id="late", when={"trigger": "joined", "offset": 3, "at": "23:00"})
    data["stages"] = {"pull_in": [early, late]}
    playbook = Playbook.model_validate(data)
    conn = store.connect(workspace / "privdom.db")
    conn.execute(
        "INSERT INTO members (member_id, name, owner, joined_at) VALUES ('m', '甲', '小茶', '2026-11-22')"
    )
    plan = build_plan(conn, playbook, date(2026, 11, 25))
    assert [(t.rule, t.due_at) for t in plan.tasks] == [("early", "2026-11-25T08:00:00+08:00")]
    assert [(t.rule, t.cause, t.due_at) for t in plan.deferred] == [
        ("late", "quiet_hours", "2026-11-25T23:00:00+08:00")
    ]
    conn.close()


def test_no_members_no_groups(cli: Cli, workspace: Path) -> None:
    res = cli("plan", "--date", "2026-11-25", "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["tasks"] == []


def test_member_rows_are_fetched_in_chunks(workspace: Path) -> None:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE member_metrics (member_id TEXT)")
    conn.executemany("INSERT INTO member_metrics VALUES (?)", [(str(i),) for i in range(1200)])
    assert len(store.plan_queries.member_rows(conn, [str(i) for i in range(1200)])) == 1200
