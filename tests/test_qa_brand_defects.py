"""Defects a first brand's exports showed: export totals without a last order time, amounts that
cannot be read, mornings saved without a task, line breaks in names, the 80/20 line of a few members."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
