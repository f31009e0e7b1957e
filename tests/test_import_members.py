# ruff: noqa: E501 - rows of CSV exports read best on one line each
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from import_helpers import BRAND_MEMBERS, member, rows, write


def brand_members(path: Path) -> Path:
    return write(
        path,
        [
            BRAND_MEMBERS,
            '000123,张三,小张,138****1234,男,05-12,2024/3/5 14:22,门店,李导购,南山店,深圳,"VIP,茶友",200,普通会员,3000,"¥1,234.50",5,2024年3月5日,好客户',
            "000124,李四,,13812345678,女,19900512,45356,小程序,王导购,福田店,深圳,宝妈、茶友,100,银卡,3100,1234.5元,3,########,",
            "000124,李四,,13812345678,女,19900512,45356,小程序,王导购,福田店,深圳,宝妈、茶友,100,银卡,3100,1234.5元,3,########,",
            ",,,,,,,,,,,,,,,,,,",
            BRAND_MEMBERS,
            "000125,王五,,1.38123E+10,,,,,,,,,,,,,,,",
            ",无名,,138****9999,,,,,,,,,,,,,,,",
            "000126,赵六,,0000-00-00,?,13-40,0000-00-00,,,,,,abc,,,,,,",
        ],
        encoding="gb18030",
    )


def test_brand_members_gb18030(cli: Callable[..., Any], workspace: Path) -> None:
    res = cli("import", "members", str(brand_members(workspace / "members.csv")), "--format", "json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert {k: report[k] for k in ("encoding", "read", "inserted", "updated", "unchanged", "merged")} == {
        "encoding": "gb18030",
        "read": 8,
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "merged": 0,
    }
    assert (report["duplicates"], report["blank"], report["repeated_headers"]) == (1, 1, 1)
    assert report["rejected"] == 1 and report["rejected_by_reason"] == {"masked_phone": 1}
    assert report["nulled_by_column"] == {
        "性别": 1,
        "手机号": 1,  # 0000-00-00
        "手机号 (scientific notation: digits lost / 科学计数法，号码已丢失)": 1,  # 1.38123E+10
        "最后消费时间": 2,  # the skipped duplicate counts too
        "注册时间": 1,
        "生日": 1,
        "积分": 1,
    }
    assert report["extra_columns"] == ["备注"]
    first = member(workspace / "privdom.db", "000123")
    assert first["phone"] is None and first["phone_display"] == "138****1234"
    assert (first["birthday"], first["birthday_md"]) == (None, "05-12")
    assert first["joined_at"] == "2024-03-05 14:22:00" and first["last_order_at"] == "2024-03-05 00:00:00"
    assert (first["total_spent_fen"], first["order_count"], first["points"], first["growth"]) == (
        123450,
        5,
        200,
        3000,
    )
    assert first["tags"] == ["VIP", "茶友"] and first["extra"] == {"备注": "好客户"}
    second = member(workspace / "privdom.db", "000124")
    assert (second["phone"], second["birthday"], second["joined_at"]) == (
        "13812345678",
        "1990-05-12",
        "2024-03-05 00:00:00",
    )
    assert second["total_spent_fen"] == 123450 and second["last_order_at"] is None
    assert member(workspace / "privdom.db", "000125")["phone"] is None
    odd = member(workspace / "privdom.db", "000126")
    assert (odd["phone"], odd["joined_at"], odd["birthday"], odd["points"]) == (None, None, None, None)
    imports = rows(workspace / "privdom.db", "SELECT kind, encoding, status FROM imports")
    assert imports == [{"kind": "members", "encoding": "gb18030", "status": "ok"}]
    assert rows(workspace / "privdom.db", "SELECT record, line, reason FROM rejects") == [
        {"record": 7, "line": 8, "reason": "masked_phone"}
    ]


def test_reimport_same_file_writes_nothing(cli: Callable[..., Any], workspace: Path) -> None:
    path = brand_members(workspace / "members.csv")
    assert cli("import", "members", str(path)).exit_code == 0
    before = (workspace / "privdom.db").read_bytes()
    res = cli("import", "members", str(path), "--format", "json")
    assert res.exit_code == 0
    assert res.json()["already_imported"] is True and res.json()["inserted"] == 0
    assert len(rows(workspace / "privdom.db", "SELECT * FROM imports")) == 1
    res = cli("import", "members", str(path))
    assert "already imported" in res.stderr
    assert before == (workspace / "privdom.db").read_bytes()


def test_later_import_updates_but_never_blanks(cli: Callable[..., Any], workspace: Path) -> None:
    cli("import", "members", str(brand_members(workspace / "a.csv")))
    write(
        workspace / "b.csv",
        [
            "会员卡号,客户名称,手机号,城市,标签,积分,备注,生日",
            "000123,,13900001111,广州,新客,,改过了,",
            "000124,,,,,,,",
            "000999,新人,,,,,,",
        ],
    )
    report = cli("import", "members", str(workspace / "b.csv"), "--format", "json").json()
    assert (report["inserted"], report["updated"], report["unchanged"]) == (1, 1, 1)
    first = member(workspace / "privdom.db", "000123")
    assert first["name"] == "张三" and first["region"] == "广州" and first["phone"] == "13900001111"
    assert first["points"] == 200 and first["birthday_md"] == "05-12"
    assert first["tags"] == ["VIP", "茶友", "新客"]
    assert first["extra"] == {"备注": "改过了"}


