from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from import_helpers import BRAND_ORDERS, member, phone_id, rows, write


def test_orders_find_members_and_create_minimal_ones(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    write(workspace / "m.csv", ["会员卡号,手机号,客户名称", "000123,13800000001,张三"])
    cli("import", "members", str(workspace / "m.csv"))
    path = write(
        workspace / "orders.csv",
        [
            BRAND_ORDERS,
            "O1,000123,,2024-03-05 14:22:00,¥88.50,已完成,南山店,小程序,绿茶",
            "O2,,13800000001,2024/3/6 10:00,12,已退款,南山店,门店,",
            "O3,,13900000009,2024-03-07 09:00,30,已完成,,,",
            "O4,,13900000009,2024-03-01 09:00,1,交易成功,,,",
            "O5,000555,,2024-02-01 08:00,5,,,,",
            ",000123,,2024-03-05,1,,,,",
            "O6,,138****0001,2024-03-05,1,,,,",
            "O7,,,2024-03-05,1,,,,",
            "O1,000123,,2024-03-05 14:22:00,¥88.50,已完成,南山店,小程序,绿茶",
        ],
        encoding="utf-8-sig",
    )
    report = cli("import", "orders", str(path), "--format", "json").json()
    assert report["encoding"] == "utf-8-sig"
    assert (report["inserted"], report["duplicates"], report["members_created"]) == (5, 1, 2)
    assert report["rejected_by_reason"] == {"masked_phone": 1, "missing_member": 1, "missing_order_id": 1}
    orders = {r["order_id"]: r for r in rows(db, "SELECT * FROM orders")}
    assert orders["O1"]["member_id"] == "000123" and orders["O1"]["amount_fen"] == 8850
    assert json.loads(orders["O1"]["extra"]) == {"商品": "绿茶"}
    assert (orders["O2"]["member_id"], orders["O2"]["counted"], orders["O2"]["paid_at"]) == (
        "000123",
        0,
        "2024-03-06 10:00:00",
    )
    assert orders["O3"]["member_id"] == phone_id(db, "13900000009") and orders["O3"]["counted"] == 1
    minimal = member(db, phone_id(db, "13900000009"))
    assert (minimal["source"], minimal["phone"], minimal["joined_at"]) == (
        "orders",
        "13900000009",
        "2024-03-01 09:00:00",
    )
    assert member(db, "000555")["joined_at"] == "2024-02-01 08:00:00"

    # A later members file fills in the minimal member and makes it a real one.
    write(workspace / "m2.csv", ["会员卡号,手机号,客户名称", "000777,13900000009,新会员"])
    cli("import", "members", str(workspace / "m2.csv"))
    adopted = member(db, "000777")
    assert (adopted["name"], adopted["source"], adopted["joined_at"]) == (
        "新会员",
        "members",
        "2024-03-01 09:00:00",
    )
    assert {
        r["member_id"] for r in rows(db, "SELECT member_id FROM orders WHERE order_id IN ('O3', 'O4')")
    } == {"000777"}


def test_order_status_update_keeps_amount(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "a.csv", ["订单号,会员卡号,支付时间,实付金额,订单状态", "O1,M1,2024-03-05,100,已完成"])
    write(workspace / "b.csv", ["订单号,会员卡号,实付金额,订单状态", "O1,M1,,已退款", "O1,M1,,已退款"])
    cli("import", "orders", str(workspace / "a.csv"))
    report = cli("import", "orders", str(workspace / "b.csv"), "--allow-missing", "paid_at", "--format", "json").json()
    assert (report["updated"], report["duplicates"]) == (1, 1)
    assert (report["refunds_updated"], report["status_updated"]) == (1, 1)
    assert rows(workspace / "privdom.db", "SELECT amount_fen, counted, paid_at FROM orders") == [
        {"amount_fen": 10000, "counted": 0, "paid_at": "2024-03-05 00:00:00"}
    ]


def test_groups_members_activity(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    write(workspace / "m.csv", ["外部联系人ID,客户名称", "wmZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ,张"])
    cli("import", "members", str(workspace / "m.csv"))
    write(
        workspace / "groups.csv",
        [
            "群ID,群名称,群类型,群主,群人数,群上限,创建时间,城市,标签",
            'G001,南山福利1群,福利群,小王,"1,098",200,2024-01-01,深圳,新品、秒杀',
            "G002,茶友会,兴趣群,小李,45,500,2024-02-01,,",
            "G003,售后,客服群,小李,约50,,,,",
        ],
    )
    report = cli("import", "groups", str(workspace / "groups.csv"), "--format", "json").json()
    assert report["inserted"] == 3 and report["nulled_by_column"] == {"群类型": 1, "群人数": 1}
    assert rows(db, "SELECT group_id, type, size, capacity, tags FROM groups ORDER BY 1")[0] == {
        "group_id": "G001",
        "type": "welfare",
        "size": 1098,
        "capacity": 200,
        "tags": '["新品", "秒杀"]',
    }
    write(
        workspace / "gm.csv",
        [
            "群ID,会员卡号,入群时间,退群时间",
            "G001,000123,2024-01-02 10:00,",
            "G002,wmZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ,2024-02-02,2024-03-01",
            ",x,,",
        ],
    )
    report = cli("import", "group-members", str(workspace / "gm.csv"), "--format", "json").json()
    assert (report["inserted"], report["rejected_by_reason"]) == (2, {"missing_id": 1})
    assert rows(db, "SELECT group_id, member_id, left_at FROM group_members ORDER BY 1") == [
        {"group_id": "G001", "member_id": "000123", "left_at": None},
        {"group_id": "G002", "member_id": "wmZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "left_at": "2024-03-01 00:00:00"},
    ]
    write(
        workspace / "act.csv",
        [
            "日期,群ID,会员卡号,发言数,图片数",
            "2024-03-01,G001,000123,12,3",
            "2024/3/2,G001,000123,1,",
            "昨天,G001,000123,1,1",
        ],
    )
    report = cli("import", "activity", str(workspace / "act.csv"), "--format", "json").json()
    assert (report["inserted"], report["rejected_by_reason"]) == (2, {"invalid_date": 1})
    assert rows(db, "SELECT date, messages, images FROM activity ORDER BY 1") == [
        {"date": "2024-03-01", "messages": 12, "images": 3},
        {"date": "2024-03-02", "messages": 1, "images": 0},
    ]
