# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""A file imported into an empty table goes straight in; into a table with rows it is staged and
merged. Both paths must store the same thing and report the same counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from import_helpers import BRAND_ORDERS, phone_id, rows, write
from privdom.store import bulk_insert

MEMBERS = [
    "会员卡号,客户名称,城市,最后消费时间,注册时间,标签,手机号,备注",
    "A1,旧名,北京,2024-01-01,2023-05-01,老客,13800000001,",
    "A1,新名,,2024-06-01,2023-07-01,新客,,留言",
    "B2,甲,,,2024-01-01,,,",
    "B2,甲,,,2024-01-01,,,",
    "C3, 丙 ,上海,,2024-02-01,,,",
    "C3,丙,上海,,2024-02-01,,,",
    ",无号,,,,,13800000002,",
]
ORDERS = [
    BRAND_ORDERS,
    "O1,A1,,2024-03-05 14:22:00,88.50,已完成,南山店,小程序,绿茶",
    "O2,,13800000002,2024-03-06 10:00:00,12,已完成,,,",
    "O1,A1,,2024-03-05 14:22:00,88.50,已退款,南山店,小程序,",
    "O3,,13900000009,2024-03-07 09:00,30,已完成,,,",
    "O3,,13900000009,2024-03-07 09:00,30,已完成,,,",
    "O4,Z9,,2024-03-01 09:00,1,交易成功,,,",
    "O5,Y1,,2024-03-02 09:00,5,已完成,,,",
    "O5,Y2,,2024-03-02 09:00,5,已完成,,,",  # the later record wins: member Y1 keeps no order
]
COUNTS = ("read", "inserted", "updated", "unchanged", "merged", "duplicates", "rejected", "members_created")


def _import(cli: Callable[..., Any], workspace: Path, kind: str, lines: list[str], seed: bool) -> dict[str, Any]:
    if seed:  # one unrelated row first, so the file is merged into a table that has rows
        if kind == "members":
            write(workspace / "seed.csv", ["会员卡号,客户名称", "S0,种子"])
        else:
            write(workspace / "seed.csv", [BRAND_ORDERS, "S0,S0,,2024-01-01 00:00:00,1,已完成,,,"])
        assert cli("import", kind, str(workspace / "seed.csv")).exit_code == 0
    write(workspace / f"{kind}.csv", lines)
    res = cli("import", kind, str(workspace / f"{kind}.csv"), "--format", "json")
    assert res.exit_code == 0, res.stderr
    return dict(res.json())


@pytest.mark.parametrize("seed", [False, True], ids=["empty-table", "table-with-rows"])
def test_members_paths_agree(cli: Callable[..., Any], workspace: Path, seed: bool) -> None:
    report = _import(cli, workspace, "members", MEMBERS, seed)
    assert {k: report[k] for k in COUNTS} == {
        "read": 7, "inserted": 3, "updated": 0, "unchanged": 0, "merged": 1, "duplicates": 2,
        "rejected": 1, "members_created": 0,
    }
    # A blank member id matches no stored member by its phone: rejected, never keyed by the phone.
    assert report["rejected_by_reason"] == {"missing_id": 1}
    stored = rows(workspace / "privdom.db", "SELECT member_id, name, region, phone, tags, extra, joined_at, last_order_at, source FROM members WHERE member_id <> 'S0' ORDER BY 1")
    assert stored == [
        {"member_id": "A1", "name": "新名", "region": "北京", "phone": "13800000001", "tags": '["新客", "老客"]',
         "extra": '{"备注": "留言"}', "joined_at": "2023-05-01 00:00:00", "last_order_at": "2024-06-01 00:00:00",
         "source": "members"},
        {"member_id": "B2", "name": "甲", "region": None, "phone": None, "tags": None, "extra": None,
         "joined_at": "2024-01-01 00:00:00", "last_order_at": None, "source": "members"},
        {"member_id": "C3", "name": "丙", "region": "上海", "phone": None, "tags": None, "extra": None,
         "joined_at": "2024-02-01 00:00:00", "last_order_at": None, "source": "members"},
    ]
    indexes = rows(workspace / "privdom.db", "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' AND sql IS NOT NULL ORDER BY 1")
    assert [r["name"] for r in indexes] == [
        "members_external", "members_joined", "members_key", "members_last_order", "members_phone"]
    triggers = rows(workspace / "privdom.db", "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'members' ORDER BY 1")
    assert [r["name"] for r in triggers] == ["members_changes_delete", "members_changes_insert", "members_changes_update"]


