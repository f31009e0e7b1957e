"""Defects a first brand's exports showed: export totals without a last order time, amounts that
cannot be read, mornings saved without a task, line breaks in names, the 80/20 line of a few members."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_totals_without_a_last_order_time_take_the_later_orders_on_top(cli: Cli, workspace: Path) -> None:
    # The export (5 orders, 500.00, no 最后消费时间) is imported today: an order paid before today is
    # in its totals, one paid after comes on top of them.
    later = date.today() + timedelta(days=30)
    _write(workspace / "m.csv", "会员卡号,手机,累计消费金额,累计消费次数\nM1,13800000001,500.00,5\n")
    _write(
        workspace / "o.csv",
        "订单号,会员卡号,付款时间,实付金额\n"
        "O1,M1,2020-11-20 10:00:00,100.00\n"
        f"O2,M1,{later} 10:00:00,40.00\n",
    )
    assert cli("import", "members", "m.csv").exit_code == 0
    assert cli("import", "orders", "o.csv").exit_code == 0
    res = cli("members", "--date", str(later + timedelta(days=1)), "--format", "json")
    assert res.exit_code == 0, res.stderr
    data = res.json()
    rows = data if isinstance(data, list) else data["members"]
    (m1,) = [r for r in rows if r["member_id"] == "M1"]
    assert (m1["orders_total"], str(m1["spend_total"]), m1["last_order_date"]) == (6, "540.00", str(later))
    conn = sqlite3.connect(workspace / "privdom.db")
    assert conn.execute("SELECT totals_as_of IS NOT NULL FROM members WHERE member_id = 'M1'").fetchone()[0] == 1


def test_a_morning_saved_without_tasks_is_not_missed(cli: Cli, workspace: Path) -> None:
    # 11-02 saves A1's day-3 task; 11-03 is saved with no task; B1 (joined 10-31, day-3 task due
    # 11-03) arrives after that save: on 11-04 the task is late data, not a missed morning.
    _write(workspace / "a.csv", "会员卡号,手机,姓名,注册时间\nA1,13800000001,张三,2026-10-30 10:00:00\n")
    _write(workspace / "b.csv", "会员卡号,手机,姓名,注册时间\nB1,13800000002,李四,2026-10-31 10:00:00\n")
    assert cli("import", "members", "a.csv").exit_code == 0
    assert cli("plan", "--date", "2026-11-02", "--save").exit_code == 0
    assert cli("plan", "--date", "2026-11-03", "--save").exit_code == 0
    conn = sqlite3.connect(workspace / "privdom.db")
    assert conn.execute("SELECT COUNT(*) FROM tasks WHERE date = '2026-11-03'").fetchone()[0] == 0
    assert [r[0] for r in conn.execute("SELECT date FROM saved_mornings ORDER BY date")] == [
        "2026-11-02", "2026-11-03"]
    assert cli("import", "members", "b.csv").exit_code == 0
    res = cli("plan", "--date", "2026-11-04", "-f", "json")
    assert res.exit_code == 0, res.stderr
    (b1,) = [t for t in res.json()["tasks"] if t["member_id"] == "B1"]
    assert "数据晚到（事件 2026-10-31）" in b1["reason"] and "补发" not in b1["reason"]


def _import(cli: Cli, kind: str, path: str) -> dict[str, Any]:
    res = cli("import", kind, path, "-f", "json")
    assert res.exit_code == 0, res.stderr
    report: dict[str, Any] = res.json()
    return report


def test_an_amount_that_cannot_be_read_or_is_negative_is_no_order(cli: Cli, workspace: Path) -> None:
    _write(workspace / "m.csv",
           "会员卡号,手机,累计消费金额,累计消费次数\nM1,13800000001,-500.00,5\nM2,13800000002,100,1\n")
    orders = ("订单号,会员卡号,付款时间,实付金额\nO1,M1,2026-11-20 10:00:00,#N/A\n"
              "O2,M1,2026-11-20 10:00:00,99999999999999999999\nO3,M1,2026-11-20 10:00:00,-50.00\n"
              "O4,M1,2026-11-21 10:00:00,10.00\n")
    _write(workspace / "o.csv", orders)  # into an empty table
    _write(workspace / "o2.csv", orders.replace("O", "P").replace("P4,M1", "P4,M2"))  # merged into stored rows
    members = _import(cli, "members", "m.csv")
    assert members["nulled_by_column"] == {"累计消费金额": 1} and members["rejected"] == 0
    for name in ("o.csv", "o2.csv"):
        report = _import(cli, "orders", name)
        assert report["rejected_by_reason"] == {"invalid_amount": 2, "negative_amount": 1}
        assert report["rejected"] == 3 and report["inserted"] == 1
    conn = sqlite3.connect(workspace / "privdom.db")
    assert conn.execute("SELECT order_id, amount_fen FROM orders ORDER BY 1").fetchall() == [("O4", 1000), ("P4", 1000)]
    assert conn.execute("SELECT total_spent_fen FROM members WHERE member_id = 'M1'").fetchone()[0] is None


def test_a_line_break_in_a_name_never_reaches_the_message(cli: Cli, workspace: Path) -> None:
    _write(workspace / "a.csv",
           '会员卡号,手机,姓名,注册时间\nA1,13800000001,"李|四\n- [ ] 伪造\u202e\t",2026-10-30 10:00:00\n')
    assert cli("import", "members", "a.csv").exit_code == 0
    res = cli("plan", "--date", "2026-11-02", "-f", "json")
    assert res.exit_code == 0, res.stderr
    (task,) = [t for t in res.json()["tasks"] if t["member_id"] == "A1"]
    assert "李|四 - [ ] 伪造" in task["message"]
    assert not any(c in task["message"] for c in "\n\t\u202e")


def test_the_80_20_line_of_two_members_names_one(cli: Cli, workspace: Path) -> None:
    _write(workspace / "m.csv", "会员卡号,手机,注册时间\nM1,13800000001,2026-01-01\nM2,13800000002,2026-01-01\n")
    _write(workspace / "o.csv", "订单号,会员卡号,付款时间,实付金额\nO1,M1,2026-11-20 10:00:00,300.00\n"
                                "O2,M2,2026-11-20 11:00:00,100.00\n")
    assert cli("import", "members", "m.csv").exit_code == 0
    assert cli("import", "orders", "o.csv").exit_code == 0
    res = cli("tiers", "--date", "2026-11-23", "-f", "json")
    assert res.exit_code == 0, res.stderr
    data = res.json()
    assert (data["top20_members"], data["top20_spend_share"]) == (1, 0.75)
    text = cli("tiers", "--date", "2026-11-23").stdout
    assert "top 20% of members (1) bring 75.0%" in text


def test_members_without_an_owner_are_the_default_owners_in_report_and_member_view(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init", "b", "--owner", "老板").exit_code == 0
    monkeypatch.chdir(tmp_path / "b")
    _write(tmp_path / "b" / "o.csv", "订单号,手机,付款时间,实付金额\nO1,13800000001,2026-11-20 10:00:00,30.00\n"
                                     "O2,13800000002,2026-11-21 10:00:00,30.00\n")
    assert cli("import", "orders", "o.csv").exit_code == 0
    res = cli("report", "--date", "2026-11-23", "-f", "json")
    assert res.exit_code == 0, res.stderr
    owners = {o["owner"]: o for o in res.json()["owners"]}
    assert set(owners) == {"老板"}
    assert (owners["老板"]["members"], owners["老板"]["unassigned_members"]) == (2, 2)
    (member_id,) = [r[0] for r in sqlite3.connect(tmp_path / "b" / "privdom.db").execute(
        "SELECT member_id FROM members LIMIT 1")]
    res = cli("member", member_id, "--date", "2026-11-23", "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["member"]["owner"] == "老板"