def test_dry_run_leaves_database_byte_for_byte(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    cli("import", "members", str(brand_members(workspace / "a.csv")))
    write(workspace / "b.csv", [BRAND_MEMBERS.split(",", 1)[0] + ",客户名称", "000123,改名", "000777,新人"])
    before = db.read_bytes()
    res = cli("import", "members", str(workspace / "b.csv"), "--dry-run", "--format", "json")
    assert res.exit_code == 0
    assert (res.json()["dry_run"], res.json()["inserted"], res.json()["updated"]) == (True, 1, 1)
    assert db.read_bytes() == before
    assert rows(db, "SELECT name FROM members WHERE member_id = '000123'") == [{"name": "张三"}]
    assert rows(db, "SELECT count(*) AS n FROM imports") == [{"n": 1}]


def test_in_file_merge_latest_activity_wins(cli: Callable[..., Any], workspace: Path) -> None:
    write(
        workspace / "m.csv",
        [
            "会员卡号,客户名称,城市,最后消费时间,注册时间,标签,备注",
            "A1,旧名,北京,2024-01-01,2023-05-01,老客,",
            "A1,新名,,2024-06-01,2023-07-01,新客,留言",
            "A1,更旧,上海,2023-01-01,2022-01-01,,",
            "B2,甲,,,2024-01-01,,",
            "B2,乙,,,2024-01-01,,",
        ],
    )
    report = cli("import", "members", str(workspace / "m.csv"), "--format", "json").json()
    assert (report["inserted"], report["merged"]) == (2, 3)
    a1 = member(workspace / "privdom.db", "A1")
    assert (a1["name"], a1["region"], a1["last_order_at"], a1["joined_at"]) == (
        "新名",
        "北京",
        "2024-06-01 00:00:00",
        "2022-01-01 00:00:00",
    )
    assert a1["tags"] == ["新客", "老客"] and a1["extra"] == {"备注": "留言"}
    assert member(workspace / "privdom.db", "B2")["name"] == "乙"  # a tie goes to the later row


WECOM = [
    "客户名称,外部联系人ID,添加人,添加时间,标签组1(兴趣),标签组2（消费力）,客户手机号,描述",
    "张三,wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,小王,2024-01-05 10:00,绿茶,高,13800000001,常客",
    "张三,wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,小李,2024-02-01 09:00,红茶|绿茶,,13800000001,",
    "李四,wmBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB,小王,2024-03-01 11:00,,低,,",
]
YOUZAN = [
    "会员卡号,手机号,客户名称,会员等级,成长值,累计消费金额,累计消费次数,最后消费时间,微信号",
    "000001,13800000001,张三丰,金卡,6100,610.00,9,2024-05-01 12:00,zs_wx",
    "000002,13800000002,王五,普通,10,1,1,2024-04-01,",
]


def test_wecom_multi_staff_rows_make_one_member(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "wecom.csv", WECOM)
    report = cli(
        "import", "members", str(workspace / "wecom.csv"), "--source", "wecom", "--format", "json"
    ).json()
    assert (report["inserted"], report["merged"]) == (2, 1)
    assert report["columns"]["标签组1(兴趣)"] == "tags"
    a = member(workspace / "privdom.db", "wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert (a["external_userid"], a["owner"], a["joined_at"], a["phone"]) == (
        "wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "小李",
        "2024-01-05 10:00:00",
        "13800000001",
    )
    assert a["tags"] == ["红茶", "绿茶", "高"]
    assert a["extra"] == {"描述": "常客", "owners": ["小李", "小王"]}


def test_wecom_then_youzan_is_one_member_per_person(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "wecom.csv", WECOM)
    write(workspace / "youzan.csv", YOUZAN)
    cli("import", "members", str(workspace / "wecom.csv"), "--source", "wecom")
    report = cli(
        "import", "members", str(workspace / "youzan.csv"), "--source", "youzan", "--format", "json"
    ).json()
    assert (report["inserted"], report["updated"]) == (1, 1)
    db = workspace / "privdom.db"
    assert [r["member_id"] for r in rows(db, "SELECT member_id FROM members ORDER BY 1")] == [
        "000001",
        "000002",
        "wmBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    ]
    one = member(db, "000001")
    assert (one["external_userid"], one["name"], one["owner"], one["level"], one["total_spent_fen"]) == (
        "wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "张三丰",
        "小李",
        "金卡",
        61000,
    )
    assert one["tags"] == ["红茶", "绿茶", "高"]
    assert one["extra"] == {"描述": "常客", "owners": ["小李", "小王"], "微信号": "zs_wx"}


def test_youzan_then_wecom_is_one_member_per_person(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "wecom.csv", WECOM)
    write(workspace / "youzan.csv", YOUZAN)
    cli("import", "members", str(workspace / "youzan.csv"), "--source", "youzan")
    report = cli(
        "import", "members", str(workspace / "wecom.csv"), "--source", "wecom", "--format", "json"
    ).json()
    assert (report["inserted"], report["updated"], report["merged"]) == (1, 1, 1)
    db = workspace / "privdom.db"
    assert [r["member_id"] for r in rows(db, "SELECT member_id FROM members ORDER BY 1")] == [
        "000001",
        "000002",
        "wmBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    ]
    one = member(db, "000001")
    assert (one["external_userid"], one["name"], one["owner"]) == ("wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "张三", "小李")
    assert one["extra"] == {"微信号": "zs_wx", "描述": "常客", "owners": ["小李", "小王"]}