@pytest.mark.parametrize("seed", [False, True], ids=["empty-table", "table-with-rows"])
def test_orders_paths_agree(cli: Callable[..., Any], workspace: Path, seed: bool) -> None:
    write(workspace / "m.csv", ["会员卡号,手机号,客户名称", "A1,13800000001,张三", "A2,13800000002,李四"])
    assert cli("import", "members", str(workspace / "m.csv")).exit_code == 0
    report = _import(cli, workspace, "orders", ORDERS, seed)
    assert {k: report[k] for k in COUNTS} == {
        "read": 8, "inserted": 5, "updated": 0, "unchanged": 0, "merged": 2, "duplicates": 1,
        "rejected": 0, "members_created": 3,
    }
    db = workspace / "privdom.db"
    p9 = phone_id(db, "13900000009")
    assert rows(db, "SELECT order_id, member_id, amount_fen, status, counted, extra FROM orders WHERE order_id <> 'S0' ORDER BY 1") == [
        {"order_id": "O1", "member_id": "A1", "amount_fen": 8850, "status": "已退款", "counted": 0,
         "extra": '{"商品": "绿茶"}'},
        {"order_id": "O2", "member_id": "A2", "amount_fen": 1200, "status": "已完成", "counted": 1, "extra": None},
        {"order_id": "O3", "member_id": p9, "amount_fen": 3000, "status": "已完成", "counted": 1,
         "extra": None},
        {"order_id": "O4", "member_id": "Z9", "amount_fen": 100, "status": "交易成功", "counted": 1, "extra": None},
        {"order_id": "O5", "member_id": "Y2", "amount_fen": 500, "status": "已完成", "counted": 1, "extra": None},
    ]
    created = rows(db, "SELECT member_id, phone, joined_at, source FROM members WHERE source = 'orders' AND member_id <> 'S0' ORDER BY phone IS NULL, 1")
    assert created == [
        {"member_id": p9, "phone": "13900000009", "joined_at": "2024-03-07 09:00:00", "source": "orders"},
        {"member_id": "Y2", "phone": None, "joined_at": "2024-03-02 09:00:00", "source": "orders"},
        {"member_id": "Z9", "phone": None, "joined_at": "2024-03-01 09:00:00", "source": "orders"},
    ]
    indexes = rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND sql IS NOT NULL")
    assert [r["name"] for r in indexes] == ["orders_key", "orders_member", "orders_paid"]
    triggers = rows(workspace / "privdom.db", "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders' ORDER BY 1")
    assert [r["name"] for r in triggers] == ["orders_changes_delete", "orders_changes_insert", "orders_changes_update"]


@pytest.mark.parametrize("per_statement", [7, 500])
def test_many_rows_with_repeats_agree(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_statement: int
) -> None:
    """Hundreds of records, some repeating an identity many rows later: the insert-only path
    (which inserts many rows per statement) stores what the staged path stores."""
    monkeypatch.setattr(bulk_insert, "ROWS_PER_INSERT", per_statement)
    lines = ["会员卡号,客户名称,最后消费时间,积分"]
    for i in range(450):
        lines.append(f"M{i:04d},名{i},2024-01-{i % 28 + 1:02d},{i}")
        if i % 7 == 3:  # a later record of an earlier member: merged
            lines.append(f"M{i // 2:04d},改{i},2024-02-01,")
        if i % 11 == 5:  # an exact repeat: a duplicate
            lines.append(lines[-1])
    results = []
    for seed in (False, True):
        root = tmp_path / ("seeded" if seed else "empty")
        assert cli("init", str(root)).exit_code == 0
        where = ("--db", str(root / "privdom.db"), "--sops", str(root / "sops"))
        if seed:
            write(root / "seed.csv", ["会员卡号,客户名称", "S0,种子"])
            assert cli(*where, "import", "members", str(root / "seed.csv")).exit_code == 0
        res = cli(*where, "import", "members", str(write(root / "m.csv", lines)), "--format", "json")
        assert res.exit_code == 0, res.stderr
        report = res.json()
        stored = rows(root / "privdom.db", "SELECT member_id, name, last_order_at, points FROM members WHERE member_id <> 'S0' ORDER BY 1")
        results.append(({k: report[k] for k in COUNTS}, stored))
    assert results[0] == results[1]
    counts, stored = results[0]
    assert (counts["inserted"], counts["merged"], counts["duplicates"]) == (450, 64, 41)
    assert len(stored) == 450


@pytest.mark.parametrize("seed", [False, True], ids=["empty-table", "table-with-rows"])
@pytest.mark.parametrize(("kind", "lines"), [("members", MEMBERS), ("orders", ORDERS)])
def test_dry_run_on_either_path_reports_the_counts_and_changes_no_byte(
    cli: Callable[..., Any], workspace: Path, seed: bool, kind: str, lines: list[str]
) -> None:
    if seed:
        _import(cli, workspace, kind, [lines[0]], seed=True)
    db = workspace / "privdom.db"
    before = db.read_bytes()
    write(workspace / "dry.csv", lines)
    res = cli("import", kind, str(workspace / "dry.csv"), "--dry-run", "--format", "json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["dry_run"] is True and report["import_id"] is None
    assert report["read"] == len(lines) - 1 and report["inserted"] > 0
    assert db.read_bytes() == before  # indexes the insert-only path drops are back, too
